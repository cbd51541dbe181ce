"""Progress estimation on the Ellis traces with parameters cross-fitted over the runs (fast).

The paper's protocol (3 sample iterations per run, 15 % padding, every run estimated
from the *other* runs) with the parameters trained by K-fold cross-fitting: the runs are
split into K folds, and the runs of each fold are estimated with parameters trained on
the simulations of the other folds only (in which they are neither estimated nor
candidates). ``evaluate progress --training nested`` trains once per run (65 trainings);
this trains K times, so it runs in minutes on a shared machine.

Prints the mean relative error of the remaining runtime (the SMiPE paper's metric), per
sample position, of the total runtime, and the history-mean baseline.

Run: .venv/bin/python benchmarks/bench_progress_crossfit.py [--folds 5] [FILE ...]
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from jobcast.evaluation.progress import baseline_estimates, position_of, read_ellis_trace
from jobcast.progress.combine import case_estimates
from jobcast.progress.fallback import without_rows
from jobcast.progress.simulation import SimulationCases, simulate_history
from jobcast.progress.training import train_on_cases

ELLIS = Path(__file__).resolve().parents[2] / "shared" / "data" / "ellis"


def without_runs(
    cases: Mapping[float, SimulationCases], held: np.ndarray
) -> dict[float, SimulationCases]:
    """The simulations with the runs ``held`` neither estimated nor candidates."""
    return {strength: without_rows(c, held) for strength, c in cases.items()}


def trace_arguments(description: str) -> tuple[list[Path], int]:
    """The Ellis traces to run (all by default) and ``--folds`` from the command line."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args()
    return args.files or sorted(ELLIS.glob("*.csv")), args.folds


def crossfit(path: Path, folds: int, seed: int = 0) -> dict[str, float]:
    """Cross-fitted errors of SMiPE and the history mean on one trace."""
    arrays, cases = simulate_history(read_ellis_trace(path))
    first = next(iter(cases.values()))
    rows = np.random.default_rng(seed).permutation(np.unique(first.current))
    estimate = np.empty(first.n_cases)
    for held in np.array_split(rows, folds):
        train = without_runs(cases, held)
        # a lighter search than `train progress` (3 starts of 200): K trainings in minutes
        params = train_on_cases(train, random_state=seed, n_starts=2, maxfun=150)
        chosen = cases[params.scale_out_strength]
        mine = np.isin(chosen.current, held)
        estimate[mine] = case_estimates(chosen._select(mine), params)
    actual = first.actual_remaining
    error = np.abs(estimate - actual) / actual
    base = baseline_estimates(arrays, first.current, first.iteration)["history_mean"]
    position = position_of(first.iteration / arrays.n_iter[first.current])
    out = {
        "remaining": float(error.mean()),
        "history_mean": float((np.abs(base - actual) / actual).mean()),
        "total": float((np.abs(estimate - actual) / (first.elapsed + actual)).mean()),
    }
    for p in ("early", "middle", "late"):
        out[p] = float(error[position == p].mean())
    return out


def main() -> None:
    files, folds = trace_arguments(__doc__.splitlines()[0])
    print(f"{'trace':20s} {'remaining':>9s} {'early':>6s} {'middle':>6s} {'late':>6s} "
          f"{'hist.mean':>9s} {'ratio':>6s} {'total':>6s}")
    for f in files:
        r = crossfit(f, folds)
        print(
            f"{f.stem:20s} {r['remaining']:9.4f} {r['early']:6.3f} {r['middle']:6.3f} "
            f"{r['late']:6.3f} {r['history_mean']:9.4f} "
            f"{r['remaining'] / r['history_mean']:6.2f} {r['total']:6.4f}"
        )


if __name__ == "__main__":
    main()
