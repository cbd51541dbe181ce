"""What a context attribute is: its kind guessed from its name, and a live job's attributes."""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping
from typing import Any

from jobcast.errors import InputError
from jobcast.history.records import Attribute, AttributeKind, JobSpec

__all__ = [
    "guess_kind",
    "infer_attribute",
    "live_context",
    "live_job_spec",
    "parse_kind_overrides",
]

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


def live_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """Context values of a run seen live, as the history stores them.

    A boolean becomes the text ``"true"`` or ``"false"`` (as JSON spells it): a category,
    the same as a file's column of ``true``/``false`` becomes on import, and never the
    number 1 or 0 (which ``true`` would silently be for a numeric attribute).
    """
    return {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in context.items()}


def live_job_spec(name: str, context: Mapping[str, Any]) -> JobSpec:
    """The spec of job ``name`` first seen live (a collector report, a followed run).

    Every route that creates a job from a running application calls this, so that one
    context gives one spec wherever it arrives. Each key of ``context`` becomes an
    attribute (kind guessed from its name, see :func:`infer_attribute`), numeric when
    its value is a number; a boolean is a category (see :func:`live_context`). The job
    has no runtime, scale-out or machine-type column: live runs report those as such.

    Parameters
    ----------
    name
        Job name.
    context
        The first run's context values, by attribute name, in the attributes' order.

    Examples
    --------
    >>> [(a.name, a.numeric) for a in live_job_spec("j", {"size": 3, "cache": True}).attributes]
    [('size', True), ('cache', False)]
    """
    attributes = tuple(
        infer_attribute(k, numeric=isinstance(v, numbers.Real) and not isinstance(v, bool))
        for k, v in context.items()
    )
    return JobSpec(
        name, attributes, runtime_column=None, scale_out_column=None, machine_type_column=None
    )


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
