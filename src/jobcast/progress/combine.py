"""Combining the similar executions' estimates into one remaining runtime, batched over cases."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from jobcast.errors import InputError
from jobcast.progress.matching import match_masks
from jobcast.progress.parameters import ProgressParameters

if TYPE_CHECKING:
    from jobcast.progress.simulation import SimulationCases

__all__ = [
    "MIN_ACTUAL_S",
    "case_estimates",
    "combine",
    "finish",
    "mean_remaining_error",
    "mean_total_error",
    "remaining_error",
    "remaining_errors",
    "scored_estimates",
    "set_weights",
    "weighted_median",
]

# Estimates below this share of their case's weighted mean count as this share in the
# 1/estimate weights of the median: a candidate that ended right where the current
# execution stands (remaining 0) would otherwise take all the weight.
_FLOOR = 0.01

#: The actual remaining runtime the paper's metric divides by is floored here, only so
#: that a hand-made case of 0 s remaining gives a large error, not a division by 0: a
#: sample point lies before a run's last iteration, which lasts at least
#: :data:`jobcast.progress.usable.MIN_DURATION_S`.
MIN_ACTUAL_S = 1e-9


def weighted_median(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted median along the last axis (the lower one where the halves tie).

    Parameters
    ----------
    values, weights
        Shape ``(..., E)``; weights >= 0, entries of weight 0 are ignored, rows
        without weight give NaN.

    Returns
    -------
    numpy.ndarray
        Shape ``(...)``.

    Examples
    --------
    >>> weighted_median(np.array([1.0, 2.0, 10.0]), np.array([1.0, 1.0, 1.0])).item()
    2.0
    >>> weighted_median(np.array([1.0, 2.0, 10.0]), np.array([3.0, 1.0, 1.0])).item()
    1.0
    """
    shape = values.shape
    flat_values = values.reshape(-1, shape[-1])
    flat_weights = weights.reshape(-1, shape[-1])
    rows = np.arange(flat_values.shape[0])
    order = np.argsort(flat_values, axis=-1)
    cum = np.cumsum(flat_weights[rows[:, None], order], axis=-1)
    total = cum[:, -1]
    below = np.minimum((cum < (0.5 - 1e-12) * total[:, None]).sum(axis=-1), shape[-1] - 1)
    out = flat_values[rows, order[rows, below]]
    return np.where(total > 0, out, np.nan).reshape(shape[:-1])


def set_weights(mask: np.ndarray, sim_final: np.ndarray, exponent: float) -> np.ndarray:
    """Weights ``sim_final ** b`` of the selected executions; equal ones where all are 0."""
    weights = np.power(np.clip(sim_final, 0.0, 1.0), exponent) * mask
    return np.where(weights.sum(axis=-1, keepdims=True) > 0, weights, mask * 1.0)


def combine(
    remaining: np.ndarray,
    mask: np.ndarray,
    *,
    sim_final: np.ndarray,
    params: ProgressParameters,
    robust: np.ndarray | float,
    history_mean: np.ndarray | float | None = None,
    scaled_mean: np.ndarray | float | None = None,
) -> np.ndarray:
    """One remaining runtime per case from its similar executions' estimates.

    ``(1 - beta) ((1 - rho) mean + rho median) + beta robust``: the mean weighted by
    ``sim_final ** b`` (the paper's), the weighted median that minimises the
    expected relative error of the remaining runtime when the similar executions'
    estimates are taken as its distribution (weights ``sim_final ** b /
    estimate``), and the robust estimate of all candidates; ``rho`` is
    ``params.median_share``, ``beta`` ``params.blend``; then ``lambda ((1 - gamma -
    sigma) out + gamma history_mean + sigma scaled_mean)`` with ``gamma``
    ``params.fallback``, ``sigma`` ``params.scaled_share`` and ``lambda``
    ``params.scale``.

    Parameters
    ----------
    remaining
        Shape ``(..., E)``: each candidate's (adjusted) remaining runtime.
    mask
        Shape ``(..., E)``: the Similar Executions Set of each case.
    sim_final
        Shape ``(..., E)``: combined similarities.
    params
        Exponent, median share and blend.
    robust
        Shape ``(...)``: the robust estimate of each case.
    history_mean
        Shape ``(...)``: the history-mean estimate of each case; needed when
        ``params.fallback > 0``.
    scaled_mean
        Shape ``(...)``: the pace-scaled history mean of each case; needed when
        ``params.scaled_share > 0``.

    Returns
    -------
    numpy.ndarray
        Shape ``(...)``, seconds (NaN only for a case without any selected execution).

    Raises
    ------
    jobcast.errors.InputError
        When ``params.fallback > 0`` and ``history_mean`` is None, or
        ``params.scaled_share > 0`` and ``scaled_mean`` is None.
    """
    weights = set_weights(mask, sim_final, params.exponent)
    values = np.where(mask, remaining, 0.0)
    total = weights.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (values * weights).sum(axis=-1) / total
    if params.median_share > 0:
        floor = _FLOOR * np.maximum(out, 0.0)[..., None]
        inverse = weights / np.maximum(np.maximum(values, floor), 1e-12)
        median = weighted_median(np.where(mask, values, np.inf), inverse)
        out = (1.0 - params.median_share) * out + params.median_share * median
    if params.blend > 0:
        out = (1.0 - params.blend) * out + params.blend * np.asarray(robust)
    return np.asarray(finish(out, params, history_mean, scaled_mean))


