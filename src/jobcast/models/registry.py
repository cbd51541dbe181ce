"""The runtime models by name, as the command line and the evaluation refer to them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sklearn.base import BaseEstimator

from jobcast.errors import InputError
from jobcast.models.catalog import BASE_MODELS, takes
from jobcast.models.names import MODEL_NAMES
from jobcast.models.selection import AutoModel

__all__ = ["BASE_MODELS", "MODEL_NAMES", "make_model"]


def make_model(name: str, **kwargs: Any) -> BaseEstimator:
    """Return a new, unfitted runtime model by name.

    Parameters
    ----------
    name
        One of :data:`MODEL_NAMES`: ``auto`` (cross-validated choice),
        ``ernest``, ``bell`` (scale-out only), ``kernel`` (scale-out only),
        ``gbm``, ``optimistic``, ``optimistic-gbm`` or ``loglinear``.
    **kwargs
        Passed to the model's constructor (e.g. ``scale_out``, ``random_state``;
        ``random_state`` is dropped for the deterministic models).

    Returns
    -------
    sklearn.base.BaseEstimator

    Raises
    ------
    jobcast.errors.InputError
        If the name is unknown or a keyword is not a parameter of that model.

    Examples
    --------
    >>> make_model("optimistic-gbm", random_state=0).kind
    'gbm'
    """
    if name == "auto":
        factory: Callable[..., BaseEstimator] = AutoModel
    elif name in BASE_MODELS:
        factory = BASE_MODELS[name]
    else:
        raise InputError(f"Unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}.")
    if "random_state" in kwargs and not takes(factory, "random_state"):
        # deterministic models: a seed given to every model alike does not apply
        kwargs = {k: v for k, v in kwargs.items() if k != "random_state"}
    try:
        return factory(**kwargs)
    except TypeError as e:
        raise InputError(f"Model {name!r} does not take these options: {e}") from e
