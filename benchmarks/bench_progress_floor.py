"""How low can any progress estimate go on the Ellis traces? Oracle floors of the MRE.

The issue asks for a mean relative error of at most half the better baseline. This
prints, under the same protocol (3 sample iterations per execution, 15 % padding, the
error of the total runtime relative to the actual total, other executions only), the
MRE of estimators that *know more than any real estimator can*:

* ``history_mean``: the baseline (the other executions' mean remaining runtime).
* ``oracle_but_last``: knows every remaining iteration of the run exactly except the
  last one, which it takes as the other executions' median last iteration.
* ``oracle_but_last_lr``: the same, with the last iteration predicted by a
  leave-one-out linear regression on what is known at the first sample point
  (iterations 1-3 and the first scale-out).
* ``oracle_but_last_future``: the same, with the regression also given facts a real
  estimator never has (the final scale-out, the median of the middle iterations).

If even these stay above half the history mean, the target is out of reach on the
trace for every estimator.

Run: .venv/bin/python benchmarks/bench_progress_floor.py [FILE ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import LeaveOneOut, cross_val_predict

from jobcast.evaluation.progress import read_ellis_trace
from jobcast.progress.simulation import sample_iterations

ELLIS = Path(__file__).resolve().parents[2] / "shared" / "data" / "ellis"


def floors(path: Path) -> dict[str, float]:
    """MRE of the baseline and of the two oracles on one trace."""
    frame = read_ellis_trace(path).sort_values(["execution", "iteration"])
    runs = [g["duration_s"].to_numpy() for _, g in frame.groupby("execution")]
    scale = [g["scale_out"].to_numpy() for _, g in frame.groupby("execution")]
    known = np.array([[d[1], d[2], d[3], s[0]] for d, s in zip(runs, scale, strict=True)])
    future = np.array(
        [[s[-1], np.median(d[4:-1])] for d, s in zip(runs, scale, strict=True)]
    )
    last = np.array([d[-1] for d in runs])
    loo = LeaveOneOut()
    last_lr = cross_val_predict(LinearRegression(), known, last, cv=loo)
    last_future = cross_val_predict(
        LinearRegression(), np.hstack([known, future]), last, cv=loo
    )
    names = ("history_mean", "oracle_but_last", "oracle_but_last_lr", "oracle_but_last_future")
    errs: dict[str, list[float]] = {k: [] for k in names}
    for r, d in enumerate(runs):
        others = [o for k, o in enumerate(runs) if k != r]
        total = d.sum()
        last_median = float(np.median([o[-1] for o in others]))
        for i in sample_iterations(len(d)):
            actual = d[i:].sum()
            mean_rem = np.mean([o[i:].sum() for o in others if len(o) > i])
            middle = d[i:-1].sum()
            errs["history_mean"].append(abs(mean_rem - actual) / total)
            errs["oracle_but_last"].append(abs(middle + last_median - actual) / total)
            errs["oracle_but_last_lr"].append(abs(middle + last_lr[r] - actual) / total)
            errs["oracle_but_last_future"].append(abs(middle + last_future[r] - actual) / total)
    return {k: float(np.mean(v)) for k, v in errs.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path)
    args = ap.parse_args()
    files = args.files or sorted(ELLIS.glob("*.csv"))
    print(
        f"{'trace':20s} {'history mean':>12s} {'target':>7s} {'oracle':>7s} "
        f"{'oracle+LR':>9s} {'+future':>8s}"
    )
    for f in files:
        fl = floors(f)
        print(
            f"{f.stem:20s} {fl['history_mean']:12.4f} {fl['history_mean'] / 2:7.4f} "
            f"{fl['oracle_but_last']:7.4f} {fl['oracle_but_last_lr']:9.4f} "
            f"{fl['oracle_but_last_future']:8.4f}"
        )


if __name__ == "__main__":
    main()
