"""K-means (Lloyd's algorithm) on generated Gaussian blobs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - typing only
    from pyspark import SparkContext

    from jobcast.workloads.base import IterationHook

__all__ = ["DEFAULT_SIZE", "DEFAULTS", "run"]

#: Points generated.
DEFAULT_SIZE = 100_000
#: ``k`` (clusters), ``dimensions``, ``iterations`` (at most), ``tol`` (stop when no
#: centre moves further), ``spread`` (blob standard deviation), ``seed``.
DEFAULTS: Mapping[str, Any] = MappingProxyType(
    dict(k=8, dimensions=4, iterations=15, tol=1e-3, spread=2.5, seed=0)
)
_CHANGED = -1  # key of the per-partition count of points that changed cluster


def generate_points(size: int, params: Mapping[str, Any]) -> np.ndarray:
    """``size`` points around ``k`` random centres."""
    rng = np.random.default_rng(int(params["seed"]))
    k, d = int(params["k"]), int(params["dimensions"])
    centres = rng.normal(0.0, 10.0, size=(k, d))
    members = rng.integers(0, k, size=size)
    return centres[members] + rng.normal(0.0, float(params["spread"]), size=(size, d))


def _closest(block: np.ndarray, centres: np.ndarray) -> np.ndarray:
    distances = ((block[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    return np.asarray(distances.argmin(axis=1))


def run(sc: SparkContext, hook: IterationHook, *, size: int, params: Mapping[str, Any]) -> None:
    """Run k-means; an iteration's records are the points that changed cluster."""
    parts = sc.defaultParallelism
    data = generate_points(size, params)
    rng = np.random.default_rng(int(params["seed"]) + 1)
    centres = data[rng.choice(size, size=int(params["k"]), replace=False)]
    previous: np.ndarray | None = None
    points = sc.parallelize([row.tolist() for row in data], parts).cache()
    tol = float(params["tol"])
    for i in range(int(params["iterations"])):
        hook.start(i)
        state = sc.broadcast((previous, centres))

        def partial_sums(
            rows: Iterable[list[float]], state: Any = state
        ) -> Iterator[tuple[int, tuple[Any, int]]]:
            old, current = state.value
            block = np.array(list(rows), dtype=float)
            if block.size == 0:
                return
            now = _closest(block, current)
            changed = len(now) if old is None else int((_closest(block, old) != now).sum())
            yield _CHANGED, (np.zeros(block.shape[1]), changed)
            for c in np.unique(now):
                yield int(c), (block[now == c].sum(axis=0), int((now == c).sum()))

        sums = (
            points.mapPartitions(partial_sums)
            .reduceByKey(lambda a, b: (a[0] + b[0], a[1] + b[1]))
            .collectAsMap()
        )
        state.unpersist()
        changed = int(sums.pop(_CHANGED, (None, 0))[1])
        new = centres.copy()
        for c, (total, count) in sums.items():
            if count:
                new[c] = total / count
        shift = float(np.sqrt(((new - centres) ** 2).sum(axis=1)).max())
        previous, centres = centres, new
        hook.finish(changed)
        if shift < tol:
            break
