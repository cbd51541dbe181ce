"""The ETA's interval calibration: leave-one-out estimates of the history's executions.

:class:`jobcast.progress.eta.WallClockEstimator` calls :func:`calibrate_interval` once
per fit; the quantiles it returns widen every later estimate's interval.
"""

from __future__ import annotations

import numpy as np

from jobcast.errors import JobcastError, NotEnoughDataError
from jobcast.progress.combine import case_estimates, set_weights
from jobcast.progress.estimator import ProgressEstimator
from jobcast.progress.interval import IntervalCalibration, calibrate, log_spread, scores
from jobcast.progress.matching import match_masks
from jobcast.progress.scaling import ScaleOutModelKind
from jobcast.progress.simulation import sample_iterations, simulate_strengths

__all__ = ["calibrate_interval"]

# Executions whose leave-one-out estimates calibrate the interval: a few hundred scores
# place its quantiles as well as thousands, and the fit stays fast on long histories.
CALIBRATION_RUNS = 300

# Histories of up to this many executions calibrate on truly held-out estimates: every
# model refitted without the execution, as ``evaluate progress`` scores them (about 1 s
# for 32 executions of 35 iterations). On longer ones an execution's share of the fitted
# scale-out models is small and the fitted estimator leaves only it out as a candidate
# (on the 65 Ellis gbt runs both give the same quantiles to 0.003; on 2 runs the scale-out
# model fits each run exactly and the in-sample interval had width 0).
HELD_OUT_RUNS = 32

# Share of an execution's iterations left out at each end when placing the sample points.
CALIBRATION_PADDING = 0.05

_Scores = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def calibrate_interval(
    estimator: ProgressEstimator,
    *,
    level: float,
    n_samples: int,
    scale_out_model: ScaleOutModelKind,
) -> IntervalCalibration:
    """The interval's quantiles from leave-one-out estimates of a fitted estimator's history.

    Parameters
    ----------
    estimator
        The fitted iteration-wise estimator.
    level
        Coverage of the prediction interval, in (0, 1).
    n_samples
        Sample points per execution.
    scale_out_model
        The scale-out model the estimator was fitted with.
    """
    if estimator.prepared_.arrays.n_executions <= HELD_OUT_RUNS:
        estimate, actual, spread, run = _held_out_scores(estimator, n_samples, scale_out_model)
    else:
        estimate, actual, spread, run = _in_sample_scores(estimator, n_samples)
    # an execution's sample points are not independent: the quantiles count executions
    return calibrate(scores(estimate, actual, spread), level=level, groups=run, spreads=spread)


def _held_out_scores(
    estimator: ProgressEstimator, n_samples: int, scale_out_model: ScaleOutModelKind
) -> _Scores:
    """Estimates, actual remaining times, spreads and executions, models fitted without it.

    The spreads are the ones :meth:`ProgressEstimator.estimate` gives: the similar
    executions' shrunk towards every candidate's when few match.
    """
    params = estimator.params_
    prepared = estimator.prepared_
    strength = params.scale_out_strength
    try:
        cases = simulate_strengths(
            prepared.arrays,
            n_samples=n_samples,
            padding=CALIBRATION_PADDING,
            scale_out_model=scale_out_model,
            nodes=prepared.nodes,
            strengths=(strength,),
        )[strength]
    except NotEnoughDataError:
        return np.empty(0), np.empty(0), np.empty(0), np.empty(0)
    estimate = case_estimates(cases, params)
    keep = np.isfinite(estimate)
    mask, sim_final, _ = match_masks(cases.similarities, cases.valid, params)
    weights = set_weights(mask, sim_final, params.exponent)
    remaining = cases.remaining(params.adjustment, params.length_strength)
    spread = np.maximum(log_spread(remaining, weights, pool=cases.valid), 1e-9)
    return estimate[keep], cases.actual_remaining[keep], spread[keep], cases.current[keep]


def _in_sample_scores(estimator: ProgressEstimator, n_samples: int) -> _Scores:
    """The same from the fitted estimator (over at most ``CALIBRATION_RUNS`` runs)."""
    arrays = estimator.prepared_.arrays
    n = arrays.n_executions
    rows = np.unique(np.round(np.linspace(0, n - 1, min(n, CALIBRATION_RUNS))).astype(int))
    got: list[tuple[float, float, float, float]] = []
    for r in rows.tolist():
        one = arrays.row(r)
        for i in sample_iterations(int(one.n_iter[0]), n_samples, CALIBRATION_PADDING).tolist():
            try:
                est = estimator.estimate_arrays(one.head(i))
            except JobcastError:
                continue
            actual = float(one.runtime[0, i:].sum())
            got.append((est.remaining_s, actual, max(est.spread, 1e-9), r))
    estimate, actual, spread, run = np.array(got, dtype=np.float64).reshape(-1, 4).T
    return estimate, actual, spread, run
