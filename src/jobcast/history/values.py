"""Turning pandas/numpy values into what the database stores (JSON-safe, UTC times)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pandas as pd

__all__ = ["clean", "utc"]


def clean(value: Any) -> Any:
    """Turn numpy/pandas scalars into JSON-safe Python values (NaN becomes None)."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def utc(value: Any) -> datetime | None:
    """Turn a timestamp-like value into an aware UTC datetime (None for missing)."""
    value = clean(value)
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, datetime):
        # stored in UTC: SQLite keeps the wall time only, so other zones would compare wrong
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        return None
    out: datetime = ts.to_pydatetime()
    return out.astimezone(UTC) if out.tzinfo else out.replace(tzinfo=UTC)
