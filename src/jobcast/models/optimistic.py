"""C3O's optimistic model: a scale-out speed-up model times an input-behaviour model."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.utils.validation import check_is_fitted

from jobcast.errors import InputError
from jobcast.models._base import ContextModel, seed_from
from jobcast.models._data import ColumnSpec
from jobcast.models.ernest import ernest_features, fit_nnls

__all__ = ["OptimisticModel"]

# Alternating fits of the two factors; the product converges in a few rounds.
_BACKFIT_ROUNDS = 8


def _input_design(context: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(len(context)), context])


class OptimisticModel(ContextModel):
    """Runtime = speed-up model of the scale-out x input-behaviour model of the context.

    C3O's "optimistic" model assumes that how a job scales out does not depend on
    its inputs, so runtime factorises as ``s(m) * g(x)``:

    * ``s(m) = [1, 1/m, log m, m] @ theta`` with ``theta >= 0`` (Ernest's terms for
      a fixed problem size), fitted by non-negative least squares on relative
      errors;
    * ``g(x)``, the input behaviour: linear in the context attributes
      (``kind="linear"``, fitted by least squares on relative errors) or
      gradient-boosted trees on ``log(y / s(m))`` (``kind="gbm"``).

    The factors are fitted alternately (backfitting), each on the runtimes divided
    by the other; for ``"gbm"`` the speed-up model comes from the linear form's
    backfitting and the trees are fitted once on what it leaves. Predictions of
    the linear form are floored at a hundredth of the smallest training runtime,
    as a linear input model may go negative far outside the training data.

    Parameters
    ----------
    kind
        ``"linear"`` or ``"gbm"``.
    scale_out
        The scale-out column: a name, a position, or None for the column named
        ``"scale_out"`` (the first column when there is none).
    n_estimators, learning_rate, max_depth
        Of the gradient boosting (``kind="gbm"`` only).
    random_state
        Seed or Generator of the gradient boosting.

    Attributes
    ----------
    scale_coef_ : numpy.ndarray
        ``theta`` of the speed-up model.
    input_coef_ : numpy.ndarray
        Intercept and slopes of the linear input model (also fitted for ``"gbm"``).
    estimator_ : sklearn.ensemble.GradientBoostingRegressor or None
        The trees of the ``"gbm"`` form.
    floor_ : float
        The smallest runtime the model predicts.
    n_features_in_ : int

    References
    ----------
    Will, Thamsen, Scheinert, Bader, Kao: "C3O: Collaborative Cluster
    Configuration Optimization for Distributed Data Processing in Public
    Clouds", IC2E 2021.
    """

    def __init__(
        self,
        *,
        kind: Literal["linear", "gbm"] = "linear",
        scale_out: ColumnSpec | None = None,
        n_estimators: int = 200,
        learning_rate: float = 0.1,
        max_depth: int = 3,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.kind = kind
        self.scale_out = scale_out
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> OptimisticModel:
        """Fit both factors to executions ``X`` (scale-out, context) and runtimes ``y`` (s).

        Returns ``self``.
        """
        if self.kind not in ("linear", "gbm"):
            raise InputError(f"kind must be 'linear' or 'gbm', got {self.kind!r}.")
        m, context, y_arr = self._prepare_fit(X, y)
        scale_features = ernest_features(m)
        inputs = _input_design(context)
        tiny = 1e-9 * float(y_arr.mean())
        g = np.ones(len(y_arr))
        theta = np.zeros(4)
        beta = np.zeros(inputs.shape[1])
        for _ in range(_BACKFIT_ROUNDS):
            theta = fit_nnls(scale_features, y_arr / g, relative=True)
            s = np.maximum(scale_features @ theta, tiny)
            target = y_arr / s
            # least squares on relative errors: rows divided by the target
            beta = np.linalg.lstsq(inputs / target[:, None], np.ones(len(y_arr)), rcond=None)[0]
            g = np.maximum(inputs @ beta, tiny)
        self.scale_coef_ = theta
        self.input_coef_ = beta
        self.floor_ = 0.01 * float(y_arr.min())
        self.estimator_: GradientBoostingRegressor | None = None
        if self.kind == "gbm":
            s = np.maximum(scale_features @ theta, tiny)
            self.estimator_ = GradientBoostingRegressor(
                n_estimators=self.n_estimators,
                learning_rate=self.learning_rate,
                max_depth=self.max_depth,
                random_state=seed_from(self.random_state),
            ).fit(inputs, np.log(y_arr / s))
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predict runtimes in seconds."""
        check_is_fitted(self, "scale_coef_")
        m, context = self._prepare_predict(X)
        s = ernest_features(m) @ self.scale_coef_
        inputs = _input_design(context)
        if self.estimator_ is not None:
            g = np.exp(self.estimator_.predict(inputs))
        else:
            g = inputs @ self.input_coef_
        return np.asarray(np.maximum(s * g, self.floor_), dtype=np.float64)
