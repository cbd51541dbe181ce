"""Speed of BELL's fit+predict (refitted per iteration by progress estimation).

Usage: python benchmarks/bench_models_bell.py

Prints microseconds per fit+predict of BellModel for histories of 3..40 distinct
scale-outs, and the ratio against a straightforward implementation of the same
interpolation cross-validation (one kernel bandwidth search per held-out
scale-out in a Python loop), measured side by side.
"""

from __future__ import annotations

import timeit

import numpy as np

from jobcast.models import BellModel
from jobcast.models.ernest import ernest_features, fit_nnls
from jobcast.models.kernel import (
    bandwidth_candidates,
    group_scale_outs,
    loo_bandwidth,
    nadaraya_watson,
)


def naive_fit_predict(m: np.ndarray, y: np.ndarray, query: np.ndarray) -> np.ndarray:
    points, means, counts = group_scale_outs(m, y)
    candidates = bandwidth_candidates(points, 40)
    ernest, kernel = [], []
    for i in range(1, len(points) - 1):
        train = np.arange(len(points)) != i
        theta = fit_nnls(ernest_features(points[train]), means[train], weights=counts[train])
        ernest.append(abs(float(ernest_features(points[i : i + 1])[0] @ theta) / means[i] - 1))
        h, _ = loo_bandwidth(points[train], means[train], counts[train], candidates)
        pred = nadaraya_watson(points[i : i + 1], points[train], means[train], counts[train], h)
        kernel.append(abs(float(pred[0]) / means[i] - 1))
    if np.mean(kernel) < np.mean(ernest):
        h, _ = loo_bandwidth(points, means, counts, candidates)
        return nadaraya_watson(query, points, means, counts, h)
    theta = fit_nnls(ernest_features(points), means, weights=counts)
    return ernest_features(query) @ theta


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"{'scale-outs':>10} {'BellModel us':>13} {'naive us':>10} {'speed-up':>9}")
    for k in (3, 5, 10, 20, 40):
        m = np.repeat(np.arange(1.0, k + 1), 2)
        y = (30 + 600 / m) * (1 + 0.02 * rng.standard_normal(len(m)))
        X = m[:, None]
        number = 50
        ours = timeit.timeit(lambda X=X, y=y: BellModel().fit(X, y).predict(X), number=number)
        naive = timeit.timeit(lambda m=m, y=y: naive_fit_predict(m, y, m), number=number)
        ours, naive = ours / number, naive / number
        print(f"{k:>10} {ours * 1e6:>13.0f} {naive * 1e6:>10.0f} {naive / ours:>8.1f}x")


if __name__ == "__main__":
    main()
