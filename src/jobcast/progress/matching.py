"""Matching: thresholds and weights turn similarities into the Similar Executions Set."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jobcast.progress.parameters import ProgressParameters

__all__ = ["Match", "combine_similarities", "match", "match_masks"]

# Slack for comparing similarities with (lowered) thresholds in floating point.
_EPS = 1e-12


def combine_similarities(similarities: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted average ``sim_final`` over the measures that have data for each pair.

    Parameters
    ----------
    similarities
        Shape ``(..., M, E)``; NaN where a measure has no data for a pair.
    weights
        Shape ``(M,)``.

    Returns
    -------
    numpy.ndarray
        Shape ``(..., E)``; the weights of missing measures are left out and the
        others renormalised; NaN where no weighted measure has data.
    """
    present = ~np.isnan(similarities)
    # einsum over the measure axis: no (..., M, E) temporaries but the two inputs
    total = np.einsum("...me,m->...e", present.astype(np.float64), weights)
    weighted = np.einsum("...me,m->...e", np.where(present, similarities, 0.0), weights)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, weighted / np.where(total > 0, total, 1.0), np.nan)


def match_masks(
    similarities: np.ndarray,
    valid: np.ndarray,
    params: ProgressParameters,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Select the Similar Executions Set, lowering thresholds when it would be empty.

    Works on a batch of cases at once (leading axes), which parameter training uses.

    Parameters
    ----------
    similarities
        Shape ``(..., M, E)``; NaN where a measure has no data (never discards).
    valid
        Shape ``(..., E)``: executions that may be used at all (for example, ran at
        least as many iterations as the current one has finished).
    params
        Thresholds, weights, ``T_final`` and the lowering step.

    Returns
    -------
    mask : numpy.ndarray
        Shape ``(..., E)``: the selected executions.
    sim_final : numpy.ndarray
        Shape ``(..., E)``: combined similarity (NaN treated as 0).
    level : numpy.ndarray
        Shape ``(...)``: factor the thresholds were multiplied with (1 = not lowered).

    Notes
    -----
    Lowering multiplies every threshold (per measure and final) by ``1 - k * step``
    for ``k = 1, 2, ...``; an execution passes at level ``L`` when each of its
    similarities is at least ``L * T``. The largest level at which at least one
    valid execution passes is computed directly from the ratios ``s / T`` instead
    of looping over the levels.
    """
    weights, thresholds = params.weight_array, params.threshold_array
    # similarities of SMiPE's five measures only (computed before the context measure)
    weights, thresholds = weights[: similarities.shape[-2]], thresholds[: similarities.shape[-2]]
    # measures with weight 0 and threshold 0 change nothing; skipping them saves work
    used = (weights > 0) | (thresholds > 0)
    if not used.all():
        similarities = similarities[..., used, :]
        weights, thresholds = weights[used], thresholds[used]
    sim_final = np.nan_to_num(combine_similarities(similarities, weights), nan=0.0)
    active = thresholds > 0
    if active.any():
        limited = similarities[..., active, :]
        with np.errstate(invalid="ignore"):
            ratios = limited / thresholds[active][:, None]
        passing = np.where(np.isnan(ratios), np.inf, ratios).min(axis=-2)
    else:
        passing = np.full(sim_final.shape, np.inf)
    if params.final_threshold > 0:
        passing = np.minimum(passing, sim_final / params.final_threshold)
    passing = np.where(valid, passing, -np.inf)
    best = passing.max(axis=-1)
    step = params.lowering_step
    lowered = 1.0 - np.ceil((1.0 - np.minimum(best, 1.0)) / step - 1e-9) * step
    level = np.where(best >= 1.0 - _EPS, 1.0, np.maximum(lowered, 0.0))
    mask = valid & (passing >= level[..., None] - _EPS)
    return mask, sim_final, level


@dataclass(frozen=True, eq=False)
class Match:
    """The Similar Executions Set of one estimate.

    Attributes
    ----------
    indices
        Positions of the similar executions among the candidates.
    similarity
        Their ``sim_final``.
    level
        Factor the thresholds were lowered to (1.0 = not lowered).
    """

    indices: np.ndarray
    similarity: np.ndarray
    level: float


def match(similarities: np.ndarray, valid: np.ndarray, params: ProgressParameters) -> Match:
    """Match one current execution against ``E`` candidates.

    Parameters
    ----------
    similarities
        Shape ``(M, E)``, measures in the order of ``MEASURES``; NaN for missing data.
    valid
        Shape ``(E,)``: usable candidates.
    params
        The matching parameters.

    Returns
    -------
    Match
        Empty only when no candidate is valid.

    Examples
    --------
    >>> import numpy as np
    >>> p = ProgressParameters(thresholds=(0.9, 0, 0, 0, 0))
    >>> sims = np.full((5, 3), np.nan); sims[0] = [0.5, 0.7, 0.6]
    >>> m = match(sims, np.ones(3, bool), p)
    >>> m.indices.tolist(), round(m.level, 1)
    ([1], 0.7)
    """
    mask, sim_final, level = match_masks(similarities, valid, params)
    indices = np.flatnonzero(mask)
    return Match(indices=indices, similarity=sim_final[indices], level=float(level))
