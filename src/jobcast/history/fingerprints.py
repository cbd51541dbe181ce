"""Fingerprints of executions (what the privacy ledger ties a release to) and the OS user.

A fingerprint is a 64-bit hash of an execution's canonical row: scale-out and runtime as
floats (``4`` and ``4.0`` are one value), machine type as text, start and finish in UTC,
and the attribute values in the order of their sorted names (numbers as floats, other
values as text; each value hashed on its own, whatever else its column holds). Job name,
ids, origin and source are left out, so the same trace file gives the same fingerprints
whatever job it is imported as. Hashing is vectorized (pandas' keyed SipHash with its
fixed key).
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from pandas.util import hash_array

__all__ = ["execution_fingerprint", "frame_fingerprints", "current_user"]


def current_user() -> str:
    """The OS user recorded with releases and budget changes."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (containers)
        return "unknown"


_NONE = np.uint64(0x9E3779B97F4A7C15)  # a missing value
_TEXT = np.uint64(0xC2B2AE3D27D4EB4F)  # marks text, so "4" and 4 differ
_PRIME = np.uint64(1099511628211)


def _hash_values(values: Sequence[Any]) -> np.ndarray:
    """One uint64 per value, the same for a value whatever the rest of its column holds."""
    s = pd.Series(list(values))
    out = np.full(len(s), _NONE, dtype=np.uint64)
    if s.dtype.kind in "biuf":
        x = s.to_numpy(dtype=float)
        ok = ~np.isnan(x)
        out[ok] = hash_array(x[ok])
        return out
    obj = s.to_numpy(dtype=object)
    missing = pd.isna(obj)
    number = np.fromiter(
        (isinstance(v, int | float | np.number) for v in obj), dtype=bool, count=len(obj)
    )
    num = number & ~missing
    if num.any():
        out[num] = hash_array(obj[num].astype(float))
    text = ~number & ~missing
    if text.any():
        out[text] = hash_array(obj[text].astype(str).astype(object)) ^ _TEXT
    return out


def _hash_times(values: Sequence[datetime | None]) -> np.ndarray:
    # naive times come from SQLite and are UTC; aware ones from PostgreSQL
    t = pd.to_datetime(pd.Series(list(values), dtype=object), utc=True, format="mixed")
    out = np.full(len(t), _NONE, dtype=np.uint64)
    ok = t.notna().to_numpy()
    if ok.any():
        out[ok] = hash_array(t[ok].astype("int64").to_numpy())
    return out


def frame_fingerprints(
    *,
    scale_out: Sequence[Any],
    machine_type: Sequence[Any],
    gross_runtime: Sequence[Any],
    started_at: Sequence[datetime | None],
    finished_at: Sequence[datetime | None],
    attributes: Sequence[Mapping[str, Any]],
) -> list[str]:
    """Fingerprints (16 hex digits each) of executions given column by column."""
    n = len(gross_runtime)
    if n == 0:
        return []
    names = sorted({str(k) for a in attributes for k in a})
    columns = [
        _hash_values(scale_out),
        _hash_values(machine_type),
        _hash_values(gross_runtime),
        _hash_times(started_at),
        _hash_times(finished_at),
        *(_hash_values([a.get(name) for a in attributes]) for name in names),
    ]
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for c in columns:
            h = (h * _PRIME) ^ c  # wraps modulo 2**64 by design
    return [f"{int(v):016x}" for v in h]


def execution_fingerprint(
    *,
    scale_out: Any,
    machine_type: Any,
    gross_runtime: Any,
    attributes: Mapping[str, Any],
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
) -> str:
    """The fingerprint of one execution (see :func:`frame_fingerprints`)."""
    return frame_fingerprints(
        scale_out=[scale_out],
        machine_type=[machine_type],
        gross_runtime=[gross_runtime],
        started_at=[started_at],
        finished_at=[finished_at],
        attributes=[attributes],
    )[0]
