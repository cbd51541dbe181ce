"""How low can any progress estimate go on the Ellis traces? Oracle floors on the paper's metric.

Under the paper's protocol (3 sample iterations per execution, 15 % padding, other
executions only), this prints the mean relative error of the *remaining* runtime
(``|estimate - actual remaining| / actual remaining``, the SMiPE paper's metric) of
estimators that *know more than any real estimator can*:

* ``history mean``: the baseline (the other executions' mean remaining runtime).
* ``oracle but last k`` (k = 1, 2): knows every remaining iteration of the run exactly
  except the last k, which it takes as the other executions' per-iteration median.
* ``... + LR``: the same, with the last k iterations predicted by a leave-one-out
  linear regression on what is known at the first sample point (iterations 1-3 and
  the first scale-out).

If even an oracle stays above a target, the target is out of reach on the trace for
every estimator that cannot foresee those last iterations better than the regression.

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

NAMES = ("history_mean", "oracle_but_last_1", "oracle_but_last_1_lr", "oracle_but_last_2",
         "oracle_but_last_2_lr")


def floors(path: Path) -> dict[str, float]:
    """MRE of the remaining runtime of the baseline and the oracles on one trace."""
    frame = read_ellis_trace(path).sort_values(["execution", "iteration"])
    runs = [g["duration_s"].to_numpy() for _, g in frame.groupby("execution")]
    scale = [g["scale_out"].to_numpy() for _, g in frame.groupby("execution")]
    known = np.array([[d[1], d[2], d[3], s[0]] for d, s in zip(runs, scale, strict=True)])
    loo = LeaveOneOut()
    tails = {k: np.array([d[-k:].sum() for d in runs]) for k in (1, 2)}
    tails_lr = {
        k: cross_val_predict(LinearRegression(), known, t, cv=loo) for k, t in tails.items()
    }
    errs: dict[str, list[float]] = {k: [] for k in NAMES}
    for r, d in enumerate(runs):
        others = [o for k, o in enumerate(runs) if k != r]
        for i in sample_iterations(len(d)):
            actual = d[i:].sum()
            mean_rem = np.mean([o[i:].sum() for o in others if len(o) > i])
            errs["history_mean"].append(abs(mean_rem - actual) / actual)
            for k in (1, 2):
                cut = max(len(d) - k, i)
                known_part = d[i:cut].sum()
                median_tail = float(
                    np.sum(np.median(np.array([o[-k:] for o in others if len(o) >= k]), axis=0))
                )
                errs[f"oracle_but_last_{k}"].append(abs(known_part + median_tail - actual) / actual)
                errs[f"oracle_but_last_{k}_lr"].append(
                    abs(known_part + tails_lr[k][r] - actual) / actual
                )
    return {k: float(np.mean(v)) for k, v in errs.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path)
    args = ap.parse_args()
    files = args.files or sorted(ELLIS.glob("*.csv"))
    print("mean relative error of the remaining runtime (the SMiPE paper's metric)")
    print(f"{'trace':20s} {'history mean':>12s} {'but last 1':>10s} {'+LR':>7s} "
          f"{'but last 2':>10s} {'+LR':>7s}")
    for f in files:
        fl = floors(f)
        print(
            f"{f.stem:20s} {fl['history_mean']:12.4f} {fl['oracle_but_last_1']:10.4f} "
            f"{fl['oracle_but_last_1_lr']:7.4f} {fl['oracle_but_last_2']:10.4f} "
            f"{fl['oracle_but_last_2_lr']:7.4f}"
        )


if __name__ == "__main__":
    main()
