"""The learned fallback towards the history mean: its share chosen on cross-fitted estimates."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from jobcast.progress.combine import case_estimates, mean_remaining_error
from jobcast.progress.parameters import ProgressParameters
from jobcast.progress.simulation import SimulationCases

__all__ = ["FALLBACK_FOLDS", "FALLBACK_GRID", "LARGE_FALLBACK", "learn_fallback", "without_rows"]

logger = logging.getLogger(__name__)

#: Shares ``gamma`` of the history-mean estimate tried.
FALLBACK_GRID = tuple(round(float(g), 10) for g in np.linspace(0.0, 1.0, 21))

#: Folds of executions the estimates that choose ``gamma`` are cross-fitted over.
FALLBACK_FOLDS = 3

#: From this share on, the training notes say the estimate falls back to the history mean.
LARGE_FALLBACK = 0.5


def without_rows(cases: SimulationCases, rows: np.ndarray) -> SimulationCases:
    """Drop the executions ``rows`` both as current executions and as candidates."""
    kept = cases._select(~np.isin(cases.current, rows))
    valid = kept.valid.copy()
    valid[:, rows] = False
    return replace(kept, valid=valid)


def _cross_fitted(
    cases: SimulationCases,
    fit: Callable[[SimulationCases], ProgressParameters],
    folds: int,
) -> np.ndarray:
    """Each case estimated with parameters fitted without its fold's executions (no fallback)."""
    rows = np.unique(cases.current)
    out = np.full(cases.n_cases, np.nan)
    for k in range(folds):
        held = rows[k::folds]
        params = fit(without_rows(cases, held)).with_values(fallback=0.0)
        own = np.isin(cases.current, held)
        out[own] = case_estimates(cases._select(own), params)
    return out


def learn_fallback(
    cases: SimulationCases,
    params: ProgressParameters,
    *,
    fit: Callable[[SimulationCases], ProgressParameters],
    folds: int = FALLBACK_FOLDS,
) -> tuple[ProgressParameters, float, list[str]]:
    """Choose the share ``gamma`` of the history-mean estimate (``params.fallback``).

    The leave-one-out error of the estimates made with ``params`` is optimistic: the
    same executions chose them. So each execution is estimated with parameters
    ``fit`` trained without its fold (executions interleaved over ``folds``
    folds), and ``gamma`` is the value of :data:`FALLBACK_GRID` whose blend
    ``(1 - gamma) estimate + gamma history_mean`` has the lowest mean relative
    error of the remaining runtime on those estimates (the smallest on ties: 0
    keeps the estimate). Where similarity matching predicts worse than the plain
    history mean, ``gamma`` is large.

    Parameters
    ----------
    cases
        Leave-one-out simulations the parameters were trained on.
    params
        The trained parameters (their ``fallback`` is replaced).
    fit
        Training on a subset of the simulations, returning parameters.
    folds
        Folds of executions; fewer than 2 executions per fold keep ``gamma = 0``.

    Returns
    -------
    tuple
        The parameters, their leave-one-out error and a note when ``gamma`` is at
        least :data:`LARGE_FALLBACK`.
    """
    rows = np.unique(cases.current)
    base = params.with_values(fallback=0.0)
    if folds < 2 or rows.size < 2 * folds:
        return base, mean_remaining_error(cases, base), []
    estimate = _cross_fitted(cases, fit, folds)
    mean = cases.history_mean()
    actual = np.maximum(cases.actual_remaining, 1e-9)
    usable = np.isfinite(estimate) & np.isfinite(mean)
    if not usable.any():
        return base, mean_remaining_error(cases, base), []
    errors = [
        float(np.mean(np.abs((1 - g) * estimate[usable] + g * mean[usable]
                             - cases.actual_remaining[usable]) / actual[usable]))
        for g in FALLBACK_GRID
    ]
    best = int(np.argmin(np.round(errors, 12)))
    gamma = FALLBACK_GRID[best]
    chosen = params.with_values(fallback=gamma)
    logger.info(
        "Progress training: cross-fitted error %.4f without fallback, %.4f with gamma = %g.",
        errors[0], errors[best], gamma,
    )
    notes = []
    if gamma >= LARGE_FALLBACK:
        notes.append(
            f"similarity matching predicts this history's remaining runtimes worse than the "
            f"plain history mean: the estimate falls back towards the history mean "
            f"(fallback gamma = {gamma:g}; cross-fitted error {errors[best]:.4f} against "
            f"{errors[0]:.4f} without)"
        )
    return chosen, mean_remaining_error(cases, chosen), notes
