"""A noise floor on the paper's metric: the part of the last iterations no estimate can foresee.

``bench_progress_floor.py`` scores oracles that are *told* part of the truth and learn the
rest; a learner is never the best possible one, so those floors bound the reachable error
from above only. This benchmark estimates the floor from the other side, from the noise in
the data, under one stated assumption:

* **What a run's last iterations share is all that anything known earlier could
  predict; what they do not share is noise.** A slow cluster, a large input or a bad
  scale-out slows every one of them, so whatever the past announces moves them together.
  Write ``log d_j = f + e_j`` for each of the last ``k`` iterations ``j`` of a run, with
  ``f`` what they share and the ``e_j`` independent of each other and of the past. Then
  the covariance of two of them across runs is ``Var f`` and the noise of each is
  ``Var e_j = Var log d_j - Var f`` (here ``Var f`` is the mean covariance of the pairs).

An estimator at a sample point that knew every remaining iteration exactly except the
noise of the last ``k`` (the rest of the run, every later rescaling and ``f`` itself)
still has to predict ``sum_j p_j exp(e_j)``; its best estimate is the value that minimises
the expected relative error of the remaining runtime (the median weighted by
``1 / remaining``), computed here from seeded normal draws of the ``e_j``, with the run's
observed last iterations as their scale ``p_j``. The mean of that error over the
protocol's sample points (3 per run, 15 % padding, as ``evaluate progress``) is the
``noise floor``; a bootstrap over the runs gives its 5-95 % interval.

The assumption can fail both ways: noise that is negatively correlated between the last
iterations hides a shared part (the floor is then too high), and a predictable part that
differs between them counts as noise (too high as well), while a shared part the past
cannot announce (the cluster's state at the end of the run) counts as predictable (too
low). So it is an estimate, not a bound; it says how much of the error is noise no
matching removes, if the last iterations' shared part were foreseen perfectly.

Run: .venv/bin/python benchmarks/bench_progress_noise_floor.py [--last K] [--bootstrap B] [FILE ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from jobcast.evaluation.progress import read_ellis_trace
from jobcast.progress.combine import weighted_median
from jobcast.progress.simulation import sample_iterations

ELLIS = Path(__file__).resolve().parents[2] / "shared" / "data" / "ellis"


def durations(path: str | Path) -> np.ndarray:
    """The trace's iteration runtimes in seconds, one row per run (runs of one length only)."""
    frame = read_ellis_trace(path).sort_values(["execution", "iteration"])
    lengths = frame.groupby("execution").size()
    if lengths.nunique() != 1:
        raise SystemExit(
            f"error: {path}: the runs have {lengths.nunique()} different lengths "
            f"({lengths.min()}-{lengths.max()} iterations); this floor needs runs of one length."
        )
    return frame["duration_s"].to_numpy(dtype=np.float64).reshape(len(lengths), -1)


def noise_variances(logs: np.ndarray) -> np.ndarray:
    """Per column of ``logs`` (runs x the last k iterations): its variance minus what it shares.

    What a column shares is the mean covariance of all pairs of columns (clipped at 0, a
    negative covariance shares nothing); the result is clipped at 0 too.
    """
    if logs.shape[1] < 2:
        raise ValueError("the noise of the last iterations needs at least two of them (k >= 2)")
    cov = np.cov(logs, rowvar=False)
    pairs = cov[np.triu_indices_from(cov, k=1)]
    shared = max(float(pairs.mean()), 0.0)
    return np.clip(np.diag(cov) - shared, 0.0, None)


def best_relative_error(actual: np.ndarray) -> float:
    """The expected relative error of the best single estimate of draws ``actual``.

    The best estimate is the median of ``actual`` weighted by ``1 / actual``.
    """
    estimate = weighted_median(actual, 1.0 / actual)
    return float(np.mean(np.abs(estimate - actual) / actual))


def noise_floor(
    runtimes: np.ndarray, *, last: int = 2, draws: int = 2000, seed: int = 0,
    n_samples: int = 3, padding: float = 0.15,
) -> tuple[float, np.ndarray]:
    """The noise floor of ``runtimes`` (runs x iterations) and the noise's sd per last iteration."""
    n_iter = runtimes.shape[1]
    if not 2 <= last < n_iter:
        raise ValueError(f"last must lie in [2, {n_iter - 1}], got {last}")
    sds = np.sqrt(noise_variances(np.log(runtimes[:, -last:])))
    noise = np.exp(np.random.default_rng(seed).standard_normal((draws, last)) * sds)
    errors = []
    for run in runtimes:
        tail = noise @ run[-last:]
        for i in sample_iterations(n_iter, n_samples, padding):
            known = run[i:n_iter - last].sum() if i < n_iter - last else 0.0
            errors.append(best_relative_error(known + tail))
    return float(np.mean(errors)), sds


def bootstrap(runtimes: np.ndarray, *, last: int, rounds: int, seed: int = 1) -> np.ndarray:
    """Noise floors of ``rounds`` resamples of the runs (with replacement)."""
    rng = np.random.default_rng(seed)
    picks = (rng.integers(0, len(runtimes), len(runtimes)) for _ in range(rounds))
    return np.array([noise_floor(runtimes[p], last=last, draws=500)[0] for p in picks])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path,
                        default=[ELLIS / "gbt.csv", ELLIS / "logisticregression.csv"])
    parser.add_argument("--last", type=int, default=2, help="last iterations taken as noisy (2)")
    parser.add_argument("--bootstrap", type=int, default=200, help="bootstrap rounds (200)")
    args = parser.parse_args()
    missing = [str(f) for f in args.files if not f.exists()]
    if missing:
        sys.exit(f"error: no such trace: {', '.join(missing)}")
    print("paper's metric (remaining runtime), 3 sample points per run, 15 % padding")
    print(f"{'trace':<22} {'runs':>4} {'corr':>6} {'noise sd':>17} {'noise floor':>11} "
          f"{'5-95 % (bootstrap)':>19}")
    for path in args.files:
        runtimes = durations(path)
        logs = np.log(runtimes[:, -args.last:])
        corr = np.corrcoef(logs, rowvar=False)[np.triu_indices(args.last, k=1)].mean()
        floor, sds = noise_floor(runtimes, last=args.last)
        low, high = np.percentile(bootstrap(runtimes, last=args.last, rounds=args.bootstrap),
                                  [5, 95])
        sd_text = " / ".join(f"{s:.3f}" for s in sds)
        print(f"{path.stem:<22} {len(runtimes):>4} {corr:>6.3f} {sd_text:>17} {floor:>11.4f} "
              f"{f'{low:.4f}-{high:.4f}':>19}")


if __name__ == "__main__":
    main()
