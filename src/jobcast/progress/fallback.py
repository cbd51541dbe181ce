"""The learned blend with the history means and its scale, chosen on cross-fitted estimates."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from jobcast.progress.combine import (
    MIN_ACTUAL_S,
    case_estimates,
    mean_remaining_error,
    remaining_error,
)
from jobcast.progress.parameters import MAX_SCALE, ProgressParameters
from jobcast.progress.simulation import SimulationCases

__all__ = [
    "COMPONENTS",
    "FALLBACK_FOLDS",
    "LARGE_FALLBACK",
    "MIN_GAIN",
    "blend_weights",
    "capped",
    "cross_fitted",
    "learn_fallback",
    "out_of_fold_error",
    "without_rows",
]

logger = logging.getLogger(__name__)

#: Folds of executions the estimates that choose ``gamma`` are cross-fitted over.
FALLBACK_FOLDS = 3

#: A blend is kept only if it lowers the error out of fold by more than this share.
MIN_GAIN = 0.01

#: From this share ``sigma`` on, the training notes say the estimate falls back towards the
#: pace-scaled history mean.
LARGE_FALLBACK = 0.5


def without_rows(cases: SimulationCases, rows: np.ndarray) -> SimulationCases:
    """Drop the executions ``rows`` both as current executions and as candidates."""
    kept = cases._select(~np.isin(cases.current, rows))
    valid = kept.valid.copy()
    valid[:, rows] = False
    return replace(kept, valid=valid)


def cross_fitted(
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


#: Components training blends (:func:`blend_weights`): the estimate and the pace-scaled
#: history mean. The plain history mean (``fallback``) is not among them: on every
#: history measured the pace-scaled one did as well or better in its place, and a third
#: weight fitted on a few dozen cross-fitted estimates follows their noise.
COMPONENTS = ("estimate", "scaled")


def blend_weights(columns: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Non-negative weights ``w`` minimising ``mean |columns @ w - actual| / actual``.

    The paper's metric, the relative error of the remaining runtime, is linear in
    ``w`` case by case, so the weights are the solution of a linear program. They
    need not sum to 1: their sum is the scale of the blend, below 1 where the
    remaining runtime is too uncertain for an unbiased estimate to be the best one.

    Parameters
    ----------
    columns
        Shape ``(C, K)``: each component's estimate of each case (finite).
    actual
        Shape ``(C,)``: the actual remaining runtimes (> 0).

    Returns
    -------
    numpy.ndarray
        Shape ``(K,)``; all 0 when the program fails.

    Examples
    --------
    >>> blend_weights(np.array([[2.0], [4.0]]), np.array([1.0, 2.0])).round(6).tolist()
    [0.5]
    """
    from scipy.optimize import linprog

    n, k = columns.shape
    # the metric's denominator (combine.remaining_errors); target is 1 but where it is floored
    denominator = np.maximum(actual, MIN_ACTUAL_S)
    scaled = columns / denominator[:, None]
    target = actual / denominator
    eye = np.eye(n)
    # variables: w (k), u (n) with u_c >= |scaled_c @ w - target_c|; minimise sum u
    cost = np.concatenate([np.zeros(k), np.full(n, 1.0 / n)])
    a_ub = np.block([[scaled, -eye], [-scaled, -eye]])
    b_ub = np.concatenate([target, -target])
    result = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=[(0, None)] * (k + n), method="highs")
    if not result.success:
        return np.zeros(k)
    return np.asarray(result.x[:k], dtype=np.float64)


def capped(weights: np.ndarray) -> np.ndarray:
    """The weights scaled down so that their sum, the blend's scale, is at most MAX_SCALE."""
    total = float(weights.sum())
    return weights * min(1.0, MAX_SCALE / total) if total > 0 else weights


def out_of_fold_error(
    columns: np.ndarray, actual: np.ndarray, groups: np.ndarray, folds: int
) -> float:
    """Mean relative error of blends each fitted without the fold it is applied to.

    The weights of :func:`blend_weights` fitted and scored on the same estimates
    score better than they will do on new runs; here each fold of executions
    (``groups`` interleaved over ``folds``, as the cross-fitting does) is blended
    with weights fitted on the other folds only, so the error is that of a blend
    that has not seen the estimates it is scored on.

    Parameters
    ----------
    columns
        Shape ``(C, K)``: each component's estimate of each case (finite).
    actual
        Shape ``(C,)``: the actual remaining runtimes (> 0).
    groups
        Shape ``(C,)``: the execution of each case.
    folds
        Folds of executions (>= 2).

    Returns
    -------
    float
        ``mean |blend - actual| / actual`` over all cases.

    Examples
    --------
    >>> columns = np.array([[2.0, 1.0], [4.0, 2.0], [6.0, 3.0], [8.0, 4.0]])
    >>> out_of_fold_error(columns, columns[:, 1], np.arange(4), 2)
    0.0
    """
    rows = np.unique(groups)
    blended = np.empty(len(actual))
    for k in range(folds):
        held = np.isin(groups, rows[k::folds])
        weights = blend_weights(columns[~held], actual[~held]) if (~held).any() else None
        if weights is None or not weights.sum() > 0:
            weights = np.eye(columns.shape[1])[0]  # nothing to fit on: the estimate as is
        blended[held] = columns[held] @ capped(weights)
    return remaining_error(blended, actual)


