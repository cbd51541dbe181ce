"""How low can any progress estimate go on the Ellis traces? Oracle floors on the paper's metric.

Under the paper's protocol (3 sample iterations per execution, 15 % padding, other
executions only), this prints the mean relative error of the *remaining* runtime
(``|estimate - actual remaining| / actual remaining``, the SMiPE paper's metric) of
estimators that *know more than any real estimator can*. Each knows every remaining
iteration of the run exactly except the last ``k`` (k = 1, 2), and predicts those from
the other runs' last ``k`` iterations by:

* ``median``: their median;
* ``mre-median``: their median weighted by 1 / (the remaining time it implies), the
  value that minimises the expected relative error of the remaining runtime;
* ``nn5``: the median of the 5 runs nearest to this one over the *whole* run but the
  last ``k`` iterations (a similarity no real estimator can see: the future included);
* ``LR``: a leave-one-out linear regression on what is known at the first sample point
  (iterations 1-3 and the first scale-out);
* ``best c``: the median times the one factor ``c`` that is best in hindsight over the
  whole trace (chosen on the errors it is scored on).

``floor`` is the lowest of them. If even an oracle stays above a target, the target is
out of reach on the trace for every estimator that cannot foresee those last iterations
better, and must predict the other remaining iterations too. The history-mean baseline
stands beside them. These oracles ignore the iterations the run has finished;
``bench_progress_decompose.py`` scores SMiPE's own prediction of the last two
iterations from its similar runs with the rest of the run known, which is lower on gbt
(0.095 cross-fitted, 0.089 with parameters chosen in hindsight), and so is the floor.

Run: .venv/bin/python benchmarks/bench_progress_floor.py [FILE ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import LeaveOneOut, cross_val_predict

from jobcast.evaluation.progress import read_ellis_trace
from jobcast.progress.combine import weighted_median
from jobcast.progress.simulation import sample_iterations

ELLIS = Path(__file__).resolve().parents[2] / "shared" / "data" / "ellis"

ORACLES = ("median", "mre-median", "nn5", "LR", "best c")
_FACTORS = np.round(np.linspace(0.7, 1.2, 51), 3)


def floors(path: Path) -> dict[str, float]:
    """MRE of the remaining runtime of the baseline and of the oracles on one trace."""
    frame = read_ellis_trace(path).sort_values(["execution", "iteration"])
    runs = [g["duration_s"].to_numpy() for _, g in frame.groupby("execution")]
    scale = [g["scale_out"].to_numpy() for _, g in frame.groupby("execution")]
    known = np.array([[d[1], d[2], d[3], s[0]] for d, s in zip(runs, scale, strict=True)])
    width = min(len(d) for d in runs)
    errs: dict[str, list[float]] = {"history_mean": []}
    for k in (1, 2):
        tails = np.array([d[-k:].sum() for d in runs])
        lr = cross_val_predict(LinearRegression(), known, tails, cv=LeaveOneOut())
        # the runs' shapes over their first width - k iterations, for the true neighbours
        shapes = np.log(np.array([d[: width - k] for d in runs]))
        scaled: dict[float, list[float]] = {c: [] for c in _FACTORS}
        for r, d in enumerate(runs):
            others = np.arange(len(runs)) != r
            near = np.argsort(np.abs(shapes[others] - shapes[r]).mean(axis=1))[:5]
            for i in sample_iterations(len(d)):
                actual = d[i:].sum()
                if k == 1:
                    rem = [o[i:].sum() for o, u in zip(runs, others, strict=True)
                           if u and len(o) > i]
                    errs["history_mean"].append(abs(np.mean(rem) - actual) / actual)
                part = d[i : max(len(d) - k, i)].sum()
                other_tails = tails[others]
                weights = 1.0 / (part + other_tails)
                guesses = {
                    "median": float(np.median(other_tails)),
                    "mre-median": float(weighted_median(other_tails, weights)),
                    "nn5": float(np.median(other_tails[near])),
                    "LR": float(lr[r]),
                }
                for name, tail in guesses.items():
                    errs.setdefault(f"{name} {k}", []).append(abs(part + tail - actual) / actual)
                for c in _FACTORS:
                    scaled[c].append(abs(part + c * guesses["median"] - actual) / actual)
        errs[f"best c {k}"] = min(scaled.values(), key=lambda v: float(np.mean(v)))
    out = {name: float(np.mean(v)) for name, v in errs.items()}
    for k in (1, 2):
        out[f"floor {k}"] = min(out[f"{name} {k}"] for name in ORACLES)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path)
    args = ap.parse_args()
    files = args.files or sorted(ELLIS.glob("*.csv"))
    print("mean relative error of the remaining runtime (the SMiPE paper's metric) of oracles")
    print("that know every remaining iteration but the last k")
    print(f"{'trace':20s} {'k':>2s} {'hist.mean':>9s} "
          + " ".join(f"{n:>10s}" for n in ORACLES) + f" {'floor':>7s}")
    for f in files:
        fl = floors(f)
        for k in (1, 2):
            cells = " ".join(f"{fl[f'{n} {k}']:10.4f}" for n in ORACLES)
            print(f"{f.stem:20s} {k:2d} {fl['history_mean']:9.4f} {cells} {fl[f'floor {k}']:7.4f}")


if __name__ == "__main__":
    main()
