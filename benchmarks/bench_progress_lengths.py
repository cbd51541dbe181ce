"""Histories whose runs differ in length: would converting the candidates' remaining
iteration counts help?

On the local PySpark histories (``scripts/local_history.sh``) the runs differ in their
number of iterations (an iteration cap among the job's parameters, convergence before
it). SMiPE takes a candidate's remaining runtime as it ran: in the middle of a run capped
at 12 iterations, candidates capped at 8 have two iterations left where the run has six,
and the estimate comes out a third of the truth (local kmeans, build K: 0.84 s estimated
where 2.40 s remained).

This measures the remedy that ``jobcast.progress.lengths`` builds, in isolation (the
parameters trained on the candidates as they ran, the conversion applied on top; `train
progress` instead trains both ways and keeps the better): each candidate's remaining runtime
times ``((N_hat - i) / (N_c - i)) ** kappa``, where ``i`` is the iterations finished,
``N_c`` the candidate's own count and ``N_hat`` the current run's expected count: the
mean of the candidates' counts weighted by their context similarity to the run
(``jobcast.progress.context``, with the relevance learned for the iteration count alone
on the other runs) to the power ``--sharpness``. ``--upto F`` converts only where the
expected fraction done ``i / N_hat`` is below ``F`` (late in a run the candidates that ran
that far already share its length, and a wrong ``N_hat`` costs most there). ``--hedge``
takes ``N_hat`` from the remaining count that minimises its expected relative error (the
candidates' remaining counts' median weighted by similarity / count) instead of the mean.
``--relative`` converts each candidate by the ratio of the run's expected count to the
expected count of the candidate's own context (computed alike), so candidates alike in
context keep their own counts: a run that converged before its cap stays one.

The parameters of each run's estimates are trained without it (``--folds`` folds of
runs, ``train_history`` on the rest), the conversion's ``kappa``, sharpness and cut are
fixed: a grid over them chosen on these histories would be hindsight. An oracle row tells
``N_hat`` the run's true count (a floor for the remedy). Figures: mean relative error of
the remaining runtime (the paper's metric) overall and early / middle / late (thirds of
the run's true length).

Run: .venv/bin/python benchmarks/bench_progress_lengths.py URL::JOB [...] [--folds 5]
(about 2-4 minutes per local history on 2 cores). On histories whose runs all have the
same length (the Ellis traces) the conversion is the identity.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

import numpy as np
from bench_progress_generalise import load

from jobcast.progress.combine import case_estimates
from jobcast.progress.context import context_relevance, context_similarity
from jobcast.progress.simulation import SimulationCases, simulate_history
from jobcast.progress.training import train_report

HEDGE = False


RELATIVE = False


def expected_lengths(arrays, cases: SimulationCases, sharpness: float) -> np.ndarray:
    """``N_hat`` per case: the candidates' counts weighted by context similarity ** sharpness.

    With ``RELATIVE``, shape ``(cases, runs)``: each candidate's own count times the ratio
    of the run's expected count to the candidate's context's expected count.
    """
    n = arrays.n_iter.astype(np.float64)
    rows = np.arange(len(n))
    out = np.empty(cases.n_cases)
    rel = np.tile(n, (cases.n_cases, 1))
    for k in range(cases.n_cases):
        cur, valid = cases.current[k], cases.valid[k]
        weights = np.ones(int(valid.sum()))
        if arrays.context is not None:
            others = rows != cur
            relevance = context_relevance(arrays.context.subset(others), [n[others]])
            if (relevance > 0).any():
                sim = context_similarity(arrays.context.subset(np.array([cur])),
                                         arrays.context, relevance)
                if sim is not None:
                    weights = np.nan_to_num(sim)[valid] ** sharpness + 1e-9
                if RELATIVE:
                    mine = float(np.sum(weights * n[valid]) / weights.sum())
                    cand = arrays.context.subset(valid)
                    for j in np.flatnonzero(valid):
                        s = context_similarity(arrays.context.subset(np.array([j])), cand,
                                               relevance)
                        w = np.nan_to_num(s) ** sharpness + 1e-9
                        rel[k, j] = n[j] * mine / float(np.sum(w * n[valid]) / w.sum())
        if HEDGE:
            # the value of the remaining count minimising its expected relative error
            left = np.maximum(n[valid] - cases.iteration[k], 1.0)
            order = np.argsort(left)
            w = (weights / left)[order]
            cum = np.cumsum(w)
            out[k] = cases.iteration[k] + left[order][np.searchsorted(cum, cum[-1] / 2)]
        else:
            out[k] = float(np.sum(weights * n[valid]) / weights.sum())
    return rel if RELATIVE else out


def converted(cases: SimulationCases, n: np.ndarray, n_hat: np.ndarray, kappa: float,
              upto: float) -> SimulationCases:
    """The cases with each candidate's remaining runtime converted to ``n_hat`` iterations."""
    i = cases.iteration.astype(np.float64)
    if n_hat.ndim == 2:  # per candidate (RELATIVE)
        ratio = np.maximum(n_hat - i[:, None], 1.0) / np.maximum(n[None, :] - i[:, None], 1.0)
        apply = np.ones_like(ratio, dtype=bool)
    else:
        ratio = np.maximum(n_hat - i, 1.0)[:, None] / np.maximum(n[None, :] - i[:, None], 1.0)
        apply = (i / n_hat < upto)[:, None]
    factor = np.where(apply, ratio ** kappa, 1.0)
    return replace(cases, raw_remaining=cases.raw_remaining * factor,
                   robust_remaining=None, robust_factor=None)


