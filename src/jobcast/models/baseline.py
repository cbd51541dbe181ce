"""The trivial baseline: the median runtime per scale-out of the training executions."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from jobcast.models._base import RuntimeRegressor
from jobcast.models._data import ColumnSpec, check_target, scale_out_only

__all__ = ["MedianModel"]


class MedianModel(RuntimeRegressor):
    """Predict the median runtime of the training executions on the same scale-out.

    A scale-out the training rows do not hold gets the median of every training
    runtime. The model ignores every context attribute: it is the baseline that a
    runtime model must beat to be worth its assumptions (``jobcast evaluate models``
    reports it; ``auto`` keeps it as its last candidate).

    Parameters
    ----------
    scale_out
        The scale-out column: a name, a position, or None for the column named
        ``"scale_out"`` (the first column when there is none).

    Attributes
    ----------
    points_ : numpy.ndarray
        The distinct training scale-outs, sorted.
    medians_ : numpy.ndarray
        The median runtime at each of them.
    median_ : float
        The median of every training runtime (for other scale-outs).
    n_features_in_ : int
    """

    def __init__(self, *, scale_out: ColumnSpec | None = None) -> None:
        self.scale_out = scale_out

    def fit(self, X: Any, y: Any) -> MedianModel:
        """Keep the median runtime per scale-out of ``X``, ``y``; return ``self``.

        Raises
        ------
        jobcast.errors.InputError
            On malformed input or scale-outs that are not > 0.
        """
        m = scale_out_only(self, X, self.scale_out, reset=True)
        y_arr = check_target(y, len(m))
        points, inverse = np.unique(m, return_inverse=True)
        self.points_ = points
        self.medians_ = np.array([np.median(y_arr[inverse == i]) for i in range(len(points))])
        self.median_ = float(np.median(y_arr))
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predict runtimes in seconds at the scale-outs of ``X``."""
        check_is_fitted(self, "medians_")
        m = scale_out_only(self, X, self.scale_out, reset=False)
        position = np.clip(np.searchsorted(self.points_, m), 0, len(self.points_) - 1)
        seen = self.points_[position] == m
        return np.where(seen, self.medians_[position], self.median_).astype(np.float64)
