"""Connected components by label propagation on a generated sparse random graph."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - typing only
    from pyspark import SparkContext

    from jobcast.workloads.base import IterationHook

__all__ = ["DEFAULT_SIZE", "DEFAULTS", "run"]

#: Vertices in the generated graph.
DEFAULT_SIZE = 10_000
#: ``iterations`` (at most), ``degree`` (mean vertex degree; near 1 the components are long
#: chains that take many iterations), ``seed``.
DEFAULTS: Mapping[str, Any] = MappingProxyType(dict(iterations=30, degree=2.5, seed=0))


def generate_edges(size: int, *, degree: float, seed: int) -> list[tuple[int, int]]:
    """Both directions of ``size * degree / 2`` random undirected edges."""
    rng = np.random.default_rng(seed)
    m = int(size * degree / 2)
    ends = rng.integers(0, size, size=(m, 2))
    ends = ends[ends[:, 0] != ends[:, 1]]
    both = np.concatenate([ends, ends[:, ::-1]])
    return [(int(a), int(b)) for a, b in both]


def run(sc: SparkContext, hook: IterationHook, *, size: int, params: Mapping[str, Any]) -> None:
    """Propagate the smallest vertex id; an iteration's records are the vertices relabelled."""
    parts = sc.defaultParallelism
    edges = (
        sc.parallelize(
            generate_edges(size, degree=float(params["degree"]), seed=int(params["seed"])), parts
        )
        .partitionBy(parts)
        .cache()
    )
    labels = sc.parallelize([(v, v) for v in range(size)], parts).partitionBy(parts).cache()
    for i in range(int(params["iterations"])):
        hook.start(i)
        messages = edges.join(labels).map(lambda kv: (kv[1][0], kv[1][1]))
        new = labels.union(messages).reduceByKey(min, parts).cache()
        changed = labels.join(new).filter(lambda kv: kv[1][0] != kv[1][1]).count()
        labels.unpersist()
        labels = new
        hook.finish(changed)
        if changed == 0:
            break
