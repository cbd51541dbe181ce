"""A power-law (log-log linear) runtime model with ridge shrinkage chosen by leave-one-out."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sklearn.linear_model import RidgeCV
from sklearn.utils.validation import check_is_fitted

from jobcast.models._base import ContextModel
from jobcast.models._data import ColumnSpec

__all__ = ["LogLinearModel"]

logger = logging.getLogger(__name__)

#: Candidate ridge penalties (on centred features), chosen by leave-one-out.
DEFAULT_ALPHAS = tuple(float(a) for a in np.logspace(-4, 3, 15))


class LogLinearModel(ContextModel):
    """Runtime as a product of powers: ``log y`` linear in ``log m``, ``1/m`` and attributes.

    The model is ``log y = b0 + b1 log m + b2 / m + sum_j c_j phi(x_j)``, where
    ``phi`` is the logarithm for attributes that are > 0 in the training data
    (sizes, counts, rates: their effect on runtime is multiplicative, e.g.
    twice the data takes about twice as long) and the identity otherwise; string
    attributes are one-hot encoded. ``log m`` captures a power-law speed-up,
    ``1/m`` the bend of a fixed serial part (Amdahl's law). Features are
    centred but deliberately not standardised: the penalty then acts on the
    coefficients in their natural units (elasticities, for the logarithms), so a
    feature that barely varies in the training data (say, scale-outs 10 and 12
    only) gets a strongly shrunk coefficient. Standardising would instead blow
    such a coefficient up and make extrapolation (to 2 machines) explode. The
    ridge penalty is chosen among ``alphas`` by efficient leave-one-out on the
    training rows, which keeps the model usable from two rows on; with one row
    it predicts that row's runtime. An attribute that
    enters as a logarithm but is <= 0 at prediction time (e.g. a probability of
    0 never seen in training) is predicted as the smallest value seen in
    training.

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
    log_floor_ : numpy.ndarray
        The smallest training value of every numeric context attribute.
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
        return np.asarray(self._raw(m, context) - self.center_, dtype=np.float64)

    def fit(self, X: Any, y: Any) -> LogLinearModel:
        """Fit the power law to executions ``X`` (scale-out, context) and runtimes ``y`` (s).

        Returns ``self``.
        """
        m, context, y_arr = self._prepare_fit(X, y)
        numeric = context[:, : len(self.encoder_.numeric)]
        self.log_columns_ = np.all(numeric > 0, axis=0)
        self.log_floor_ = numeric.min(axis=0) if len(numeric) else np.zeros(0)
        raw = self._raw(m, context)
        self.center_ = raw.mean(axis=0)
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
        n_numeric = len(self.log_columns_)
        low = self.log_columns_ & np.any(context[:, :n_numeric] <= 0, axis=0)
        if low.any():
            labels = [self.encoder_.numeric[i] for i in np.flatnonzero(low)]
            logger.info(
                "context attribute(s) %s enter the model as logarithms; values <= 0 are "
                "predicted as the smallest value seen in training",
                labels,
            )
            context = context.copy()
            context[:, :n_numeric] = np.where(
                self.log_columns_,
                np.maximum(context[:, :n_numeric], self.log_floor_),
                context[:, :n_numeric],
            )
        if self.estimator_ is None:
            return np.full(len(m), np.exp(self.intercept_))
        return np.asarray(np.exp(self.estimator_.predict(self._design(m, context))), dtype=float)
