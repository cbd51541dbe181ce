"""Fingerprints of executions (what the privacy ledger ties a release to) and the OS user."""

from __future__ import annotations

import getpass
import hashlib
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["execution_fingerprint", "current_user"]


def current_user() -> str:
    """The OS user recorded with releases and budget changes."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (containers)
        return "unknown"


def _canon(value: Any) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        v = float(value)
        return repr(v) if math.isfinite(v) else str(v)
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).replace(tzinfo=None).isoformat()
    return str(value)


def execution_fingerprint(
    *,
    scale_out: Any,
    machine_type: Any,
    gross_runtime: Any,
    attributes: Mapping[str, Any],
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
) -> str:
    """A hash of an execution's canonical row, independent of job name, ids and origin.

    Numbers are compared as floats (``4`` and ``4.0`` are one value) and times in UTC, so
    the same trace file gives the same fingerprints whatever job it is imported as.
    """
    payload = [
        _canon(scale_out),
        _canon(machine_type),
        _canon(gross_runtime),
        sorted((str(k), _canon(v)) for k, v in attributes.items()),
        _canon(started_at),
        _canon(finished_at),
    ]
    blob = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:32]
