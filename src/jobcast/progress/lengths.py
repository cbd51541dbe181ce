"""Runs of different lengths: candidates converted to the running execution's expected length.

SMiPE takes a candidate's remaining runtime as it ran. Where a job's runs differ in their
number of iterations (an iteration cap among its parameters, convergence before it), a
candidate capped at 8 iterations has two left in the middle of a run capped at 12, which
has six, and the estimate comes out a third of the truth. Here each candidate's remaining
runtime is multiplied by ``((N_c * N_hat / N_ctx - i) / (N_c - i)) ** length_strength``:
``i`` the iterations finished, ``N_c`` the candidate's own count, ``N_hat`` the run's
expected count, the mean of the candidates' counts weighted by their context similarity to
the run to the power :data:`LENGTH_SHARPNESS` (each context attribute's relevance learned
for the iteration count alone, :func:`length_relevance`), and ``N_ctx`` the same expected
count for the candidate's own context (:func:`length_pairs`). A candidate alike in context
to the run keeps its own count, so one that converged before its cap still says that runs
may; one capped elsewhere is stretched or shrunk to the run's expected count. Where the
runs all have one length, or no context attribute orders their lengths, every ratio is 1.

Training (:mod:`jobcast.progress.training`) decides: on a history of
:data:`jobcast.progress.few_runs.SMALL_HISTORY` executions or more whose lengths vary it
trains once on the candidates as they ran and once converted, and keeps the conversion
(``length_strength`` 1) only if its leave-one-out error is lower by :data:`MIN_LENGTH_GAIN`.
``benchmarks/bench_progress_lengths.py`` measured the remedy before it was built, and
``--relative`` the conversion relative to the candidate's context (docs/progress-accuracy.md).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from jobcast.progress.arrays import IterationArrays
from jobcast.progress.context import ContextAttributes, context_relevance, context_similarity

if TYPE_CHECKING:  # the report imports the simulations, which import this module
    from jobcast.progress.report import TrainingReport

__all__ = [
    "LENGTH_SHARPNESS",
    "MIN_LENGTH_GAIN",
    "chosen_length",
    "length_pairs",
    "length_ratios",
    "length_relevance",
    "with_lengths",
]

logger = logging.getLogger(__name__)

#: Power of the context similarity that weighs the candidates' counts in ``N_hat``: sharp,
#: so that the runs most alike in the attributes that order the lengths decide.
LENGTH_SHARPNESS = 32.0

#: The converted candidates are kept only if they lower the leave-one-out error by more
#: than this share.
MIN_LENGTH_GAIN = 0.02


def with_lengths(remaining: np.ndarray, ratio: np.ndarray | None, length: float) -> np.ndarray:
    """``remaining * ratio ** length``; ``remaining`` itself without ratios or at strength 0."""
    if ratio is None or length <= 0.0:
        return remaining
    return np.asarray(remaining * ratio**length)


def length_relevance(arrays: IterationArrays) -> np.ndarray | None:
    """Relevance of each context attribute for the runs' iteration counts, or None.

    None when the runs all have one length or carry no context attributes
    (:func:`jobcast.progress.context.context_relevance` with the count as the one target).
    """
    n_iter = np.asarray(arrays.n_iter, dtype=np.float64)
    if arrays.context is None or n_iter.size < 3 or np.all(n_iter == n_iter[0]):
        return None
    relevance = context_relevance(arrays.context, [n_iter])
    return relevance if bool((relevance > 0).any()) else None


def length_pairs(
    context: ContextAttributes | None, relevance: np.ndarray | None, n_executions: int
) -> np.ndarray | None:
    """``similarity ** LENGTH_SHARPNESS`` of every pair of executions, ``(E, E)``, or None.

    The similarity is the context similarity with the relevance learned for the
    iteration counts (:func:`length_relevance`); None without either.
    """
    if context is None or relevance is None:
        return None
    rows = []
    for e in range(n_executions):
        similarity = context_similarity(context.subset(np.array([e])), context, relevance)
        if similarity is None:
            return None
        rows.append(np.nan_to_num(similarity) ** LENGTH_SHARPNESS + 1e-9)
    return np.vstack(rows)


def length_ratios(
    current: ContextAttributes | None,
    candidates: ContextAttributes | None,
    n_iter: np.ndarray,
    finished: int,
    relevance: np.ndarray | None,
    pairs: np.ndarray | None = None,
) -> np.ndarray | None:
    """``(N_c * N_hat / N_ctx - i) / (N_c - i)`` per candidate (both at least 1), or None.

    Without ``pairs``, ``(N_hat - i) / (N_c - i)`` (every candidate to the run's expected
    count). None means every ratio is 1.

    Parameters
    ----------
    current
        The running execution's context attributes (one row).
    candidates
        The candidates' attributes, aligned with ``n_iter``.
    n_iter
        The candidates' iteration counts, shape ``(k,)``.
    finished
        Iterations the running execution has finished (``i``).
    relevance
        :func:`length_relevance` of the history (None: no conversion).
    pairs
        :func:`length_pairs` among the candidates, ``(k, k)``: each candidate relative to
        its own context's expected count ``N_ctx``.

    Examples
    --------
    >>> ctx = ContextAttributes(("cap",), {"cap": np.array([12.0, 8.0, 12.0])})
    >>> now = ContextAttributes(("cap",), {"cap": np.array([12.0])})
    >>> length_ratios(now, ctx, np.array([12, 8, 12]), 6, np.array([0.5])).round(2).tolist()
    [1.0, 3.0, 1.0]
    """
    if relevance is None or current is None or candidates is None or n_iter.size == 0:
        return None
    similarity = context_similarity(current, candidates, relevance)
    if similarity is None:
        return None
    counts = np.asarray(n_iter, dtype=np.float64)
    weights = np.nan_to_num(similarity) ** LENGTH_SHARPNESS + 1e-9
    expected = float(np.sum(weights * counts) / weights.sum())
    target: float | np.ndarray = expected
    if pairs is not None:
        # each candidate's count relative to its own context's expected count
        own = pairs @ counts / pairs.sum(axis=1)
        target = counts * expected / own
    return np.asarray(np.maximum(target - finished, 1.0) / np.maximum(counts - finished, 1.0))


def chosen_length(plain: TrainingReport, converted: TrainingReport) -> TrainingReport:
    """The training on converted candidates (``length_strength`` 1) if it errs clearly less.

    ``plain`` was trained on the candidates as they ran, ``converted`` on the same
    simulations converted to the expected length; the errors before training stay the
    paper's (``plain``'s).
    """
    keep = converted.error_after < (1.0 - MIN_LENGTH_GAIN) * plain.error_after
    logger.info(
        "Progress training: runs of different lengths, leave-one-out error %.4f with the "
        "candidates converted to the expected length, %.4f as they ran: %s.",
        converted.error_after, plain.error_after, "converted" if keep else "as they ran",
    )
    if not keep:
        note = (
            "runs of different lengths: with the candidates converted to the expected "
            f"length the leave-one-out error was {converted.error_after:.4f}, as they ran "
            f"{plain.error_after:.4f}; the conversion is kept only when it lowers the error "
            f"by {MIN_LENGTH_GAIN:.0%} or more, so the candidates count as they ran "
            "(length_strength 0)"
        )
        return replace(plain, notes=(*plain.notes, note))
    return replace(
        converted,
        params=converted.params.with_values(length_strength=1.0),
        error_before=plain.error_before,
        total_error_before=plain.total_error_before,
    )
