"""The single runtime models by name (``auto``, which chooses among them, lives in selection)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from sklearn.base import BaseEstimator

from jobcast.models.baseline import MedianModel
from jobcast.models.bell import BellModel
from jobcast.models.ernest import ErnestModel
from jobcast.models.gbm import GradientBoostingModel
from jobcast.models.kernel import KernelRegression
from jobcast.models.loglinear import LogLinearModel
from jobcast.models.names import BASE_MODEL_NAMES
from jobcast.models.optimistic import OptimisticModel

__all__ = ["BASE_MODELS", "takes"]


def _optimistic_gbm(**kwargs: Any) -> OptimisticModel:
    return OptimisticModel(kind="gbm", **kwargs)


def takes(factory: Callable[..., Any], parameter: str) -> bool:
    """Whether ``factory`` accepts the keyword ``parameter``."""
    parameters = inspect.signature(factory).parameters
    return parameter in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


#: The single models, by name (the order of :data:`jobcast.models.names.BASE_MODEL_NAMES`).
BASE_MODELS: dict[str, Callable[..., BaseEstimator]] = {
    "ernest": ErnestModel,
    "bell": BellModel,
    "kernel": KernelRegression,
    "gbm": GradientBoostingModel,
    "optimistic": OptimisticModel,
    "optimistic-gbm": _optimistic_gbm,
    "loglinear": LogLinearModel,
    "median": MedianModel,
}

if tuple(BASE_MODELS) != BASE_MODEL_NAMES:  # pragma: no cover - guards the two lists
    raise ImportError("jobcast.models: BASE_MODELS and names.BASE_MODEL_NAMES differ")
