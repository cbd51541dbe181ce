"""Blends that depend on the case, against the one learned blend: out-of-fold errors.

``train progress`` blends SMiPE's estimate with the pace-scaled history mean,
``lambda ((1 - sigma) estimate + sigma scaled)``, with one ``sigma`` and one ``lambda``
per history (:func:`jobcast.progress.fallback.learn_fallback`). Where run lengths vary,
``lambda`` falls well below 1: late sample points, where the remaining runtime is small
and a relative error large, pull every estimate down, early ones too. This benchmark
asks whether blends that depend on something known at the sample do better on runs they
were not fitted on:

- ``none``: the estimate as is; ``global``: the learned blend (fitted on the other folds);
- ``spread2`` / ``spread3``: a blend per half / third of the candidates' spread (the
  weighted standard deviation of their log remaining runtimes);
- ``frac2`` / ``frac3``: a blend per half / third of the expected fraction done (the
  iteration over the other runs' median iteration count);
- ``lognormal``: the estimates scaled by ``exp(-c spread^2)`` before the blend, ``c`` from
  a grid (the relative-error-optimal point of a log-normal remaining runtime lies
  ``spread^2`` below its median).

The estimates are cross-fitted over K folds of runs (parameters trained without the
fold, no blend), each blend is fitted on the other folds' estimates and scored on the
fold's: the paper's metric, the mean relative error of the remaining runtime.

A history is ``ellis:NAME``, ``DB_URL::JOB`` (as in ``bench_progress_generalise.py``) or
``synthetic:random,SEED`` / ``synthetic:records,SEED`` (16 runs of 8-40 iterations,
lengths drawn at random; ``records`` adds a record count whose decay announces the
length). For example:

    .venv/bin/python benchmarks/bench_progress_blends.py ellis:gbt \
        ellis:logisticregression synthetic:random,0 synthetic:records,0

About a minute per Ellis history, seconds per synthetic one.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
from bench_progress_generalise import load

from jobcast.progress.combine import case_estimates
from jobcast.progress.fallback import blend_weights, capped, out_of_fold_error, without_rows
from jobcast.progress.simulation import SimulationCases, simulate_history
from jobcast.progress.training import train_on_cases

VARIANTS = ("none", "global", "spread2", "spread3", "frac2", "frac3", "lognormal")


def _capped(w: np.ndarray) -> np.ndarray:
    """:func:`capped`; no weight at all keeps the plain estimate (the first column)."""
    return capped(w) if w.sum() > 0 else np.eye(len(w))[0]


def _by_bins(n_bins: int) -> Callable[..., np.ndarray]:
    """A blend per quantile bin of a feature (bins from the training part)."""

    def fit_apply(cols: np.ndarray, actual: np.ndarray, feat: np.ndarray,
                  train: np.ndarray) -> np.ndarray:
        edges = np.quantile(feat[train], np.linspace(0, 1, n_bins + 1)[1:-1])
        bins = np.digitize(feat, edges)
        out = np.empty(len(actual))
        for b in range(n_bins):
            fit = train & (bins == b)
            w = _capped(blend_weights(cols[fit], actual[fit])) if fit.any() else np.eye(2)[0]
            out[bins == b] = cols[bins == b] @ w
        return out

    return fit_apply


def _lognormal(cols: np.ndarray, actual: np.ndarray, spread: np.ndarray,
               train: np.ndarray) -> np.ndarray:
    best: tuple[float, np.ndarray] | None = None
    for c in np.linspace(0.0, 3.0, 13):
        shifted = cols * np.exp(-c * spread**2)[:, None]
        w = _capped(blend_weights(shifted[train], actual[train]))
        err = float(np.mean(np.abs(shifted[train] @ w - actual[train]) / actual[train]))
        if best is None or err < best[0]:
            best = (err, shifted @ w)
    assert best is not None
    return best[1]


def out_of_fold(variant: str, cols: np.ndarray, actual: np.ndarray, groups: np.ndarray,
                spread: np.ndarray, frac: np.ndarray, folds: int) -> float:
    """Mean relative error of ``variant``'s blends, each fitted without its fold.

    ``cols`` holds the estimate and the pace-scaled history mean per case.
    """
    if variant == "global":  # exactly the check `train progress` makes
        return out_of_fold_error(cols, actual, groups, folds)
    rows = np.unique(groups)
    out = np.empty(len(actual))
    for k in range(folds):
        held = np.isin(groups, rows[k::folds])
        if variant == "none":
            fitted = cols[:, 0]
        elif variant == "lognormal":
            fitted = _lognormal(cols, actual, spread, ~held)
        else:
            feature = spread if variant.startswith("spread") else frac
            fitted = _by_bins(int(variant[-1]))(cols, actual, feature, ~held)
        out[held] = fitted[held]
    return float(np.mean(np.abs(out - actual) / actual))


def cross_fitted(cases: dict[float, SimulationCases], folds: int,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per case: the estimate and the pace-scaled history mean, shape ``(C, 2)``, and the
    candidates' spread, each fold's from parameters trained without it (no blend)."""
    first = next(iter(cases.values()))
    rows = np.unique(first.current)
    cols, spread = np.full((first.n_cases, 2), np.nan), np.full(first.n_cases, np.nan)
    for k in range(folds):
        held = rows[k::folds]
        train = {s: without_rows(c, held) for s, c in cases.items()}
        params = train_on_cases(train, random_state=seed, n_starts=1).with_values(
            fallback=0.0, scaled_share=0.0, scale=1.0)
        chosen = cases[params.scale_out_strength]
        if not (np.array_equal(chosen.current, first.current)
                and np.array_equal(chosen.iteration, first.iteration)):
            raise RuntimeError("the strengths' simulations hold different cases")
        mine = np.isin(chosen.current, held)
        own = chosen._select(mine)
        cols[mine] = np.column_stack([case_estimates(own, params), own.scaled_history_mean()])
        spread[mine] = own.spread(params)
    return cols, spread


def row(spec: str, folds: int) -> dict[str, float]:
    """Out-of-fold error of every variant on one history."""
    _, history, hardware = load(spec)
    arrays, cases = simulate_history(history, hardware)
    first = next(iter(cases.values()))
    cols, spread = cross_fitted(cases, folds)
    actual = np.maximum(first.actual_remaining, 1e-9)
    others = [np.median(np.delete(arrays.n_iter, r)) for r in first.current]
    frac = first.iteration / np.asarray(others)
    ok = np.isfinite(cols).all(axis=1) & np.isfinite(spread)
    return {
        v: out_of_fold(v, cols[ok], actual[ok], first.current[ok], spread[ok], frac[ok], folds)
        for v in VARIANTS
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("histories", nargs="+",
                        help="ellis:NAME, DB_URL::JOB or synthetic:random|records,SEED")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    print(f"{'history':28s} " + " ".join(f"{v:>9s}" for v in VARIANTS))
    for spec in args.histories:
        r = row(spec, args.folds)
        print(f"{spec[-28:]:28s} " + " ".join(f"{r[v]:9.4f}" for v in VARIANTS), flush=True)


if __name__ == "__main__":
    main()
