"""Few executions to train on: the defaults with two simple choices, and when to prefer them.

A dozen parameters fitted on a handful of runs follow those runs. Below
:data:`~jobcast.progress.report.MIN_TRAINING_EXECUTIONS` executions training keeps the
defaults but for two choices made by the leave-one-out error (:func:`simple_choice`):
the scale-out strength among the simulated ones, and the similar executions' weighted
mean (the paper's) or the weighted median that minimises the relative error. Up to
:data:`SMALL_HISTORY` executions, the trained parameters are kept only where they err
less than those simple choices out of fold (:func:`out_of_fold_errors`, used by
:func:`jobcast.progress.training.train_report`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from jobcast.progress.combine import case_estimates, mean_remaining_error, remaining_error
from jobcast.progress.fallback import (
    FALLBACK_FOLDS,
    MIN_GAIN,
    cross_fitted,
    out_of_fold_error,
    without_rows,
)
from jobcast.progress.parameters import ProgressParameters
from jobcast.progress.simulation import SimulationCases

__all__ = [
    "SMALL_HISTORY",
    "deployed_error",
    "out_of_fold_errors",
    "simple_choice",
    "simple_fit",
    "simple_options",
]

#: Below this many executions the trained parameters must beat the simple choices out of
#: fold (leave one execution out) to be kept.
SMALL_HISTORY = 12

# The shares of the weighted median tried.
_MEDIAN_SHARES = (0.0, 1.0)
# Relative difference of two leave-one-out errors below which they count as equal.
_TIE = 1e-9

Choice = tuple[float, float]


def simple_options(strengths: Mapping[float, object]) -> dict[Choice, ProgressParameters]:
    """The defaults at each simulated strength with the weighted mean or median."""
    return {
        (s, r): ProgressParameters(scale_out_strength=s, median_share=r)
        for s in strengths
        for r in _MEDIAN_SHARES
    }


def simple_choice(
    by_strength: Mapping[float, SimulationCases],
) -> tuple[Choice, dict[Choice, float]]:
    """The simple option with the least leave-one-out error, and every option's error.

    Ties (within rounding: one scale-out converts to itself at every strength, up to
    the last bits) keep the mean and the stronger conversion (the paper's); NaN
    (nothing to score) leaves the defaults.
    """
    options = simple_options(by_strength)
    errors = {k: mean_remaining_error(by_strength[k[0]], p) for k, p in options.items()}
    scored = {k: e for k, e in errors.items() if np.isfinite(e)}
    least = min(scored.values(), default=np.nan)
    choice = max(
        (k for k, e in scored.items() if e <= least * (1 + _TIE) + 1e-15),
        key=lambda k: (-k[1], k[0]),
        default=(max(by_strength), 0.0),
    )
    return choice, errors


def simple_fit(cases: SimulationCases) -> ProgressParameters:
    """The simple choice at the strength ``cases`` were simulated with: mean or median."""
    (strength, share), _ = simple_choice({cases.strength: cases})
    return ProgressParameters(scale_out_strength=strength, median_share=share)


def deployed_error(estimates: np.ndarray, cases: SimulationCases) -> float:
    """The error of estimates each made without its run, as training would deploy them.

    Training blends its estimates with the pace-scaled history mean where that lowers
    the error out of fold (:func:`jobcast.progress.fallback.learn_fallback`); so here
    the estimates are scored plain, and blended with weights fitted without the
    estimated run (:func:`jobcast.progress.fallback.out_of_fold_error`), and the
    blended error counts where it is lower by more than
    :data:`~jobcast.progress.fallback.MIN_GAIN` (and there are enough executions for
    training to blend at all). A case without an estimate counts as
    0 s remaining, as the errors score it.
    """
    columns = np.column_stack([estimates, cases.scaled_history_mean()])
    columns = np.where(np.isfinite(columns), columns, 0.0)
    plain = remaining_error(columns[:, 0], cases.actual_remaining)
    rows = np.unique(cases.current)
    if rows.size < 2 * FALLBACK_FOLDS:  # too few for learn_fallback to blend
        return plain
    blended = out_of_fold_error(columns, cases.actual_remaining, cases.current, rows.size)
    return blended if blended < (1.0 - MIN_GAIN) * plain else plain


def out_of_fold_errors(
    by_strength: Mapping[float, SimulationCases],
    chosen: SimulationCases,
    fit: Callable[[SimulationCases], ProgressParameters],
) -> tuple[float, float]:
    """Errors of training and of the simple choice, each made without the run it estimates.

    Leave one execution out: each execution's cases are estimated with parameters
    ``fit`` on ``chosen`` without it, and with the simple option chosen
    (:func:`simple_choice`) on the other executions; both are scored as
    :func:`deployed_error`. The training's own leave-one-out error cannot be
    compared with the simple choice's: a dozen parameters fitted to the same few
    runs always look better than two choices.

    Returns
    -------
    tuple
        ``(trained, simple)`` mean relative errors of the remaining runtime.
    """
    rows = np.unique(chosen.current)
    for cases in by_strength.values():
        if not np.array_equal(cases.current, chosen.current):
            raise ValueError("the simulations of the strengths hold different cases")
    trained = cross_fitted(chosen, fit, rows.size)
    simple = np.full(chosen.n_cases, np.nan)
    options = simple_options(by_strength)
    for row in rows:
        held = np.array([row])
        choice, _ = simple_choice({s: without_rows(c, held) for s, c in by_strength.items()})
        own = by_strength[choice[0]].only(row)
        simple[chosen.current == row] = case_estimates(own, options[choice])
    return deployed_error(trained, chosen), deployed_error(simple, chosen)
