"""A base class for runtime models of scale-out plus context attributes."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin

from jobcast.models._data import (
    ColumnSpec,
    Encoder,
    check_frame,
    check_scale_out,
    check_target,
    scale_out_column,
)

__all__ = ["ContextModel", "seed_from"]


def seed_from(random_state: int | np.random.Generator | None) -> int:
    """Turn ``random_state`` into one Generator and draw an int seed for sklearn parts."""
    return int(np.random.default_rng(random_state).integers(0, 2**31 - 1))


class RuntimeRegressor(RegressorMixin, BaseEstimator):
    """Base of every runtime model: a scikit-learn regressor of positive runtimes."""

    def __sklearn_tags__(self) -> Any:
        """Declare positive runtimes and a model that is not meant for random data."""
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True
        tags.regressor_tags.poor_score = True
        return tags


class ContextModel(RuntimeRegressor):
    """Shared input handling: one scale-out column, every other column a context attribute.

    Subclasses call :meth:`_prepare_fit` and :meth:`_prepare_predict`, which return
    the scale-outs and the encoded context matrix (numeric attributes first, then
    one-hot blocks of the string attributes; constant columns dropped).
    """

    scale_out: ColumnSpec | None

    def _prepare_fit(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        frame = check_frame(self, X, reset=True)
        y_arr = check_target(y, len(frame))
        self.scale_out_: Hashable = scale_out_column(frame, self.scale_out)
        self.encoder_ = Encoder.fit(frame, [c for c in frame.columns if c != self.scale_out_])
        return self._split(frame) + (y_arr,)

    def _prepare_predict(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        return self._split(check_frame(self, X, reset=False))

    def _split(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        m = check_scale_out(frame[self.scale_out_].to_numpy(), self.scale_out_)
        return m, self.encoder_.transform(frame)