def learn_fallback(
    cases: SimulationCases,
    params: ProgressParameters,
    *,
    fit: Callable[[SimulationCases], ProgressParameters],
    folds: int = FALLBACK_FOLDS,
) -> tuple[ProgressParameters, float, list[str]]:
    """Blend the estimate with the pace-scaled history mean: ``scaled_share`` and ``scale``.

    The leave-one-out error of the estimates made with ``params`` is optimistic: the
    same executions chose them. So each execution is estimated with parameters
    ``fit`` trained without its fold (executions interleaved over ``folds``
    folds), and the blend ``lambda ((1 - sigma) estimate + sigma scaled)`` is the
    one with the lowest mean relative error of the remaining runtime on those
    estimates (non-negative weights of the two, :func:`blend_weights`; ``lambda``
    their sum, at most 4; ``fallback`` is set to 0). Where similarity matching
    predicts worse than the other runs' remaining runtime scaled by the run's pace so
    far (:func:`jobcast.progress.baseline.scaled_history_mean`), ``sigma`` is large;
    where the remaining runtime is very uncertain, ``lambda`` is below 1. The blend
    is kept only if it lowers that error by more than 1 % out of fold (each fold
    blended with weights fitted on the other folds' estimates,
    :func:`out_of_fold_error`; else the estimate stays as is): weights fitted and
    scored on the same estimates look better than they are, and on the Ellis
    histories such an in-sample check kept blends that raised the nested error.

    Parameters
    ----------
    cases
        Leave-one-out simulations the parameters were trained on.
    params
        The trained parameters (their ``fallback``, ``scaled_share`` and ``scale``
        are replaced).
    fit
        Training on a subset of the simulations, returning parameters.
    folds
        Folds of executions; fewer than 2 executions per fold keep the estimate.

    Returns
    -------
    tuple
        The parameters, their leave-one-out error and notes (a share ``sigma`` of
        at least :data:`LARGE_FALLBACK`, a scale below 0.8).
    """
    rows = np.unique(cases.current)
    base = params.with_values(fallback=0.0, scaled_share=0.0, scale=1.0)
    if folds < 2 or rows.size < 2 * folds:
        return base, mean_remaining_error(cases, base), []
    estimate = cross_fitted(cases, fit, folds)
    columns = np.column_stack([estimate, cases.scaled_history_mean()])
    actual = cases.actual_remaining
    # The blend is fitted, and its gain judged, on the cases with both components only:
    # the linear program takes no NaN, and the plain and blended errors it compares are
    # then over the same cases. The errors returned (mean_remaining_error) are over all.
    usable = np.isfinite(columns).all(axis=1)
    if usable.sum() < len(COMPONENTS):
        return base, mean_remaining_error(cases, base), []

    def error(w: np.ndarray) -> float:
        return remaining_error(columns[usable] @ w, actual[usable])

    plain = error(np.array([1.0, 0.0]))
    weights = blend_weights(columns[usable], actual[usable])
    total = float(weights.sum())
    held_out = out_of_fold_error(
        columns[usable], actual[usable], cases.current[usable], folds
    )
    if total <= 0 or held_out >= (1.0 - MIN_GAIN) * plain:
        logger.info(
            "Progress training: cross-fitted error %.4f, %.4f blended out of fold: no blend "
            "kept.", plain, held_out,
        )
        return base, mean_remaining_error(cases, base), []
    weights = capped(weights)
    lam = float(min(total, MAX_SCALE))
    sigma = min(float(weights[1]) / lam, 1.0)
    chosen = params.with_values(fallback=0.0, scaled_share=round(sigma, 6), scale=round(lam, 6))
    best = error(weights)
    logger.info(
        "Progress training: cross-fitted error %.4f without the blend, %.4f with sigma = "
        "%.3g, lambda = %.3g (%.4f out of fold).", plain, best, sigma, lam, held_out,
    )
    notes = []
    if sigma >= LARGE_FALLBACK:
        notes.append(
            f"similarity matching predicts this history's remaining runtimes worse than the "
            f"other runs' mean scaled by the run's pace so far: the estimate falls back "
            f"towards the pace-scaled history mean (scaled_share sigma = {sigma:.2f}; "
            f"cross-fitted error {held_out:.4f} blended out of fold against {plain:.4f} "
            f"without)"
        )
    if lam < 0.8:
        notes.append(
            f"the remaining runtimes of this history are hard to predict (cross-fitted "
            f"error {plain:.4f}): the estimate is scaled by {lam:.2f}, the value that "
            f"minimises their relative error (an overestimate's is unbounded, an "
            f"underestimate's at most 1); the interval shows the spread"
        )
    return chosen, mean_remaining_error(cases, chosen), notes
