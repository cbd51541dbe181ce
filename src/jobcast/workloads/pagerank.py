"""PageRank on a generated power-law link graph, iterating until the ranks settle."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from operator import add
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - typing only
    from pyspark import SparkContext

    from jobcast.workloads.base import IterationHook

__all__ = ["DEFAULT_SIZE", "DEFAULTS", "run"]

#: Pages in the generated graph.
DEFAULT_SIZE = 10_000
#: ``iterations`` (at most), ``tol`` (a page's rank has settled when it moves less),
#: ``degree`` (out-links per page), ``damping``, ``seed``.
DEFAULTS: Mapping[str, Any] = MappingProxyType(
    dict(iterations=10, tol=1e-3, degree=5, damping=0.85, seed=0)
)


def generate_links(size: int, *, degree: int, seed: int) -> list[tuple[int, list[int]]]:
    """Out-links of ``size`` pages; targets follow a power law, plus a ring so none is orphaned."""
    rng = np.random.default_rng(seed)
    weights = np.arange(1, size + 1, dtype=float) ** -0.8
    weights /= weights.sum()
    permutation = rng.permutation(size)
    targets = permutation[rng.choice(size, size=(size, degree), p=weights)]
    links = []
    for page in range(size):
        out = set(targets[page].tolist())
        out.add((page + 1) % size)
        out.discard(page)
        links.append((page, sorted(out)))
    return links


def _contributions(item: tuple[int, tuple[list[int], float]]) -> Iterable[tuple[int, float]]:
    _, (targets, rank) = item
    share = rank / len(targets)
    return [(t, share) for t in targets]


def _scale(factor: float) -> Callable[[float], float]:
    return lambda r: r * factor


def run(sc: SparkContext, hook: IterationHook, *, size: int, params: Mapping[str, Any]) -> None:
    """Run PageRank; an iteration's records are the pages whose rank still moved by ``tol``."""
    parts = sc.defaultParallelism
    damping = float(params["damping"])
    tol = float(params["tol"])
    links = (
        sc.parallelize(
            generate_links(size, degree=int(params["degree"]), seed=int(params["seed"])), parts
        )
        .partitionBy(parts)
        .cache()
    )
    ranks = links.mapValues(lambda _: 1.0).cache()
    for i in range(int(params["iterations"])):
        hook.start(i)
        new = (
            links.join(ranks)
            .flatMap(_contributions)
            .reduceByKey(add, parts)
            .mapValues(lambda r: (1.0 - damping) + damping * r)
            .cache()
        )
        # a second job per iteration: the rank mass, to renormalise when it drifts (no
        # dangling pages here, so it stays at the page count; the check is the point)
        mass = new.values().sum()
        if abs(mass - size) > 1e-6 * size:
            new = new.mapValues(_scale(size / mass)).cache()
        changed = ranks.join(new).filter(lambda kv: abs(kv[1][0] - kv[1][1]) > tol).count()
        ranks.unpersist()
        ranks = new
        hook.finish(changed)
        if changed == 0:
            break
