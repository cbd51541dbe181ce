"""Ernest: the non-negative least-squares scale-out model of Venkataraman et al."""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.optimize import nnls
from sklearn.utils.validation import check_is_fitted

from jobcast.errors import InputError
from jobcast.models._base import RuntimeRegressor
from jobcast.models._data import (
    ColumnSpec,
    check_frame,
    check_scale_out,
    check_target,
    numeric_values,
    resolve_column,
    scale_out_column,
)

__all__ = ["ErnestModel", "ernest_features", "fit_nnls"]

# Ernest's size rule on unnamed data looks at products of at most this many columns.
_MAX_SIZE_COLUMNS = 3


def ernest_features(scale_out: np.ndarray, size: np.ndarray | float = 1.0) -> np.ndarray:
    """Return Ernest's design matrix ``[1, size/m, log m, m]``.

    Parameters
    ----------
    scale_out
        Scale-outs ``m`` (> 0).
    size
        Problem size per row (or one number for all rows).

    Returns
    -------
    numpy.ndarray
        Shape ``(n, 4)``: a fixed serial cost, the parallel work split over ``m``
        machines, a tree aggregation ``log m`` and a per-machine overhead ``m``.

    References
    ----------
    Venkataraman, Yang, Franklin, Recht, Stoica: "Ernest: Efficient Performance
    Prediction for Large-Scale Advanced Analytics", NSDI 2016, equation (1).
    """
    m = np.asarray(scale_out, dtype=np.float64)
    return np.column_stack([np.ones_like(m), np.asarray(size) / m, np.log(m), m])


def fit_nnls(
    features: np.ndarray,
    y: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    relative: bool = False,
) -> np.ndarray:
    """Non-negative least squares with column scaling, optionally on relative errors.

    Parameters
    ----------
    features
        Design matrix, shape ``(n, p)``, non-negative columns.
    y
        Targets, shape ``(n,)``.
    weights
        Optional row weights (e.g. the number of executions a row's mean stands for).
    relative
        Minimise squared relative errors ``((F @ theta - y) / y)**2`` instead of
        squared errors; runtimes span orders of magnitude, and accuracy is judged
        by relative error.

    Returns
    -------
    numpy.ndarray
        The coefficients ``theta >= 0``.
    """
    row_weight = np.ones(len(y)) if weights is None else np.sqrt(np.asarray(weights, float))
    if relative:
        row_weight = row_weight / y
    scale = np.max(np.abs(features), axis=0)
    scale[~(scale > 0)] = 1.0
    a = features / scale * row_weight[:, None]
    b = y * row_weight
    try:
        theta, _ = nnls(a, b, maxiter=50 * a.shape[1] + 50)
    except RuntimeError:
        # scipy's active-set NNLS can stall on degenerate designs; fall back to
        # the best single non-negative term, which is always well defined.
        theta = np.zeros(a.shape[1])
        best = np.inf
        for j in range(a.shape[1]):
            norm = float(a[:, j] @ a[:, j])
            if norm <= 0:
                continue
            value = max(float(a[:, j] @ b) / norm, 0.0)
            loss = float(np.sum((a[:, j] * value - b) ** 2))
            if loss < best:
                best, theta = loss, np.eye(a.shape[1])[j] * value
    return np.asarray(theta / scale, dtype=np.float64)


def _size_values(frame: pd.DataFrame, labels: Sequence[Hashable]) -> np.ndarray:
    size = np.ones(len(frame))
    for label in labels:
        size = size * numeric_values(frame, label)
    return size


def _cv_relative_error(
    features: np.ndarray, y: np.ndarray, *, relative: bool, n_folds: int = 5
) -> float:
    """Mean absolute relative error of Ernest under deterministic k-fold (LOO if n small)."""
    n = len(y)
    if n < 2:
        return np.inf
    folds = np.arange(n) % min(n_folds, n)
    errors = np.empty(n)
    for fold in np.unique(folds):
        test = folds == fold
        theta = fit_nnls(features[~test], y[~test], relative=relative)
        errors[test] = np.abs(features[test] @ theta - y[test]) / y[test]
    return float(errors.mean())


