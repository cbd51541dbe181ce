"""Prediction intervals of remaining runtimes and the probability of missing a deadline.

The interval is a normalised split-conformal interval: each estimate's spread is
the weighted standard deviation of the log remaining runtimes that its similar
executions give (how much they disagree), and the estimator's own leave-one-out
errors ``log(actual / estimate) / spread`` over the history set how many spreads
the interval reaches to each side. So the interval is wide where the similar
executions disagree and as wide as the estimator's past errors demand.

Two small-sample corrections keep it from being overconfident: a set of few
(effective) similar executions cannot show how much runs disagree, so its spread is
shrunk towards the spread of all candidates (:func:`log_spread` with ``pool``); and
quantiles of the scores of few past executions are replaced by a Student-t
prediction interval when they cannot reach the level (:func:`calibrate`).

References
----------
Lei, G'Sell, Rinaldo, Tibshirani, Wasserman: "Distribution-Free Predictive Inference
for Regression", JASA 2018 (split conformal prediction, locally weighted scores).
Dunn, Wasserman, Ramdas: "Distribution-Free Prediction Sets for Two-Layer
Hierarchical Models", JASA 2022 (scores grouped by execution: pooled CDF).
Kish: "Survey Sampling", 1965 (effective sample size of weighted observations).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from jobcast.errors import InputError
from jobcast.progress.combine import weighted_median

__all__ = [
    "MIN_SPREAD",
    "IntervalCalibration",
    "calibrate",
    "effective_size",
    "log_spread",
    "miss_probability",
    "scores",
    "widen",
]

#: Floor of the log spread, so that a set of agreeing similar executions (or a single
#: one) still leaves room for the estimator's own errors.
MIN_SPREAD = 0.05

# z of the standard normal at 0.9: the half-width of a central 80 % interval.
_Z = {0.8: 1.2815515655446004}

# How many similar executions the spread of all candidates counts as when a set's own
# spread is shrunk towards it: one, so it decides a single match's spread and fades as
# the set grows (a conjugate prior worth one observation).
_POOL_WEIGHT = 1.0


def effective_size(weights: np.ndarray) -> np.ndarray:
    """Kish's effective number of weighted observations ``(sum w)^2 / sum w^2`` (last axis).

    Examples
    --------
    >>> float(effective_size(np.array([1.0, 1.0, 1.0])))
    3.0
    >>> float(effective_size(np.array([1.0, 0.0])))
    1.0
    """
    w = np.asarray(weights, dtype=np.float64)
    sq = (w * w).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sq > 0, w.sum(axis=-1) ** 2 / np.where(sq > 0, sq, 1.0), 0.0)


def _log_var(logs: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted variance of ``logs`` along the last axis, and the total weight."""
    total = w.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (w * logs).sum(axis=-1) / total
        var = (w * (logs - mean[..., None]) ** 2).sum(axis=-1) / total
    return np.where(total > 0, np.maximum(var, 0.0), 0.0), total


def log_spread(
    estimates: np.ndarray, weights: np.ndarray, *, pool: np.ndarray | None = None
) -> np.ndarray:
    """Weighted standard deviation of the log estimates along the last axis, plus a floor.

    With ``pool``, the spread of a set of few effective executions ``n``
    (:func:`effective_size`) is shrunk towards the spread of all pooled candidates
    ``v_pool``: ``v = max(v_set, (n v_set + v_pool) / (n + 1))``. A single match has
    no spread of its own, so it gets half the pool's variance; a large set keeps its own.
    The shrinkage only ever widens (a set that disagrees more than the pool keeps its
    spread).

    Parameters
    ----------
    estimates
        Shape ``(..., k)``: remaining runtimes per candidate execution (seconds).
    weights
        Shape ``(..., k)``: their weights (0 for executions outside the set).
    pool
        Shape ``(..., k)``, boolean: every candidate the set was chosen from (None:
        the set's spread alone).

    Returns
    -------
    numpy.ndarray
        Shape ``(...)``: ``sqrt(v) + MIN_SPREAD``.

    Examples
    --------
    >>> float(log_spread(np.array([10.0, 10.0]), np.array([1.0, 1.0])))
    0.05
    >>> one = log_spread(np.array([10.0, 20.0]), np.array([1.0, 0.0]), pool=np.array([1, 1]))
    >>> round(float(one), 3)   # half the pool's variance: sqrt(0.5 * (log(2) / 2) ** 2)
    0.295
    """
    est = np.asarray(estimates, dtype=np.float64)
    positive = est > 0
    w = np.where(positive, np.asarray(weights, dtype=np.float64), 0.0)
    logs = np.log(np.where(positive, est, 1.0))
    var, _ = _log_var(logs, w)
    if pool is not None:
        inside = (np.asarray(pool) > 0) & positive
        pooled, _ = _log_var(logs, inside.astype(np.float64))
        n = effective_size(w)
        shrunk = (n * var + _POOL_WEIGHT * pooled) / (n + _POOL_WEIGHT)
        var = np.where(inside.any(axis=-1), np.maximum(var, shrunk), var)
    return np.sqrt(var) + MIN_SPREAD


