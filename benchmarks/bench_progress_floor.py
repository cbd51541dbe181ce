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

``floor`` is the lowest of them. A second table scores oracles that, like the above,
know every remaining iteration but the last ``k``, and predict those from *everything
known at the sample*: the log runtime of every iteration the run has finished, its
elapsed time and its first and current scale-out, by a regressor trained on the other
runs (their same features at the same iteration, their last ``k`` iterations' log sum
as the target; leave-one-out by construction, fixed hyperparameters, seeded):

* ``ridge``: ridge regression on the standardised features, its penalty chosen by
  the regressor's own leave-one-out over the training runs;
* ``knn``: the distance-weighted mean of the 7 runs nearest in the standardised
  features;
* ``gbm``: gradient boosting (150 trees of depth 2, learning rate 0.05, subsample
  0.8).

``floor+`` is the lowest of every oracle; it is the error an estimator would reach that
predicted every remaining iteration but the last ``k`` without error. The row ``k = all``
is no oracle: the same regressors predict the whole remaining runtime from the same
features, a family of estimators other than similarity matching, for comparison. A
third table splits the remainder in two for ``k = 2``: ``body <learner>`` is told the
last two iterations and learns the ones before them (the mirror oracle), and ``parts``
(no oracle) learns both apart and sums them, with the pair of learners best in hindsight.
If the two halves, each predicted by the best learner for it, still sum to more than a
target, their errors do not cancel enough for it.

If even an oracle stays above a target, the target is out of reach on the trace for
every estimator that cannot foresee those last iterations better, and must predict the
other remaining iterations too. The history-mean baseline stands beside them. The
oracles of the first table ignore the iterations the run has finished (those of the
second see them); ``bench_progress_decompose.py`` scores SMiPE's own prediction of the
last two iterations from its similar runs with the rest of the run known (0.095 on gbt
cross-fitted, 0.089 with parameters chosen in hindsight).

Run: .venv/bin/python benchmarks/bench_progress_floor.py [FILE ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import LinearRegression, RidgeCV
from sklearn.model_selection import LeaveOneOut, cross_val_predict
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from jobcast.evaluation.progress import read_ellis_trace
from jobcast.progress.combine import weighted_median
from jobcast.progress.simulation import sample_iterations

ELLIS = Path(__file__).resolve().parents[2] / "shared" / "data" / "ellis"

ORACLES = ("median", "mre-median", "nn5", "LR", "best c")
_FACTORS = np.round(np.linspace(0.7, 1.2, 51), 3)
LEARNED = ("ridge", "knn", "gbm")


def learner(name: str) -> Pipeline | GradientBoostingRegressor:
    """A fresh regressor of the learned oracles (fixed hyperparameters, seeded)."""
    if name == "ridge":
        return make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 4, 25)))
    if name == "knn":
        return make_pipeline(StandardScaler(), KNeighborsRegressor(7, weights="distance"))
    return GradientBoostingRegressor(
        n_estimators=150, max_depth=2, learning_rate=0.05, subsample=0.8, random_state=0
    )


def known_at(durations: np.ndarray, scale_out: np.ndarray, i: int) -> np.ndarray:
    """Everything known about a run after ``i`` iterations: log runtimes, elapsed, scale-outs."""
    return np.concatenate([
        np.log(np.maximum(durations[:i], 1e-3)),
        [np.log(max(durations[:i].sum(), 1e-3)), np.log(scale_out[0]), np.log(scale_out[i - 1])],
    ])


def learned_predictions(
    runs: list[np.ndarray],
    scale: list[np.ndarray],
    k: int | None,
    learners: tuple[str, ...] = LEARNED,
    *,
    part: str = "last",
) -> list[dict[str, float]]:
    """Per sample point: run, iteration, actual remaining and each learner's estimate of it.

    The learners predict the log sum of the last ``k`` iterations (``part="body"``: of
    the remaining ones before them; ``k`` None: of every remaining one) from
    :func:`known_at`, trained on the other runs that ran past the sample iteration; the
    estimate adds the other remaining iterations, known (an oracle), as ``known``.
    """
    if part not in ("last", "body"):
        raise ValueError(f"part must be 'last' or 'body', got {part!r}")

    def target(d: np.ndarray, i: int) -> float:
        if k is None:
            return float(d[i:].sum())
        cut = max(len(d) - k, i)
        return float(d[cut:].sum() if part == "last" else d[i:cut].sum())

    out = []
    for r, d in enumerate(runs):
        for i in sample_iterations(len(d)):
            known = float(d[i:].sum()) - target(d, i)
            others = [o for o in range(len(runs)) if o != r and len(runs[o]) > i]
            x = np.array([known_at(runs[o], scale[o], i) for o in others])
            y = np.log(np.maximum([target(runs[o], i) for o in others], 1e-3))
            mine = known_at(d, scale[r], i)[None, :]
            row = {"run": float(r), "iteration": float(i), "actual": float(d[i:].sum()),
                   "known": known}
            for name in learners:
                row[name] = known + float(np.exp(learner(name).fit(x, y).predict(mine)[0]))
            out.append(row)
    return out


