"""Inference: the remaining runtime from each similar execution, and their weighted average."""

from __future__ import annotations

import warnings

import numpy as np

__all__ = [
    "KIND_POWER",
    "adjusted",
    "adjustment_factors",
    "combine_estimates",
    "kind_factors",
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


#: Exponent ``p`` of the kind similarity ``(min(m_j, m_k) / max(m_j, m_k)) ** p`` of two
#: iterations' modelled runtimes in :func:`kind_factors`.
KIND_POWER = 2.0

# Log deviations from an iteration's median are clipped to +-this (a factor of 100), so
# that an iteration of (almost) 0 s does not scale the others to 0 or infinity.
_MAX_LOG_DEVIATION = float(np.log(100.0))


def kind_weights(past_model: np.ndarray, future_model: np.ndarray, power: float) -> np.ndarray:
    """Weights of the past iterations for each future one, shape ``(n, i)``, rows summing to 1.

    The recency weights ``1/x`` times the kind similarity ``(min / max) ** power`` of
    the iterations' modelled runtimes: a long iteration is judged by the past long
    ones, a short one by the short ones.

    Examples
    --------
    >>> kind_weights(np.array([100.0, 1.0]), np.array([100.0]), 2.0).round(4).tolist()
    [[0.9998, 0.0002]]
    """
    weights = recency_weights(past_model.shape[0])
    hi = np.maximum.outer(future_model, past_model)
    lo = np.minimum.outer(future_model, past_model)
    with np.errstate(invalid="ignore", divide="ignore"):
        kind = np.where(hi > 0, lo / np.where(hi > 0, hi, 1.0), 1.0) ** power
    w = np.nan_to_num(kind) * weights[None, :]
    total = w.sum(axis=1, keepdims=True)
    return np.asarray(np.where(total > 0, w / np.where(total > 0, total, 1.0),
                               weights / weights.sum()))


def kind_factors(
    current_base: np.ndarray,
    base: np.ndarray,
    *,
    i: int,
    past_model: np.ndarray,
    future_model: np.ndarray,
    raw: np.ndarray,
    power: float = KIND_POWER,
) -> np.ndarray:
    """``f_total`` per similar execution, each future iteration adjusted as its kind carries over.

    SMiPE scales every remaining iteration of a similar execution by one factor, the
    mean ratio ``current / similar`` over the past iterations. An iterative job mixes
    kinds of iterations (gbt: three long tree-building ones, many short ones, two long
    final ones), and how much slower the current execution ran its short iterations
    says little about its long ones; nor does every kind carry its deviations over.
    Here, on the candidates' scale-out-normalised runtimes:

    1. ``d[e, j]``: the log deviation of execution ``e``'s iteration ``j`` from that
       iteration's median over the candidates; ``c[k]`` the current execution's;
    2. for each future iteration ``j``, ``D[e, j]`` and ``C[j]``: the past deviations
       averaged with :func:`kind_weights`;
    3. ``beta_j`` in [0, 1]: the slope of ``d[:, j]`` on ``D[:, j]`` across the
       candidates (how far the past deviations of its kind carried over to
       iteration ``j`` in the history; 0 with fewer than 3 candidates), shrunk by
       ``(1 - 1/t^2)+`` with ``t`` its t statistic, so that a slope the candidates
       do not support (few of them, a weak relation) is damped towards 0;
    4. candidate ``e``'s iteration ``j`` scaled by ``exp(beta_j (C[j] - D[e, j]))``.

    Returned is the runtime-weighted mean of those per-iteration factors, so that
    ``raw * factor`` is the adjusted remaining runtime and
    :func:`adjusted` damps it as before.

    Parameters
    ----------
    current_base
        Shape ``(i,)``: the current execution's past runtimes divided by the
        scale-out model at the scale-out each ran with.
    base
        Shape ``(k, N)``: the candidates' normalised runtimes (0 where padded).
    i
        Finished iterations.
    past_model, future_model
        Shapes ``(i,)`` and ``(N - i,)``: the scale-out models' runtimes of the past
        and future iterations at the current scale-out; times the candidates' median
        normalised runtimes, the iterations' kinds.
    raw
        Shape ``(k,)``: ``(base[:, i:] * future_model).sum(axis=1)``.
    power
        Exponent of the kind similarity; 0 judges every iteration by all past ones.

    Returns
    -------
    numpy.ndarray
        Shape ``(k,)`` (1 where a candidate has nothing left).
    """
    lim = _MAX_LOG_DEVIATION
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        # an iteration no candidate ran has no median: its deviations stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        logs = np.where(base > 0, np.log(np.where(base > 0, base, 1.0)), np.nan)
        median = np.nanmedian(logs, axis=0)
        dev = np.clip(logs - median[None, :], -lim, lim)
        cur = np.clip(np.log(np.maximum(current_base, 1e-300)) - median[:i], -lim, lim)
    # the kinds: the candidates' median runtimes at the current scale-out (the same
    # whatever the scale-out models' strength)
    typical = np.nan_to_num(np.exp(median))
    weights = kind_weights(typical[:i] * past_model, typical[i:] * future_model, power)
    past_d = np.nan_to_num(dev[:, :i]) @ weights.T
    past_c = weights @ np.nan_to_num(cur)
    future = dev[:, i:]
    have = np.isfinite(future)
    n = have.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_d = np.where(have, past_d, 0.0).sum(axis=0) / n
        mean_f = np.where(have, future, 0.0).sum(axis=0) / n
        cov = np.where(have, (past_d - mean_d) * (future - mean_f), 0.0).sum(axis=0)
        var = np.where(have, (past_d - mean_d) ** 2, 0.0).sum(axis=0)
        beta = np.where((var > 1e-12) & (n >= 3), cov / var, 0.0)
        # shrunk by (1 - 1/t^2)+, t the slope's t statistic: a slope the candidates
        # do not support (few of them, or a weak relation) is damped towards 0
        var_f = np.where(have, (future - mean_f) ** 2, 0.0).sum(axis=0)
        r2 = np.clip(cov**2 / (var * var_f), 0.0, 1.0 - 1e-9)
        t2 = r2 * np.maximum(n - 2, 0) / (1.0 - r2)
        beta = beta * np.clip(1.0 - 1.0 / np.maximum(t2, 1e-12), 0.0, 1.0)
    beta = np.clip(np.nan_to_num(beta), 0.0, 1.0)
    per_iteration = np.exp(beta[None, :] * (past_c[None, :] - past_d))
    runtimes = np.where(have, base[:, i:], 0.0) * future_model[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.einsum("kn,kn->k", runtimes, per_iteration) / raw
    return np.asarray(np.where(raw > 0, out, 1.0))


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
