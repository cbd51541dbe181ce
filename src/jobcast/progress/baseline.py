"""The history-mean baseline (the other runs' mean remaining runtime) and its pace-scaled form."""

from __future__ import annotations

import numpy as np

__all__ = [
    "elapsed_at",
    "history_mean",
    "remaining_from",
    "scaled_history_mean",
    "suffix_runtimes",
]


def suffix_runtimes(runtime: np.ndarray) -> np.ndarray:
    """``out[e, i]``: seconds execution ``e`` ran from iteration ``i`` on, shape ``(E, N + 1)``.

    Missing iterations (NaN padding) count as 0 s, so past an execution's end it is 0.
    """
    plain = np.nan_to_num(np.asarray(runtime, dtype=np.float64), nan=0.0)
    suffix = np.cumsum(plain[:, ::-1], axis=1)[:, ::-1]
    return np.concatenate([suffix, np.zeros((len(plain), 1))], axis=1)


def elapsed_at(runtime: np.ndarray, iteration: np.ndarray) -> np.ndarray:
    """``out[c, e]``: seconds execution ``e`` ran before case ``c``'s iteration, ``(C, E)``.

    Missing iterations (NaN padding) count as 0 s.
    """
    plain = np.nan_to_num(np.asarray(runtime, dtype=np.float64), nan=0.0)
    prefix = np.concatenate([np.zeros((len(plain), 1)), np.cumsum(plain, axis=1)], axis=1)
    return np.asarray(prefix[:, np.asarray(iteration, dtype=np.int64)].T)


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


def scaled_history_mean(
    remaining: np.ndarray, elapsed_others: np.ndarray, elapsed: np.ndarray, use: np.ndarray
) -> np.ndarray:
    """The mean remaining runtime of ``use``, scaled by the current run's pace so far.

    ``mean(remaining) * elapsed / mean(elapsed_others)`` over the executions ``use``:
    a run that took 1.5x as long as they did for its finished iterations is
    expected to take 1.5x as long for the rest (a loaded machine, a larger input).

    Parameters
    ----------
    remaining, elapsed_others
        Shape ``(C, E)``: each execution's runtime from / before the case's iteration.
    elapsed
        Shape ``(C,)``: the current execution's runtime so far.
    use
        Shape ``(C, E)``: the executions to average over.

    Returns
    -------
    numpy.ndarray
        Shape ``(C,)``; NaN for a case without any execution to use, the plain mean
        where they ran 0 s so far.

    Examples
    --------
    >>> scaled_history_mean(np.array([[4.0, 8.0]]), np.array([[1.0, 3.0]]), np.array([4.0]),
    ...                     np.array([[True, True]])).tolist()
    [12.0]
    """
    count = use.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(use, remaining, 0.0).sum(axis=-1) / count
        before = np.where(use, elapsed_others, 0.0).sum(axis=-1) / count
        ratio = np.where(before > 0, np.asarray(elapsed) / np.where(before > 0, before, 1.0), 1.0)
    return np.asarray(mean * ratio)
