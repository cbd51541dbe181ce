"""Offline runtime models: Ernest, BELL, boosting, C3O's models, selection, configurator.

The names below are imported on first use, so that ``import jobcast.models.names``
(the command line's help) does not load scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobcast.models.baseline import MedianModel
    from jobcast.models.bell import BellModel
    from jobcast.models.configurator import (
        Candidate,
        ConfigurationResult,
        configure,
        runtime_bound,
    )
    from jobcast.models.ernest import ErnestModel
    from jobcast.models.gbm import GradientBoostingModel
    from jobcast.models.kernel import KernelRegression
    from jobcast.models.loglinear import LogLinearModel
    from jobcast.models.machines import MachineAttribute, machine_attributes
    from jobcast.models.names import MODEL_NAMES
    from jobcast.models.optimistic import OptimisticModel
    from jobcast.models.pricing import DEFAULT_PRICES, PriceTable
    from jobcast.models.registry import BASE_MODELS, make_model
    from jobcast.models.selection import DEFAULT_CANDIDATES, AutoModel

_WHERE = {
    "AutoModel": "selection",
    "BASE_MODELS": "registry",
    "BellModel": "bell",
    "Candidate": "configurator",
    "ConfigurationResult": "configurator",
    "DEFAULT_CANDIDATES": "selection",
    "DEFAULT_PRICES": "pricing",
    "ErnestModel": "ernest",
    "GradientBoostingModel": "gbm",
    "KernelRegression": "kernel",
    "LogLinearModel": "loglinear",
    "MODEL_NAMES": "names",
    "MachineAttribute": "machines",
    "MedianModel": "baseline",
    "OptimisticModel": "optimistic",
    "PriceTable": "pricing",
    "configure": "configurator",
    "machine_attributes": "machines",
    "make_model": "registry",
    "runtime_bound": "configurator",
}

__all__ = [
    "AutoModel",
    "BASE_MODELS",
    "BellModel",
    "Candidate",
    "ConfigurationResult",
    "DEFAULT_CANDIDATES",
    "DEFAULT_PRICES",
    "ErnestModel",
    "GradientBoostingModel",
    "KernelRegression",
    "LogLinearModel",
    "MODEL_NAMES",
    "MachineAttribute",
    "MedianModel",
    "OptimisticModel",
    "PriceTable",
    "configure",
    "machine_attributes",
    "make_model",
    "runtime_bound",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'jobcast.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"jobcast.models.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
