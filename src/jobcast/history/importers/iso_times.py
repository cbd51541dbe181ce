"""Times of a trace file: ISO 8601 only, so that no date is read two ways.

``pd.Timestamp("12.07.2021")`` guesses each value's format on its own: a day up to 12
is read month-first (7 December), one above day-first (13 July), so one file held dates
read both ways without a word. Only a year-first date (``2021-07-04``, then an optional
time after a space or ``T``, fractions, ``Z`` or an offset) is accepted.
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["ISO_HINT", "iso_time"]

#: How a refusal says what to write.
ISO_HINT = (
    "write times year first, ISO 8601, like 2021-07-04 19:22:18.08 or "
    "2021-07-04T19:22:18+02:00; day- or month-first dates such as 04.07.2021 or "
    "07/04/2021 are ambiguous: convert the column"
)

_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?| ?UTC)?"
)


def iso_time(cell: str) -> pd.Timestamp | None:
    """The ISO 8601 time in ``cell``, or None when it is none (or not a valid date)."""
    text = cell.strip()
    if not _ISO.fullmatch(text):
        return None
    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError):
        return None
    return None if pd.isna(ts) else ts
