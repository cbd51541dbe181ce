"""The history-mean baseline: the other executions' mean remaining runtime from an iteration on."""

from __future__ import annotations

import numpy as np

__all__ = ["history_mean", "remaining_from", "suffix_runtimes"]


def suffix_runtimes(runtime: np.ndarray) -> np.ndarray:
    """``out[e, i]``: seconds execution ``e`` ran from iteration ``i`` on, shape ``(E, N + 1)``.

    Missing iterations (NaN padding) count as 0 s, so past an execution's end it is 0.
    """
    plain = np.nan_to_num(np.asarray(runtime, dtype=np.float64), nan=0.0)
    suffix = np.cumsum(plain[:, ::-1], axis=1)[:, ::-1]
    return np.concatenate([suffix, np.zeros((len(plain), 1))], axis=1)


def remaining_from(suffix: np.ndarray, iteration: np.ndarray) -> np.ndarray:
    """``out[c, e]``: seconds execution ``e`` ran from case ``c``'s iteration on, ``(C, E)``."""
    return np.asarray(suffix[:, np.asarray(iteration, dtype=np.int64)].T)


def history_mean(remaining: np.ndarray, reached: np.ndarray, others: np.ndarray) -> np.ndarray:
    """The history-mean estimate of each case, shape ``(C,)``.

    The mean remaining runtime (from the case's iteration on) of the other
    executions that reached that iteration, as SMiPE's candidates must; all other
    executions when none did (those count as finished, 0 s remaining).

    Parameters
    ----------
    remaining
        Shape ``(C, E)``: :func:`remaining_from`.
    reached
        Shape ``(C, E)``: the execution ran at least the case's iterations.
    others
        Shape ``(C, E)``: the execution may be used (never the current one).

    Returns
    -------
    numpy.ndarray
        NaN for a case without any other execution.

    Examples
    --------
    >>> history_mean(np.array([[5.0, 7.0, 0.0]]), np.array([[True, True, False]]),
    ...              np.array([[True, True, True]])).tolist()
    [6.0]
    """
    use = reached & others
    use = np.where(use.any(axis=-1, keepdims=True), use, others)
    count = use.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(use, remaining, 0.0).sum(axis=-1) / count)
