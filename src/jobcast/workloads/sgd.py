"""Linear regression by mini-batch stochastic gradient descent on generated data."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - typing only
    from pyspark import SparkContext

    from jobcast.workloads.base import IterationHook

__all__ = ["DEFAULT_SIZE", "DEFAULTS", "run"]

#: Observations generated.
DEFAULT_SIZE = 100_000
#: ``features``, ``iterations`` (at most), ``fraction`` (mini-batch share of the rows),
#: ``step`` (learning rate), ``tol`` (stop when the gradient norm falls below), ``noise``,
#: ``seed``.
DEFAULTS: Mapping[str, Any] = MappingProxyType(
    dict(features=10, iterations=15, fraction=0.3, step=0.5, tol=1e-3, noise=0.1, seed=0)
)


def generate_rows(size: int, params: Mapping[str, Any]) -> list[list[float]]:
    """Rows ``[y, x_1, ..., x_f]`` with ``y = x . w + noise`` for a random ``w``."""
    rng = np.random.default_rng(int(params["seed"]))
    f = int(params["features"])
    x = rng.normal(size=(size, f))
    w = rng.normal(size=f)
    y = x @ w + rng.normal(0.0, float(params["noise"]), size=size)
    return np.column_stack([y, x]).tolist()  # type: ignore[no-any-return]


def run(sc: SparkContext, hook: IterationHook, *, size: int, params: Mapping[str, Any]) -> None:
    """Run SGD; an iteration's records are the rows of its mini-batch."""
    parts = sc.defaultParallelism
    rows = sc.parallelize(generate_rows(size, params), parts).cache()
    weights = np.zeros(int(params["features"]))
    seed = int(params["seed"])
    for i in range(int(params["iterations"])):
        hook.start(i)
        current = sc.broadcast(weights)

        def gradient(
            part: Iterable[list[float]], current: Any = current
        ) -> Iterator[tuple[np.ndarray, int]]:
            block = np.array(list(part), dtype=float)
            if block.size == 0:
                return
            y, x = block[:, 0], block[:, 1:]
            yield x.T @ (x @ current.value - y), len(block)

        grad, count = (
            rows.sample(False, float(params["fraction"]), seed + i)
            .mapPartitions(gradient)
            .reduce(lambda a, b: (a[0] + b[0], a[1] + b[1]))
        )
        current.unpersist()
        grad = grad / max(count, 1)
        weights = weights - float(params["step"]) * grad
        hook.finish(count)
        if float(np.linalg.norm(grad)) < float(params["tol"]):
            break