def finish(
    estimate: np.ndarray | float,
    params: ProgressParameters,
    history_mean: np.ndarray | float | None = None,
    scaled_mean: np.ndarray | float | None = None,
) -> np.ndarray:
    """The last step of :func:`combine`: the blend with the history means, then the scale.

    ``lambda ((1 - gamma - sigma) estimate + gamma history_mean + sigma scaled_mean)``.
    """
    out = np.asarray(estimate, dtype=np.float64)
    gamma, sigma = params.fallback, params.scaled_share
    if gamma > 0 and history_mean is None:
        raise InputError(
            f"fallback = {gamma} needs the history-mean estimates; pass history_mean "
            "(jobcast.progress.baseline.history_mean)."
        )
    if sigma > 0 and scaled_mean is None:
        raise InputError(
            f"scaled_share = {sigma} needs the pace-scaled history means; pass scaled_mean "
            "(jobcast.progress.baseline.scaled_history_mean)."
        )
    if gamma > 0 or sigma > 0:
        out = max(1.0 - gamma - sigma, 0.0) * out
        if gamma > 0:
            out = out + gamma * np.asarray(history_mean)
        if sigma > 0:
            out = out + sigma * np.asarray(scaled_mean)
    if params.scale != 1.0:
        out = params.scale * out
    return np.asarray(out)


def case_estimates(cases: SimulationCases, params: ProgressParameters) -> np.ndarray:
    """Remaining-runtime estimates of all simulated cases under ``params``, shape ``(C,)``."""
    mask, sim_final, _ = match_masks(cases.similarities, cases.valid, params)
    return combine(
        cases.remaining(params.adjustment, params.length_strength), mask,
        sim_final=sim_final, params=params, robust=cases.robust(params.adjustment),
        history_mean=cases.history_mean() if params.fallback > 0 else None,
        scaled_mean=cases.scaled_history_mean() if params.scaled_share > 0 else None,
    )


def scored_estimates(cases: SimulationCases, params: ProgressParameters) -> np.ndarray:
    """:func:`case_estimates` as the errors score them: a case without one counts as 0 s.

    A case that no other execution reached (the sample point of a run longer than all
    the others) has no estimate whatever the parameters; ``evaluate progress`` scores it
    as 0 s remaining, and so do the training's errors, which a single NaN would
    otherwise turn into NaN for every parameter set.
    """
    estimates = case_estimates(cases, params)
    return np.where(np.isfinite(estimates), estimates, 0.0)


def remaining_errors(estimate: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """The paper's metric case by case: ``|estimated - actual remaining| / actual remaining``.

    The one definition that training, its reports and ``evaluate progress`` score with.
    An estimate that is not finite (no similar execution reached the case: a user gets
    no ETA) counts as 0 s remaining, an error of 1, as the history mean's is there
    (:func:`scored_estimates`); the actual remaining runtime is floored at
    :data:`MIN_ACTUAL_S` in the denominator only.

    Parameters
    ----------
    estimate, actual
        Shape ``(C,)``: estimated and actual remaining runtimes, seconds.

    Returns
    -------
    numpy.ndarray
        Shape ``(C,)``.

    Examples
    --------
    >>> remaining_errors(np.array([12.0, np.nan]), np.array([10.0, 10.0])).tolist()
    [0.2, 1.0]
    """
    estimate = np.asarray(estimate, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    scored = np.where(np.isfinite(estimate), estimate, 0.0)
    return np.asarray(np.abs(scored - actual) / np.maximum(actual, MIN_ACTUAL_S))


def remaining_error(estimate: np.ndarray, actual: np.ndarray) -> float:
    """Mean of :func:`remaining_errors` over the cases (the paper's metric); NaN without any."""
    errors = remaining_errors(estimate, actual)
    return float(np.mean(errors)) if errors.size else float("nan")


def mean_remaining_error(cases: SimulationCases, params: ProgressParameters) -> float:
    """Mean ``|estimated - actual remaining| / actual remaining`` (the paper's metric)."""
    if not cases.n_cases:
        return float("nan")
    return remaining_error(case_estimates(cases, params), cases.actual_remaining)


def mean_total_error(cases: SimulationCases, params: ProgressParameters) -> float:
    """Mean ``|estimated - actual total| / actual total`` (the error of the total runtime)."""
    if not cases.n_cases:
        return float("nan")
    err = np.abs(scored_estimates(cases, params) - cases.actual_remaining) / cases.actual_total
    return float(np.mean(err))
