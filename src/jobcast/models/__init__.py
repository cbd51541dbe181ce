"""Offline runtime models: Ernest, BELL, boosting, C3O's models, selection, configurator."""

from jobcast.models.bell import BellModel
from jobcast.models.configurator import (
    Candidate,
    ConfigurationResult,
    MachineAttribute,
    configure,
    machine_attributes,
    runtime_bound,
)
from jobcast.models.ernest import ErnestModel
from jobcast.models.gbm import GradientBoostingModel
from jobcast.models.kernel import KernelRegression
from jobcast.models.loglinear import LogLinearModel
from jobcast.models.optimistic import OptimisticModel
from jobcast.models.pricing import DEFAULT_PRICES, PriceTable
from jobcast.models.registry import BASE_MODELS, MODEL_NAMES, make_model
from jobcast.models.selection import DEFAULT_CANDIDATES, AutoModel

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
    "OptimisticModel",
    "PriceTable",
    "configure",
    "machine_attributes",
    "make_model",
    "runtime_bound",
]
