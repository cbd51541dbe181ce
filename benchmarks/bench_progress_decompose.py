"""Where SMiPE's remaining-runtime error on the Ellis traces comes from, by what is knowable.

The estimator (cross-fitted: the runs of each of K folds are estimated with parameters
trained on the other folds only; ``--folds`` as many as runs is the nested protocol of
``evaluate progress``) is scored on the paper's metric, the mean relative error of the
remaining runtime, and again with parts of the truth handed to it:

* ``last two known``: every candidate's last two iterations replaced by the run's own
  (the rest, the "body", estimated as usual);
* ``body known``: every candidate's body replaced by the run's own, so only the last two
  iterations are estimated, from the same similar runs and with the same parameters.
  This is an oracle like those of ``bench_progress_floor.py``, but one that predicts the
  last two iterations from what SMiPE sees at the sample (the similarity of the
  iterations so far); ``... hindsight`` does the same with parameters trained on every
  run, the scored ones included;
* ``rescaling known``: the body known only where the scale-out changes between the
  sample and the last two iterations (Ellis rescaled the run later: an event not in
  the data at the sample), SMiPE's own estimate elsewhere.

The estimates are also split by that event: runs that keep their scale-out until the
last two iterations, and runs rescaled after the sample. The robust estimate blended in
by ``blend`` is split between body and last iterations in proportion to the candidates'
runtimes (a decomposition, not the estimator's code path).

Run: .venv/bin/python benchmarks/bench_progress_decompose.py [--folds 5] [FILE ...]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from bench_progress_crossfit import trace_arguments, without_runs

from jobcast.evaluation.progress import read_ellis_trace
from jobcast.progress.arrays import IterationArrays
from jobcast.progress.combine import combine
from jobcast.progress.inference import adjusted
from jobcast.progress.matching import match_masks
from jobcast.progress.parameters import ProgressParameters
from jobcast.progress.prepared import prepare_history
from jobcast.progress.scaling import fit_scale_out_table
from jobcast.progress.simulation import SimulationCases, simulate_history
from jobcast.progress.training import train_on_cases

#: Final iterations treated apart (gbt's last two hold a third of its runtime).
LAST = 2


def last_parts(arrays: IterationArrays, cases: SimulationCases) -> np.ndarray:
    """Each candidate's last ``LAST`` iterations at the current scale-out, shape ``(C, E)``.

    Converted as the simulation converts (scale-out models fitted without the
    evaluated run, powered to the cases' strength), so that ``raw_remaining - last``
    is the candidate's body.
    """
    n_iter = arrays.n_iter[:, None]
    cols = np.arange(arrays.max_iterations)[None, :]
    top = 2 * int(np.nanmax(arrays.scale_out))
    out = np.zeros(cases.valid.shape)
    for row in np.unique(cases.current):
        others = np.arange(arrays.n_executions) != row
        table = fit_scale_out_table(
            arrays.runtime, arrays.scale_out, rows=others, max_scale_out=top
        ).powered(cases.strength)
        base = prepare_history(arrays, table).base
        for c in np.flatnonzero(cases.current == row):
            i = int(cases.iteration[c])
            now = table.lookup(cols[0], np.array(arrays.scale_out[row, i - 1]))
            tail = (cols >= i) & (cols >= n_iter - LAST) & (cols < n_iter)
            out[c] = np.where(tail, base * now[None, :], 0.0).sum(axis=1)
    return out


def fold_params(cases: dict[float, SimulationCases], folds: int) -> dict[int, ProgressParameters]:
    """Parameters per run, trained on the simulations of the other folds only."""
    first = next(iter(cases.values()))
    rows = np.random.default_rng(0).permutation(np.unique(first.current))
    out = {}
    for held in np.array_split(rows, folds):
        params = train_on_cases(without_runs(cases, held), random_state=0)
        out.update({int(r): params for r in held})
    return out


def decompose(path: Path, folds: int) -> dict[str, float]:
    """Errors of the variants above on one trace (see the module docstring)."""
    arrays, cases = simulate_history(read_ellis_trace(path))
    first = next(iter(cases.values()))
    runtime = np.nan_to_num(arrays.runtime)
    n = arrays.n_iter
    rows, its = first.current, first.iteration
    actual = first.actual_remaining
    own_last = np.array([runtime[r, n[r] - LAST : n[r]].sum() for r in rows])
    own_body = actual - own_last
    rescaled = np.array([
        np.unique(arrays.scale_out[r, i - 1 : max(n[r] - LAST, i)]).size > 1
        for r, i in zip(rows, its, strict=True)
    ])
    per_run = fold_params(cases, folds)
    hindsight = train_on_cases(cases, random_state=0)
    parts = {s: last_parts(arrays, c) for s, c in cases.items()}
    variants = ("estimate", "last two known", "body known", "rescaling known",
                "body known, hindsight")
    est = {v: np.empty(first.n_cases) for v in variants}

    def run(params: ProgressParameters, sel: np.ndarray, names: tuple[str, ...]) -> None:
        c = cases[params.scale_out_strength]._select(sel)
        last = parts[params.scale_out_strength][sel]
        adj = adjusted(c.factors, params.adjustment)
        raw = np.where(c.valid, c.raw_remaining, 0.0)
        share = np.where(c.valid, last, 0.0).sum(axis=1) / np.maximum(raw.sum(axis=1), 1e-12)
        robust = c.robust(params.adjustment)
        mask, sim_final, _ = match_masks(c.similarities, c.valid, params)
        body, tail = (raw - last) * adj, last * adj
        known = {
            "estimate": (body + tail, robust),
            "last two known": (body + own_last[sel, None],
                               robust * (1 - share) + own_last[sel]),
            "body known": (own_body[sel, None] + tail, own_body[sel] + robust * share),
        }
        for name in names:
            source = "body known" if name.startswith("body known") else name
            if name == "rescaling known":
                source = "estimate"
            remaining, rob = known[source]
            est[name][sel] = combine(
                remaining, mask, sim_final=sim_final, params=params, robust=rob
            )
        if "rescaling known" in names:
            swap = rescaled[sel]
            remaining, rob = known["body known"]
            both = combine(remaining, mask, sim_final=sim_final, params=params, robust=rob)
            est["rescaling known"][sel] = np.where(swap, both, est["rescaling known"][sel])

    for params in {id(p): p for p in per_run.values()}.values():
        sel = np.array([per_run[int(r)] is params for r in rows])
        run(params, sel, variants[:4])
    run(hindsight, np.ones(first.n_cases, dtype=bool), variants[4:])
    out = {}
    for name, values in est.items():
        error = np.abs(values - actual) / actual
        out[name] = float(error.mean())
        if name == "estimate":
            out["kept scale-out"] = float(error[~rescaled].mean())
            out["rescaled later"] = float(error[rescaled].mean())
    out["rescaled share"] = float(rescaled.mean())
    return out


def main() -> None:
    files, folds = trace_arguments(__doc__.splitlines()[0])
    print("mean relative error of the remaining runtime (the SMiPE paper's metric), "
          f"{folds}-fold cross-fitted parameters")
    for f in files:
        r = decompose(f, folds)
        print(f"{f.stem}: estimate {r['estimate']:.4f} (runs keeping their scale-out "
              f"{r['kept scale-out']:.4f}, rescaled after the sample {r['rescaled later']:.4f}, "
              f"{100 * r['rescaled share']:.0f} % of the estimates)")
        for name in ("last two known", "body known", "rescaling known",
                     "body known, hindsight"):
            print(f"  {name:24s} {r[name]:.4f}")


if __name__ == "__main__":
    main()