class ErnestModel(RuntimeRegressor):
    """Ernest's runtime model: NNLS on ``[1, size/m, log m, m]``.

    Parameters
    ----------
    scale_out
        The scale-out column: a name, a position, or None for the column named
        ``"scale_out"`` (the first column when there is none).
    size
        The problem size: a column, a tuple of columns whose product is the size,
        ``()`` for a fixed size (runtime against scale-out only), or None to choose
        it on the training data. The rule for None: every product of at most
        three numeric context attributes that vary in the training data, and
        the fixed size, are candidates; the one whose Ernest fit has the lowest
        5-fold cross-validated relative error on the training rows (rows in
        their given order, dealt to folds round-robin) is used. A fixed rule such
        as "the second column" picks a job parameter for some jobs, which is why
        Ernest scored 0.23 MAPE in the privacy paper's evaluation.
    loss
        ``"squared"`` (Ernest's original least squares) or ``"relative"``
        (squared relative errors).

    Attributes
    ----------
    coef_ : numpy.ndarray
        The non-negative coefficients of ``[1, size/m, log m, m]``.
    size_ : tuple
        The columns whose product is the problem size (empty: fixed size).
    scale_out_ : Hashable
        The scale-out column's label.
    n_features_in_ : int
    feature_names_in_ : numpy.ndarray
        Only when fitted on a DataFrame with string column names.

    References
    ----------
    Venkataraman et al., "Ernest: Efficient Performance Prediction for
    Large-Scale Advanced Analytics", NSDI 2016.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.array([2.0, 4, 8, 16, 2, 4, 8, 16])
    >>> size = np.array([10.0, 10, 10, 10, 20, 20, 20, 20])
    >>> y = 5 + 30 * size / m + 2 * np.log(m)
    >>> model = ErnestModel(size=1).fit(np.column_stack([m, size]), y)
    >>> np.round(model.coef_, 6).tolist()
    [5.0, 30.0, 2.0, 0.0]
    """

    def __init__(
        self,
        *,
        scale_out: ColumnSpec | None = None,
        size: ColumnSpec | tuple[ColumnSpec, ...] | None = None,
        loss: Literal["squared", "relative"] = "squared",
    ) -> None:
        self.scale_out = scale_out
        self.size = size
        self.loss = loss

    def _features(self, frame: pd.DataFrame) -> np.ndarray:
        m = check_scale_out(frame[self.scale_out_].to_numpy(), self.scale_out_)
        return ernest_features(m, _size_values(frame, self.size_))

    def fit(self, X: Any, y: Any) -> ErnestModel:
        """Fit the coefficients by non-negative least squares.

        Parameters
        ----------
        X
            Executions: the scale-out and the size column(s).
        y
            Runtimes in seconds (> 0).

        Returns
        -------
        ErnestModel
            ``self``.

        Raises
        ------
        jobcast.errors.InputError
            On a malformed ``X`` or ``y``, a scale-out <= 0, a size column that is
            not numeric, or an unknown ``loss``.
        """
        if self.loss not in ("squared", "relative"):
            raise InputError(f"loss must be 'squared' or 'relative', got {self.loss!r}.")
        frame = check_frame(self, X, reset=True)
        y_arr = check_target(y, len(frame))
        self.scale_out_ = scale_out_column(frame, self.scale_out)
        m = check_scale_out(frame[self.scale_out_].to_numpy(), self.scale_out_)
        relative = self.loss == "relative"
        if self.size is None:
            self.size_ = self._choose_size(frame, m, y_arr, relative=relative)
        else:
            specs = self.size if isinstance(self.size, tuple) else (self.size,)
            labels = tuple(resolve_column(frame, s, what="size") for s in specs)
            for label in labels:
                if frame[label].dtype.kind != "f":
                    raise InputError(f"The size column {label!r} must be numeric.")
            self.size_ = labels
        features = ernest_features(m, _size_values(frame, self.size_))
        self.coef_ = fit_nnls(features, y_arr, relative=relative)
        return self

    def _choose_size(
        self, frame: pd.DataFrame, m: np.ndarray, y: np.ndarray, *, relative: bool
    ) -> tuple[Hashable, ...]:
        candidates = [
            label
            for label in frame.columns
            if label != self.scale_out_
            and frame[label].dtype.kind == "f"
            and np.ptp(frame[label].to_numpy()) > 0
            and np.all(frame[label].to_numpy() > 0)
            and not _cluster_total(frame[label].to_numpy(), m)
        ]
        best: tuple[Hashable, ...] = ()
        best_error = _cv_relative_error(ernest_features(m), y, relative=relative)
        for r in range(1, min(_MAX_SIZE_COLUMNS, len(candidates)) + 1):
            for combo in itertools.combinations(candidates, r):
                features = ernest_features(m, _size_values(frame, combo))
                error = _cv_relative_error(features, y, relative=relative)
                if error < best_error - 1e-12:
                    best, best_error = tuple(combo), error
        return best

    def predict(self, X: Any) -> np.ndarray:
        """Predict runtimes in seconds.

        Parameters
        ----------
        X
            Executions with the columns seen in ``fit``.

        Returns
        -------
        numpy.ndarray
        """
        check_is_fitted(self, "coef_")
        frame = check_frame(self, X, reset=False)
        return np.asarray(self._features(frame) @ self.coef_, dtype=np.float64)


def _cluster_total(values: np.ndarray, m: np.ndarray) -> bool:
    """Whether a column grows with the scale-out, as a cluster's total slots or memory do.

    Such a column is no data size: ``size / m`` would not depend on ``m`` and Ernest's
    fit would lose the scale-out's effect. It is told by its value per machine taking
    fewer distinct values than the column itself (one per machine type, say), which a
    data size varied independently of the scale-out never does.
    """
    per_machine = np.unique(np.round(values / m, 9)).size
    return bool(per_machine < np.unique(values).size)