def row(spec: str, folds: int, sharpness: float, upto: float) -> dict[str, object]:
    """Cross-fitted estimates with and without the conversion, by position."""
    label, history, hardware = load(spec)
    arrays, sims = simulate_history(history, hardware)
    executions = arrays.executions
    params = {}
    for k in range(folds):
        held = executions[k::folds]
        rest = history[~history["execution"].isin(held)]
        rest_hw = hardware
        if hardware is not None and "execution" in hardware.columns:
            rest_hw = hardware[~hardware["execution"].isin(held)]
        # trained on the candidates as they ran (jobcast's training would choose)
        report = train_report(simulate_history(rest, rest_hw)[1], random_state=0, lengths=False)
        params.update({e: report.params for e in held})
    n = arrays.n_iter.astype(np.float64)
    some = next(iter(sims.values()))
    n_true = n[some.current]
    position = np.digitize(some.iteration / n_true, [1 / 3, 2 / 3])
    variants = {"as is": None, "converted": "estimated", "oracle N": "true"}
    out: dict[str, object] = {"history": label, "runs": len(n)}
    for name, how in variants.items():
        errors = np.empty(some.n_cases)
        for k in range(some.n_cases):
            p = params[executions[some.current[k]]]
            cases = sims[p.scale_out_strength]._select(np.arange(some.n_cases) == k)
            if how is not None:
                n_hat = n_true[[k]] if how == "true" else expected_lengths(arrays, cases, sharpness)
                cases = converted(cases, n, n_hat, 1.0, upto)
            estimate = case_estimates(cases, p)[0]
            actual = cases.actual_remaining[0]
            errors[k] = abs(estimate - actual) / actual
        out[name] = {
            "mre_remaining": round(float(np.nanmean(errors)), 4),
            "early / middle / late": [round(float(np.nanmean(errors[position == q])), 3)
                                      for q in range(3)],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("histories", nargs="+", help="URL::JOB, ellis:NAME or synthetic:KIND,SEED")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--sharpness", type=float, default=32.0)
    parser.add_argument("--upto", type=float, default=1.0,
                        help="convert only where i / N_hat is below this (1: always)")
    parser.add_argument("--hedge", action="store_true",
                        help="N_hat from the relative-error-optimal remaining count")
    parser.add_argument("--relative", action="store_true",
                        help="convert each candidate by the ratio of the run's expected count "
                             "to its own context's (candidates alike in context unchanged)")
    args = parser.parse_args()
    global HEDGE, RELATIVE
    HEDGE = args.hedge
    RELATIVE = args.relative
    for spec in args.histories:
        print(json.dumps(row(spec, args.folds, args.sharpness, args.upto)), flush=True)


if __name__ == "__main__":
    main()