def errors(rows: list[dict[str, float]], learners: tuple[str, ...]) -> dict[str, float]:
    """Each learner's MRE of the remaining runtime over ``rows`` (:func:`learned_predictions`)."""
    actual = np.array([row["actual"] for row in rows])
    return {
        name: float(np.mean(np.abs(np.array([row[name] for row in rows]) - actual) / actual))
        for name in learners
    }


def learned_floors(
    runs: list[np.ndarray],
    scale: list[np.ndarray],
    k: int | None,
    learners: tuple[str, ...] = LEARNED,
) -> dict[str, float]:
    """MRE of the remaining runtime of the learned oracles (last ``k`` iterations unknown).

    ``k`` None: every remaining iteration unknown (a plain estimator, not an oracle).
    """
    rows = learned_predictions(runs, scale, k, learners)
    return {f"{name} {k or 'all'}": v for name, v in errors(rows, learners).items()}


def learned_parts(
    runs: list[np.ndarray], scale: list[np.ndarray], k: int, learners: tuple[str, ...] = LEARNED
) -> dict[str, float]:
    """The body oracle (last ``k`` told, body learned) and the two parts learned apart.

    ``body <name>``: the MRE of the remaining runtime when the last ``k`` iterations are
    known and the ones before are predicted by ``<name>``. ``parts``: no oracle, the body
    predicted by one learner and the last ``k`` by another, summed: ``parts <body>+<last>``
    for every pair, ``parts`` the pair best in hindsight.
    """
    body = learned_predictions(runs, scale, k, learners, part="body")
    last = learned_predictions(runs, scale, k, learners)
    out = {f"body {n}": v for n, v in errors(body, learners).items()}
    actual = np.array([row["actual"] for row in body])
    for b in learners:
        for t in learners:
            guess = np.array([rb[b] - rb["known"] + rl[t] - rl["known"]
                              for rb, rl in zip(body, last, strict=True)])
            out[f"parts {b}+{t}"] = float(np.mean(np.abs(guess - actual) / actual))
    out["parts"] = min(v for name, v in out.items() if name.startswith("parts "))
    return out


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
        out.update(learned_floors(runs, scale, k))
        out[f"floor {k}"] = min(out[f"{name} {k}"] for name in ORACLES)
        out[f"floor+ {k}"] = min(out[f"{name} {k}"] for name in ORACLES + LEARNED)
    out.update(learned_floors(runs, scale, None))
    out.update(learned_parts(runs, scale, 2))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path)
    args = ap.parse_args()
    files = args.files or sorted(ELLIS.glob("*.csv"))
    rows: list[tuple[str, dict[str, float]]] = []
    print("mean relative error of the remaining runtime (the SMiPE paper's metric) of oracles")
    print("that know every remaining iteration but the last k")
    print(f"{'trace':20s} {'k':>2s} {'hist.mean':>9s} "
          + " ".join(f"{n:>10s}" for n in ORACLES) + f" {'floor':>7s}")
    for f in files:
        fl = floors(f)
        for k in (1, 2):
            cells = " ".join(f"{fl[f'{n} {k}']:10.4f}" for n in ORACLES)
            print(f"{f.stem:20s} {k:2d} {fl['history_mean']:9.4f} {cells} {fl[f'floor {k}']:7.4f}")
        rows.append((f.stem, fl))
    print("oracles that also see every finished iteration (learned, leave-one-out)")
    print(f"{'trace':20s} {'k':>2s} " + " ".join(f"{n:>10s}" for n in LEARNED) + f" {'floor+':>7s}")
    for stem, fl in rows:
        for k in (1, 2):
            cells = " ".join(f"{fl[f'{n} {k}']:10.4f}" for n in LEARNED)
            print(f"{stem:20s} {k:2d} {cells} {fl[f'floor+ {k}']:7.4f}")
        cells = " ".join(f"{fl[f'{n} all']:10.4f}" for n in LEARNED)
        print(f"{stem:20s} {'all':>3s}{cells}   (no oracle: every remaining iteration predicted)")
    print("the last 2 iterations told, the ones before learned (body); no oracle: the body and")
    print("the last 2 learned apart and summed, the best pair of learners in hindsight (parts)")
    print(f"{'trace':20s} " + " ".join(f"{'body ' + n:>10s}" for n in LEARNED)
          + f" {'parts':>7s}  pair (body+last)")
    for stem, fl in rows:
        cells = " ".join(f"{fl[f'body {n}']:10.4f}" for n in LEARNED)
        pair = min((n for n in fl if n.startswith("parts ")), key=fl.__getitem__)
        print(f"{stem:20s} {cells} {fl['parts']:7.4f}  {pair.removeprefix('parts ')}")


if __name__ == "__main__":
    main()
