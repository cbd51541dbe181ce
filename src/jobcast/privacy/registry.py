"""Choose a synthesizer by name (``--method``); the default is the one that measures best."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jobcast.errors import InputError
from jobcast.privacy.base import BaseSynthesizer
from jobcast.privacy.perfmodel import PerfModelSynthesizer
from jobcast.privacy.synthesizers import (
    IndependentSynthesizer,
    PrivBayesSynthesizer,
    RandomSynthesizer,
)

__all__ = ["METHODS", "DEFAULT_METHOD", "ROLES", "bound_roles", "make_synthesizer", "role_params"]

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

#: The roles of a job's columns that a release names (its schema, never values).
ROLES = ("runtime", "scale_out", "machine_type")

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


def role_params(method: str, roles: Mapping[str, str]) -> dict[str, Any]:
    """The job's runtime and scale-out column names, as ``method`` takes them.

    A method that models the runtime (perfmodel) takes ``runtime`` and ``scale_out``;
    a job whose columns are named otherwise (``import csv --runtime secs``) would fail
    with the defaults ``gross_runtime`` and ``instance_count``. The others take neither.
    """
    name = _ALIASES.get(method, method)
    if name not in METHODS:
        raise InputError(f"unknown method {method!r}; choose one of {sorted(METHODS)}")
    accepted = set(METHODS[name]._param_names())
    out: dict[str, Any] = {}
    if not roles:  # nothing said: the method's defaults
        return out
    if "runtime" in accepted and roles.get("runtime"):
        out["runtime"] = roles["runtime"]
    if "scale_out" in accepted:
        out["scale_out"] = roles.get("scale_out")
    return out


def bound_roles(roles: Mapping[str, str | None] | None, names: Sequence[str]) -> dict[str, str]:
    """The roles whose column is among ``names`` (a job without a scale-out has none)."""
    out: dict[str, str] = {}
    for role, name in (roles or {}).items():
        if role not in ROLES:
            raise InputError(f"unknown column role {role!r}; roles are {list(ROLES)}")
        if name is not None and name in names:
            out[role] = str(name)
    return out
