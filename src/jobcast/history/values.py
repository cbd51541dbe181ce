"""Turning pandas/numpy values into what the database stores (JSON-safe, UTC times)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from jobcast.errors import InputError, JobcastError

__all__ = [
    "clean",
    "utc",
    "text_problem",
    "number_problem",
    "check_epsilon",
    "same_value",
    "same_values",
    "MAX_NAME",
    "MAX_TEXT",
    "MAX_SCALE_OUT",
    "MAX_NUMBER",
]


def clean(value: Any) -> Any:
    """Turn numpy/pandas scalars into JSON-safe Python values (NaN becomes None)."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime) and hasattr(value, "to_pydatetime"):  # a pandas Timestamp
        return value.to_pydatetime()
    return value


def utc(value: Any) -> datetime | None:
    """Turn a timestamp-like value into an aware UTC datetime (None for missing)."""
    import pandas as pd  # here: reading the history must not import pandas

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


#: Longest job, attribute and node name the history stores (its columns' width).
MAX_NAME = 200
#: Longest text value of a context attribute or an origin.
MAX_TEXT = 10_000
#: Largest scale-out (machines or executors) of one execution.
MAX_SCALE_OUT = 100_000
#: Largest magnitude of a stored number (runtimes, sizes, records): beyond it, an error.
MAX_NUMBER = 1e15


def text_problem(value: str, *, limit: int = MAX_TEXT) -> str | None:
    """Why ``value`` cannot be stored as text (None when it can): NUL bytes or length."""
    if "\x00" in value:
        return "holds a NUL byte; remove it"
    if len(value) > limit:
        return f"has {len(value)} characters; at most {limit} are stored"
    return None


def number_problem(
    value: Any, *, integer: bool = False, low: float = -MAX_NUMBER, high: float = MAX_NUMBER
) -> str | None:
    """Why ``value`` cannot be stored as a number (None when it can): not finite or range."""
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError):
        return f"{value!r} is not a number"
    if not math.isfinite(x):
        return f"{value!r} is not a finite number"
    if not low <= x <= high:
        return f"{value!r} is outside the accepted range {low:g} .. {high:g}"
    if integer and not x.is_integer():
        return f"{value!r} is not a whole number"
    return None


def check_epsilon(
    value: Any,
    *,
    what: str = "epsilon",
    minimum: float = 0.0,
    error: type[JobcastError] = InputError,
    hint: str = "",
) -> float:
    """Return ``value`` as a float if it is a valid ε (a privacy budget amount), else raise.

    The one rule for every ε jobcast accepts (a release's, a budget's, a share's, a hub
    package's): a real number -- not a bool, not text -- that is finite and greater
    than 0, and at least ``minimum`` when the caller has one.  There is no truth test:
    0 is an error, never "privacy off".

    Parameters
    ----------
    value
        The ε to check.
    what
        The field's name in the message (``"epsilon"``, ``"--epsilon"``, ``"a privacy
        budget"``...).
    minimum
        The smallest accepted value (> 0 is always required; 0 adds nothing).
    error
        The exception class raised: each caller keeps the one its users rely on.
    hint
        Appended to every message after ``"; "`` (how to fix it), when given.

    Returns
    -------
    float
        ``value`` as a float.

    Raises
    ------
    JobcastError
        Of class ``error``, naming ``what`` and ``value``.

    Examples
    --------
    >>> check_epsilon(1)
    1.0
    >>> check_epsilon(float("inf"), what="a share's epsilon")
    Traceback (most recent call last):
    ...
    jobcast.errors.InputError: a share's epsilon must be a finite number > 0, got inf
    """
    tail = f"; {hint}" if hint else ""
    # bool is an int, and numpy's bool_ no number: both refused; numpy's numbers are Real
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise error(f"{what} must be a number > 0, got {value!r}{tail}")
    e = float(value)
    if not math.isfinite(e) or e <= 0.0:
        raise error(f"{what} must be a finite number > 0, got {value!r}{tail}")
    if e < minimum:
        raise error(
            f"{what} {e:g} is below the smallest accepted {minimum:g}: its noise would drown "
            f"every value{tail}"
        )
    return e


def same_value(a: Any, b: Any) -> bool:
    """Whether two stored values are the same (times by instant, numbers by value)."""
    if isinstance(a, datetime) or isinstance(b, datetime):
        return utc(a) == utc(b)
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return float(a) == float(b)
    return bool(a == b)


def same_values(a: Mapping[str, Any], b: Mapping[str, Any], fields: Iterable[str]) -> bool:
    """Whether two rows hold the same ``fields`` (a missing key is None)."""
    return all(
        (a.get(k) is None) == (b.get(k) is None) and (a.get(k) is None or same_value(a[k], b[k]))
        for k in fields
    )