def widen(spread: np.ndarray | float, extra: np.ndarray | float) -> np.ndarray:
    """``spread`` with an independent log-scale uncertainty ``extra`` added in quadrature.

    The floor :data:`MIN_SPREAD` stays outside: ``sqrt((spread - floor)^2 + extra^2) + floor``.

    Examples
    --------
    >>> round(float(widen(0.35, 0.4)), 2)
    0.55
    """
    core = np.maximum(np.asarray(spread, dtype=np.float64) - MIN_SPREAD, 0.0)
    return np.sqrt(core**2 + np.asarray(extra, dtype=np.float64) ** 2) + MIN_SPREAD


def scores(estimate: np.ndarray, actual: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Conformity scores ``log(actual / estimate) / spread`` (NaN where undefined)."""
    est = np.asarray(estimate, dtype=np.float64)
    act = np.asarray(actual, dtype=np.float64)
    ok = (est > 0) & (act > 0) & np.isfinite(est) & np.isfinite(act)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.log(np.where(ok, act, 1.0) / np.where(ok, est, 1.0)) / spread
    return np.where(ok, out, np.nan)


@dataclass(frozen=True)
class IntervalCalibration:
    """How many spreads a prediction interval reaches below and above the estimate.

    Attributes
    ----------
    low, high
        Quantiles of the leave-one-out scores (``low <= high``).
    level
        Nominal coverage, e.g. 0.8.
    n_scores
        Number of past estimates the quantiles come from (0: the normal fallback).
    max_log
        Largest ``|log(interval end / estimate)|`` (None: no bound). Set where few
        past executions give a Student-t interval: a score is an error over its
        estimate's spread, so one execution that missed by a factor 4 where the similar
        runs agreed (spread at its floor) scored 28, and a live estimate with a wide
        spread then reached 10^5 times its value (a 21 s run's interval up to 11 days).
    """

    low: float
    high: float
    level: float = 0.8
    n_scores: int = 0
    max_log: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.level < 1.0:
            raise InputError(f"level must lie in (0, 1), got {self.level}.")
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low <= self.high):
            raise InputError(f"need finite low <= high, got {self.low}, {self.high}.")
        if self.max_log is not None and not (math.isfinite(self.max_log) and self.max_log > 0):
            raise InputError(f"max_log must be None or finite > 0, got {self.max_log}.")

    def exponents(self, spread: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """``low * spread`` and ``high * spread``, within ``±max_log``."""
        s = np.asarray(spread, dtype=np.float64)
        bound = np.inf if self.max_log is None else self.max_log
        return np.maximum(self.low * s, -bound), np.minimum(self.high * s, bound)

    def interval(self, estimate: float, spread: float) -> tuple[float, float]:
        """The interval ``estimate * exp(low * spread) .. estimate * exp(high * spread)``."""
        if not estimate > 0:
            return (0.0, 0.0)
        low, high = self.exponents(spread)
        return float(estimate * np.exp(low)), float(estimate * np.exp(high))

    def to_dict(self) -> dict[str, Any]:
        """JSON form (stored beside the trained parameters)."""
        return {
            "low": self.low,
            "high": self.high,
            "level": self.level,
            "n_scores": self.n_scores,
            "max_log": self.max_log,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IntervalCalibration:
        """Inverse of :meth:`to_dict`."""
        return cls(
            low=float(data["low"]),
            high=float(data["high"]),
            level=float(data.get("level", 0.8)),
            n_scores=int(data.get("n_scores", 0)),
            max_log=None if data.get("max_log") is None else float(data["max_log"]),
        )


# Fewest calibration units (executions, or scores without groups) whose conformal
# ranks are used; fewer get the Student-t prediction interval.
_MIN_CONFORMAL = 10

# The Student-t interval of few units reaches at most this many times the largest log
# error they made (a factor 4 missed: up to 16 times the estimate), and never less than
# the normal fallback's at the floor spread.
_MAX_LOG_FACTOR = 2.0

# Few units' scores are winsorised this many robust standard deviations from their median.
_WINSOR = 3.0


def calibrate(
    past_scores: np.ndarray,
    *,
    level: float = 0.8,
    groups: np.ndarray | None = None,
    spreads: np.ndarray | None = None,
) -> IntervalCalibration:
    """Quantiles of past scores for a central ``level`` interval (split conformal).

    Scores of one execution (its sample points) are not independent: with ``groups``
    (the execution of each score) every execution counts once (pooled CDF, each score
    weighted by one over its execution's count) and the conformal ranks count
    executions, not scores. Without ``groups`` every score is its own unit.

    With fewer than 10 units the conformal ranks cannot be trusted (at 80 %, fewer
    than 9 cannot even reach the level), so the interval is the normal prediction
    interval of one more unit's score, ``mean ± t(G - 1) sd sqrt(1 + 1/G)`` over the
    ``G`` units, and at least the earlier fallback of twice the normal ``z`` to each
    side. It always contains 0 (the estimate itself). With ``spreads`` (each score's
    spread, so that ``score * spread`` is its log error) that interval reaches at most
    twice the largest log error the units made (:attr:`IntervalCalibration.max_log`).

    Parameters
    ----------
    past_scores
        Leave-one-out scores (:func:`scores`); NaN ones are ignored.
    level
        Nominal coverage.
    groups
        Shape like ``past_scores``: the execution (any hashable label) of each score.
    spreads
        Shape like ``past_scores``: the spread each score was divided by.

    Returns
    -------
    IntervalCalibration

    Examples
    --------
    >>> c = calibrate(np.linspace(-1, 1, 101))
    >>> round(c.low, 2), round(c.high, 2)
    (-0.82, 0.82)
    """
    if not 0.0 < level < 1.0:
        raise InputError(f"level must lie in (0, 1), got {level}.")
    raw = np.asarray(past_scores, dtype=np.float64).ravel()
    finite = np.isfinite(raw)
    if groups is None:
        codes = np.arange(int(finite.sum()))
    else:
        labels = np.asarray(groups).ravel()
        if labels.shape != raw.shape:
            raise InputError(
                f"groups must have one label per score: {labels.shape} against {raw.shape}."
            )
        codes = np.unique(labels[finite], return_inverse=True)[1].ravel()
    values = raw[finite]
    order = np.argsort(values, kind="stable")
    s, codes = values[order], codes[order]
    n = int(s.size)
    # every unit weighs 1 in total, shared among its scores
    weight = 1.0 / np.bincount(codes)[codes] if n else np.empty(0)
    units = int(np.unique(codes).size)
    tail = (1.0 - level) / 2.0
    if units < _MIN_CONFORMAL:
        low, high = _small_sample(s, weight, units, tail)
        bound = None
        if spreads is not None:
            logs = np.abs(raw[finite] * np.broadcast_to(spreads, raw.shape).ravel()[finite])
            z = _Z.get(level) or _normal_ppf(1.0 - tail)
            largest = float(logs.max()) if logs.size else 0.0
            bound = max(_MAX_LOG_FACTOR * largest, 2.0 * z * MIN_SPREAD)
        return IntervalCalibration(low=low, high=high, level=level, n_scores=n, max_log=bound)
    cum = np.cumsum(weight)
    # conformal ranks over the units: ceil((G + 1) q) of G, clipped to the sample
    k_lo = max(math.floor((units + 1) * tail), 1)
    k_hi = min(math.ceil((units + 1) * (1.0 - tail)), units)
    lo = int(np.searchsorted(cum, k_lo - 1e-9))
    hi = min(int(np.searchsorted(cum, k_hi - 1e-9)), n - 1)
    low, high = float(min(s[lo], 0.0)), float(max(s[hi], 0.0))
    return IntervalCalibration(low=low, high=high, level=level, n_scores=n)


def _small_sample(
    s: np.ndarray, weight: np.ndarray, units: int, tail: float
) -> tuple[float, float]:
    """Student-t prediction interval of one more unit's score, at least ``±2 z``.

    The scores are first winsorised at :data:`_WINSOR` robust standard deviations
    (1.4826 times the unit-weighted median absolute deviation) from their median: one
    run in seven that overran its last iteration by 12 s scored 20-50 spreads where the
    others scored 1-3, and its scores alone made every estimate's interval reach 100-200
    times the estimate. Scores of a normal sample are seldom that far out, so the
    interval keeps its coverage there.
    """
    z = _Z.get(1.0 - 2.0 * tail) or float(_normal_ppf(1.0 - tail))
    low, high = -2.0 * z, 2.0 * z
    if units >= 2:
        from scipy.stats import t as student

        centre = float(weighted_median(s, weight))
        scale = 1.4826 * float(weighted_median(np.abs(s - centre), weight))
        if scale > 0:
            s = np.clip(s, centre - _WINSOR * scale, centre + _WINSOR * scale)
        mean = float(np.average(s, weights=weight))
        # unit-weighted variance, Bessel-corrected by the number of units
        var = float(np.average((s - mean) ** 2, weights=weight)) * units / (units - 1)
        half = float(student.ppf(1.0 - tail, units - 1)) * math.sqrt(var * (1.0 + 1.0 / units))
        low, high = min(low, mean - half), max(high, mean + half)
    return float(min(low, 0.0)), float(max(high, 0.0))


def _normal_ppf(p: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(p))


def miss_probability(
    elapsed_s: float,
    remaining_s: float,
    interval_s: tuple[float, float],
    deadline_s: float,
    *,
    level: float = 0.8,
) -> float:
    """Probability that a run finishes after ``deadline_s`` seconds from its start.

    The remaining time is taken as a two-piece log-normal: its median is the estimate
    ``remaining_s``, and each side's spread is that side's end of the interval taken as
    the ``level`` range's quantile. So the risk is 50 % at the estimate and
    ``(1 - level) / 2`` at the interval's upper end (10 % for an 80 % interval),
    whatever the lower end: an interval reaching down to 0 s (the run may end now) does
    not fatten the upper tail, as one log-normal over the whole interval would.

    Parameters
    ----------
    elapsed_s
        Seconds since the run started.
    remaining_s
        The estimate of the remaining seconds (the median); clipped into ``interval_s``.
    interval_s
        ``(low, high)`` of the remaining seconds.
    deadline_s
        The deadline in seconds after the start.
    level
        Coverage of ``interval_s``.

    Examples
    --------
    >>> round(miss_probability(10.0, 12.0, (5.0, 20.0), 30.0), 3)
    0.1
    >>> miss_probability(10.0, 12.0, (5.0, 20.0), 22.0)
    0.5
    """
    left = deadline_s - elapsed_s
    if left <= 0:
        return 1.0
    low, high = (max(float(x), 1e-9) for x in interval_s)
    point = min(max(float(remaining_s), low), high)
    end = high if left >= point else low
    if abs(math.log(end) - math.log(point)) < 1e-9:  # that side has no spread
        return 0.0 if left >= point else 1.0
    z = _Z.get(level) or _normal_ppf(0.5 + level / 2.0)
    sigma = abs(math.log(end) - math.log(point)) / z
    x = (math.log(left) - math.log(point)) / sigma
    return float(0.5 * math.erfc(x / math.sqrt(2.0)))
