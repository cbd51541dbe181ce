"""Guessing what a context attribute describes from its column name."""

from __future__ import annotations

import re
from collections.abc import Mapping

from jobcast.errors import InputError
from jobcast.history.records import Attribute, AttributeKind

__all__ = ["guess_kind", "infer_attribute", "parse_kind_overrides"]

_RESOURCE = re.compile(
    r"(^|_)(slots|memory|mem|cores|vcpus?|cpus?|executors?|nodes?|instances?|gpus?|"
    r"instance_count|scale_out|machine_type|ram)($|_)",
    re.IGNORECASE,
)
_DATASET = re.compile(
    r"(size|bytes|mb|gb|rows|lines|records|observations|features|pages|links|edges|vertices|"
    r"line_length|points|dimensions|samples)",
    re.IGNORECASE,
)


def guess_kind(name: str) -> AttributeKind:
    """Classify an attribute by name: resource, dataset characteristic, else job parameter.

    The guess only labels attributes for people; no model depends on it, and
    ``--kind NAME=KIND`` overrides it on import.
    """
    if _RESOURCE.search(name):
        return AttributeKind.RESOURCE
    if _DATASET.search(name):
        return AttributeKind.DATASET
    return AttributeKind.PARAMETER


def infer_attribute(
    name: str, *, numeric: bool, kinds: Mapping[str, AttributeKind] | None = None
) -> Attribute:
    """The attribute ``name`` of a new job: its kind from ``kinds`` (``--kind``), else guessed.

    Every builder of a :class:`~jobcast.history.records.JobSpec` (importers, collectors,
    shares) calls this, so that one column gets one kind wherever it enters the history.

    Parameters
    ----------
    name
        Column name.
    numeric
        Whether its values are numbers.
    kinds
        Kinds given explicitly, by name.
    """
    kind = kinds.get(name) if kinds is not None else None
    return Attribute(name, kind if kind is not None else guess_kind(name), numeric)


def parse_kind_overrides(items: list[str] | None) -> Mapping[str, AttributeKind]:
    """Parse ``NAME=KIND`` strings (``--kind``) into a mapping."""
    out: dict[str, AttributeKind] = {}
    for item in items or []:
        name, sep, kind = item.partition("=")
        if not sep or not name:
            raise InputError(f"--kind takes NAME=KIND, got {item!r}")
        if name.strip() in out:
            raise InputError(f"--kind names {name.strip()!r} twice; give each attribute once")
        try:
            out[name.strip()] = AttributeKind(kind.strip().lower())
        except ValueError:
            raise InputError(
                f"--kind {item!r}: kind must be one of {', '.join(k.value for k in AttributeKind)}"
            ) from None
    return out
