"""A power-law (log-log linear) runtime model with ridge shrinkage chosen by leave-one-out."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import RidgeCV
from sklearn.utils.validation import check_is_fitted

from jobcast.errors import InputError
from jobcast.models._base import ContextModel
from jobcast.models._data import ColumnSpec

__all__ = ["LogLinearModel"]

#: Candidate ridge penalties (on standardised features), chosen by leave-one-out.
DEFAULT_ALPHAS = tuple(float(a) for a in np.logspace(-4, 3, 15))


class LogLinearModel(ContextModel):
    """Runtime as a product of powers: ``log y`` linear in ``log m``, ``1/m`` and attributes.

    The model is ``log y = b0 + b1 log m + b2 / m + sum_j c_j phi(x_j)``, where
    ``phi`` is the logarithm for attributes that are > 0 in the training data
    (sizes, counts, rates: their effect on runtime is multiplicative, e.g.
    twice the data takes about twice as long) and the identity otherwise; string
    attributes are one-hot encoded. ``log m`` captures a power-law speed-up,
    ``1/m`` the bend of a fixed serial part (Amdahl's law). Features are
    standardised and the ridge penalty is chosen among ``alphas`` by efficient
    leave-one-out on the training rows, which keeps the model usable from two
    rows on; with one row it predicts that row's runtime.

    Parameters
    ----------
    scale_out
        The scale-out column: a name, a position, or None for the column named
        ``"scale_out"`` (the first column when there is none).
    alphas
        Candidate ridge penalties; None for 15 values from 1e-4 to 1e3.

    Attributes
    ----------
    estimator_ : sklearn.linear_model.RidgeCV or None
        None when fitted on a single row.
    log_columns_ : numpy.ndarray
        Which numeric context attributes enter as logarithms.
    intercept_ : float
        Mean log runtime (the prediction when fitted on one row).
    n_features_in_ : int
    """

    def __init__(
        self, *, scale_out: ColumnSpec | None = None, alphas: tuple[float, ...] | None = None
    ) -> None:
        self.scale_out = scale_out
        self.alphas = alphas

    def _raw(self, m: np.ndarray, context: np.ndarray) -> np.ndarray:
        n_numeric = len(self.log_columns_)
        numeric = context[:, :n_numeric]
        safe = np.where(numeric > 0, numeric, 1.0)
        transformed = np.where(self.log_columns_, np.log(safe), numeric)
        return np.column_stack([np.log(m), 1.0 / m, transformed, context[:, n_numeric:]])

    def _design(self, m: np.ndarray, context: np.ndarray) -> np.ndarray:
        return np.asarray((self._raw(m, context) - self.center_) / self.scale_, dtype=np.float64)

    def fit(self, X: Any, y: Any) -> LogLinearModel:
        """Fit the power law.

        Parameters
        ----------
        X
            Executions: scale-out and context attributes.
        y
            Runtimes in seconds (> 0).

        Returns
        -------
        LogLinearModel
            ``self``.
        """
        m, context, y_arr = self._prepare_fit(X, y)
        numeric = context[:, : len(self.encoder_.numeric)]
        self.log_columns_ = np.all(numeric > 0, axis=0)
        raw = self._raw(m, context)
        self.center_ = raw.mean(axis=0)
        scale = raw.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        target = np.log(y_arr)
        self.intercept_ = float(target.mean())
        if len(y_arr) < 2:
            self.estimator_: RidgeCV | None = None
            return self
        alphas = DEFAULT_ALPHAS if self.alphas is None else tuple(self.alphas)
        self.estimator_ = RidgeCV(alphas=alphas).fit(self._design(m, context), target)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predict runtimes in seconds."""
        check_is_fitted(self, "log_columns_")
        m, context = self._prepare_predict(X)
        numeric = context[:, : len(self.log_columns_)]
        bad = self.log_columns_ & np.any(numeric <= 0, axis=0)
        if bad.any():
            label = self.encoder_.numeric[int(np.flatnonzero(bad)[0])]
            raise InputError(
                f"Context attribute {label!r} was > 0 in every training execution and enters "
                "the model as a logarithm; it must be > 0 here too."
            )
        if self.estimator_ is None:
            return np.full(len(m), np.exp(self.intercept_))
        return np.asarray(np.exp(self.estimator_.predict(self._design(m, context))), dtype=float)
