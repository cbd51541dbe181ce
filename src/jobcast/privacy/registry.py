"""Choose a synthesizer by name (``--method``); the default is the one that measures best."""

from __future__ import annotations

from typing import Any

from jobcast.errors import InputError
from jobcast.privacy.base import BaseSynthesizer
from jobcast.privacy.perfmodel import PerfModelSynthesizer
from jobcast.privacy.synthesizers import (
    IndependentSynthesizer,
    PrivBayesSynthesizer,
    RandomSynthesizer,
)

__all__ = ["METHODS", "DEFAULT_METHOD", "make_synthesizer"]

#: method name -> synthesizer class
METHODS: dict[str, type[BaseSynthesizer]] = {
    "perfmodel": PerfModelSynthesizer,
    "privbayes": PrivBayesSynthesizer,
    "independent": IndependentSynthesizer,
    "random": RandomSynthesizer,
}
# DataSynthesizer's names for its modes
_ALIASES = {
    "correlated": "privbayes",
    "correlated_attribute": "privbayes",
    "independent_attribute": "independent",
}

#: the method with the best measured utility (``jobcast evaluate privacy``)
DEFAULT_METHOD = "perfmodel"


def make_synthesizer(method: str = DEFAULT_METHOD, **params: Any) -> BaseSynthesizer:
    """Build a synthesizer by name.

    Parameters
    ----------
    method
        One of :data:`METHODS` (or DataSynthesizer's mode names ``correlated``,
        ``independent_attribute``).
    **params
        Constructor keyword arguments (``domain``, ``epsilon``, ``random_state``, ...).

    Raises
    ------
    InputError
        For an unknown method or parameter.
    """
    name = _ALIASES.get(method, method)
    if name not in METHODS:
        raise InputError(f"unknown method {method!r}; choose one of {sorted(METHODS)}")
    cls = METHODS[name]
    try:
        return cls(**params)
    except TypeError as e:
        raise InputError(f"bad parameters for method {name!r}: {e}") from e
