"""Gradient-boosted regression trees on scale-out and context attributes (as in C3O)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.utils.validation import check_is_fitted

from jobcast.errors import InputError
from jobcast.models._base import ContextModel, seed_from
from jobcast.models._data import ColumnSpec

__all__ = ["GradientBoostingModel"]


class GradientBoostingModel(ContextModel):
    """Gradient boosting (scikit-learn) of runtime on scale-out and context attributes.

    By default the trees fit the logarithm of the runtime: a squared error on
    ``log y`` is, for small errors, a squared relative error, which is how runtime
    predictions are judged, and it keeps a job that runs for hours from dominating
    one that runs for seconds.

    Parameters
    ----------
    scale_out
        The scale-out column: a name, a position, or None for the column named
        ``"scale_out"`` (the first column when there is none).
    n_estimators, learning_rate, max_depth, subsample, min_samples_leaf
        Passed to :class:`sklearn.ensemble.GradientBoostingRegressor`. The defaults
        (many shallow trees with a small learning rate) suit the few hundred rows
        of a job's history.
    log_target
        Fit ``log y`` and predict ``exp``; otherwise fit ``y`` with squared error.
    random_state
        Seed or Generator for the subsampling of the trees.

    Attributes
    ----------
    estimator_ : sklearn.ensemble.GradientBoostingRegressor
    encoder_ : jobcast.models._data.Encoder
        The encoding of the context attributes.
    scale_out_ : Hashable
    n_features_in_ : int

    References
    ----------
    Will et al., "C3O" (IC2E 2021); the full reference is in :mod:`jobcast.models.optimistic`.
    """

    def __init__(
        self,
        *,
        scale_out: ColumnSpec | None = None,
        n_estimators: int = 400,
        learning_rate: float = 0.05,
        max_depth: int = 3,
        subsample: float = 1.0,
        min_samples_leaf: int = 1,
        log_target: bool = True,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.scale_out = scale_out
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.subsample = subsample
        self.min_samples_leaf = min_samples_leaf
        self.log_target = log_target
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> GradientBoostingModel:
        """Fit the trees to executions ``X`` (scale-out, context) and runtimes ``y`` (s, > 0).

        Returns ``self``.
        """
        if not isinstance(self.n_estimators, int) or self.n_estimators < 1:
            raise InputError(f"n_estimators must be an int >= 1, got {self.n_estimators!r}.")
        m, context, y_arr = self._prepare_fit(X, y)
        target = np.log(y_arr) if self.log_target else y_arr
        self.estimator_ = GradientBoostingRegressor(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            max_depth=self.max_depth,
            subsample=self.subsample,
            min_samples_leaf=self.min_samples_leaf,
            random_state=seed_from(self.random_state),
        ).fit(np.column_stack([m, context]), target)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predict runtimes in seconds."""
        check_is_fitted(self, "estimator_")
        m, context = self._prepare_predict(X)
        raw = self.estimator_.predict(np.column_stack([m, context]))
        return np.exp(raw) if self.log_target else np.asarray(raw, dtype=np.float64)
