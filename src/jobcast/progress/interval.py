"""Prediction intervals of remaining runtimes and the probability of missing a deadline.

The interval is a normalised split-conformal interval: each estimate's spread is
the weighted standard deviation of the log remaining runtimes that its similar
executions give (how much they disagree), and the estimator's own leave-one-out
errors ``log(actual / estimate) / spread`` over the history set how many spreads
the interval reaches to each side. So the interval is wide where the similar
executions disagree and as wide as the estimator's past errors demand.

References
----------
Lei, G'Sell, Rinaldo, Tibshirani, Wasserman: "Distribution-Free Predictive Inference
for Regression", JASA 2018 (split conformal prediction, locally weighted scores).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from jobcast.errors import InputError

__all__ = [
    "MIN_SPREAD",
    "IntervalCalibration",
    "calibrate",
    "log_spread",
    "miss_probability",
    "scores",
]

#: Floor of the log spread, so that a set of agreeing similar executions (or a single
#: one) still leaves room for the estimator's own errors.
MIN_SPREAD = 0.05

# z of the standard normal at 0.9: the half-width of a central 80 % interval.
_Z = {0.8: 1.2815515655446004}


def log_spread(estimates: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted standard deviation of the log estimates along the last axis, plus a floor.

    Parameters
    ----------
    estimates
        Shape ``(..., k)``: remaining runtimes per similar execution (seconds).
    weights
        Shape ``(..., k)``: their weights (0 for executions outside the set).

    Returns
    -------
    numpy.ndarray
        Shape ``(...)``: ``sqrt(weighted var(log estimates)) + MIN_SPREAD``.

    Examples
    --------
    >>> float(log_spread(np.array([10.0, 10.0]), np.array([1.0, 1.0])))
    0.05
    """
    est = np.asarray(estimates, dtype=np.float64)
    w = np.where(est > 0, np.asarray(weights, dtype=np.float64), 0.0)
    logs = np.log(np.where(est > 0, est, 1.0))
    total = w.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (w * logs).sum(axis=-1) / total
        var = (w * (logs - mean[..., None]) ** 2).sum(axis=-1) / total
    return np.sqrt(np.where(total > 0, np.maximum(var, 0.0), 0.0)) + MIN_SPREAD


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
    """

    low: float
    high: float
    level: float = 0.8
    n_scores: int = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.level < 1.0:
            raise InputError(f"level must lie in (0, 1), got {self.level}.")
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low <= self.high):
            raise InputError(f"need finite low <= high, got {self.low}, {self.high}.")

    def interval(self, estimate: float, spread: float) -> tuple[float, float]:
        """The interval ``estimate * exp(low * spread) .. estimate * exp(high * spread)``."""
        if not estimate > 0:
            return (0.0, 0.0)
        return (
            float(estimate * math.exp(self.low * spread)),
            float(estimate * math.exp(self.high * spread)),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form (stored beside the trained parameters)."""
        return {"low": self.low, "high": self.high, "level": self.level, "n_scores": self.n_scores}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IntervalCalibration:
        """Inverse of :meth:`to_dict`."""
        return cls(
            low=float(data["low"]),
            high=float(data["high"]),
            level=float(data.get("level", 0.8)),
            n_scores=int(data.get("n_scores", 0)),
        )


def calibrate(past_scores: np.ndarray, *, level: float = 0.8) -> IntervalCalibration:
    """Quantiles of past scores for a central ``level`` interval (split conformal).

    With fewer than 10 finite scores the spread is read as a normal standard
    deviation, doubled for the uncertainty of so few past errors.

    Examples
    --------
    >>> c = calibrate(np.linspace(-1, 1, 101))
    >>> round(c.low, 2), round(c.high, 2)
    (-0.8, 0.8)
    """
    if not 0.0 < level < 1.0:
        raise InputError(f"level must lie in (0, 1), got {level}.")
    s = np.asarray(past_scores, dtype=np.float64)
    s = np.sort(s[np.isfinite(s)])
    tail = (1.0 - level) / 2.0
    if s.size < 10:
        z = _Z.get(level) or float(_normal_ppf(1.0 - tail))
        return IntervalCalibration(low=-2.0 * z, high=2.0 * z, level=level, n_scores=int(s.size))
    n = s.size
    # conformal ranks: ceil((n + 1) q) of n, clipped to the sample
    lo = max(int(math.floor((n + 1) * tail)) - 1, 0)
    hi = min(int(math.ceil((n + 1) * (1.0 - tail))) - 1, n - 1)
    low, high = float(min(s[lo], 0.0)), float(max(s[hi], 0.0))
    return IntervalCalibration(low=low, high=high, level=level, n_scores=int(n))


def _normal_ppf(p: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(p))


def miss_probability(
    elapsed_s: float, interval_s: tuple[float, float], deadline_s: float, *, level: float = 0.8
) -> float:
    """Probability that a run finishes after ``deadline_s`` seconds from its start.

    The remaining time is taken as log-normal with the interval as its central
    ``level`` range (so the risk is 1 - level/2 - ... at the interval's ends:
    10 % at the upper end of an 80 % interval).

    Parameters
    ----------
    elapsed_s
        Seconds since the run started.
    interval_s
        ``(low, high)`` of the remaining seconds.
    deadline_s
        The deadline in seconds after the start.
    level
        Coverage of ``interval_s``.

    Examples
    --------
    >>> round(miss_probability(10.0, (5.0, 20.0), 30.0), 3)
    0.1
    """
    left = deadline_s - elapsed_s
    if left <= 0:
        return 1.0
    low, high = (max(float(x), 1e-9) for x in interval_s)
    if high <= low * (1 + 1e-9):
        return 1.0 if low > left else 0.0
    z = _Z.get(level) or _normal_ppf(0.5 + level / 2.0)
    mu = 0.5 * (math.log(low) + math.log(high))
    sigma = (math.log(high) - math.log(low)) / (2.0 * z)
    x = (math.log(left) - mu) / sigma
    return float(0.5 * math.erfc(x / math.sqrt(2.0)))
