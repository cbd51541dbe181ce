"""Offline runtime models: Ernest, BELL, gradient boosting, C3O's models, selection, configurator."""

from jobcast.models.bell import BellModel
from jobcast.models.ernest import ErnestModel
from jobcast.models.kernel import KernelRegression

__all__ = ["BellModel", "ErnestModel", "KernelRegression"]
