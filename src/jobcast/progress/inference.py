"""Inference: the remaining runtime from each similar execution, and their weighted average."""

from __future__ import annotations

import numpy as np

__all__ = [
    "adjusted",
    "adjustment_factors",
    "combine_estimates",
    "recency_weights",
    "remaining_estimates",
]


def recency_weights(n_past: int) -> np.ndarray:
    """Weights ``1/x`` of the past iterations ``0..n_past-1``, ``x = 1`` for the latest.

    Examples
    --------
    >>> recency_weights(3).tolist()
    [0.3333333333333333, 0.5, 1.0]
    """
    return 1.0 / np.arange(n_past, 0, -1, dtype=np.float64)


def adjustment_factors(current: np.ndarray, similar: np.ndarray) -> np.ndarray:
    """``f_total``: how much slower the current execution runs than each similar one.

    ``current`` and ``similar`` are the arrays that
    :func:`jobcast.progress.similarity.runtime_similarity` compares (the similar
    executions' runtimes converted to the current scale-out of each iteration), shape
    ``(i,)`` and ``(k, i)``. Returns shape ``(k,)``: the average of ``runtime_current /
    runtime_similar`` over the past iterations with recency weights ``1/x`` (the latest
    iteration counts most).
    """
    weights = recency_weights(current.shape[0])
    # einsum rather than @: a threaded BLAS matrix-vector product is slower here
    return np.einsum("ki,i->k", current[None, :] / similar, weights / weights.sum())


def adjusted(factors: np.ndarray, strength: float) -> np.ndarray:
    """Damped adjustment factors ``1 + strength (f_total - 1)`` (strength 1: the paper's)."""
    return 1.0 + strength * (np.asarray(factors, dtype=np.float64) - 1.0)


def remaining_estimates(
    future_base: np.ndarray, future_model: np.ndarray, factors: np.ndarray | float
) -> np.ndarray:
    """Remaining runtime of the current execution according to each similar execution.

    The current execution is assumed to run as many iterations as the similar one;
    each remaining iteration of the similar execution is converted to the current
    scale-out with that iteration's scale-out model and scaled by ``f_total``.

    Parameters
    ----------
    future_base
        Shape ``(k, n)``: the similar executions' runtimes of iterations ``i..i+n-1``
        divided by the scale-out model's runtime at the scale-out they ran with
        (0 for iterations an execution did not have).
    future_model
        Shape ``(n,)``: the scale-out model's runtime of those iterations at the
        current execution's latest scale-out (assumed to stay).
    factors
        ``f_total`` per similar execution, shape ``(k,)`` (1.0: unadjusted).

    Returns
    -------
    numpy.ndarray
        Shape ``(k,)``, seconds.
    """
    return np.einsum("kn,n->k", future_base, future_model) * factors


def combine_estimates(estimates: np.ndarray, similarity: np.ndarray, exponent: float) -> float:
    """Average of per-execution estimates weighted by ``sim_final ** b``.

    Falls back to the plain mean when every similarity is 0.

    Examples
    --------
    >>> combine_estimates(np.array([10.0, 20.0]), np.array([1.0, 0.5]), 2.0)
    12.0
    """
    weights = np.power(np.clip(similarity, 0.0, 1.0), exponent)
    total = float(weights.sum())
    if total <= 0:
        return float(np.mean(estimates))
    return float(np.sum(estimates * weights) / total)
