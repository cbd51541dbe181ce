"""Value objects for collected Spark applications and their iterations frame layout."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from jobcast.errors import InputError
from jobcast.history.records import ITERATION_COLUMNS

__all__ = [
    "ApplicationRun",
    "ITERATION_COLUMNS",
    "EXTRA_ITERATION_COLUMNS",
    "ms_to_datetime",
    "iterations_frame",
]

#: Context columns that follow the canonical ones: ``label`` (what identifies the iteration:
#: job id, job group or the matched description), ``jobs`` (Spark jobs in it) and ``tasks``
#: (task attempts that ended).
EXTRA_ITERATION_COLUMNS: tuple[str, ...] = ("label", "jobs", "tasks")


def ms_to_datetime(ms: int | float) -> datetime:
    """Convert Spark's epoch milliseconds to an aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000.0, tz=UTC)


@dataclass(frozen=True)
class ApplicationRun:
    """Summary of one Spark application run.

    Parameters
    ----------
    app_id
        Spark application id (with ``_<attempt>`` appended for a retried attempt).
    app_name
        ``spark.app.name``.
    started_at
        Application start (UTC).
    finished_at
        Application end, or the last event seen when it has not ended (UTC).
    gross_runtime_s
        ``finished_at - started_at`` in seconds.
    final_executors
        Executors alive at the end (at least 1 for a local-mode driver).
    max_executors
        Most executors alive at any time.
    completed
        True when the application's end was recorded.
    spark_version
        Spark version that wrote the log, if known.
    """

    app_id: str
    app_name: str
    started_at: datetime
    finished_at: datetime
    gross_runtime_s: float
    final_executors: int
    max_executors: int
    completed: bool
    spark_version: str | None = None

    def __post_init__(self) -> None:
        if not self.app_id:
            raise InputError("ApplicationRun needs a non-empty app_id")
        if self.started_at.tzinfo is None or self.finished_at.tzinfo is None:
            raise InputError("ApplicationRun times must be timezone-aware (UTC)")
        if self.finished_at < self.started_at:
            raise InputError(
                f"application {self.app_id} finishes ({self.finished_at}) before it starts "
                f"({self.started_at})"
            )
        if not math.isfinite(self.gross_runtime_s) or self.gross_runtime_s < 0:
            raise InputError(f"gross_runtime_s must be finite and >= 0, got {self.gross_runtime_s}")
        if self.final_executors < 0 or self.max_executors < self.final_executors:
            raise InputError(
                f"executor counts are inconsistent: final {self.final_executors}, "
                f"max {self.max_executors}"
            )


def iterations_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Build the iterations DataFrame from row mappings, renumbering iterations by start.

    Parameters
    ----------
    rows
        Mappings with the canonical and extra columns except ``iteration``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ITERATION_COLUMNS` then :data:`EXTRA_ITERATION_COLUMNS`.
    """
    columns = list(ITERATION_COLUMNS) + list(EXTRA_ITERATION_COLUMNS)
    frame = pd.DataFrame(list(rows))
    if frame.empty:
        frame = pd.DataFrame({c: pd.Series(dtype=_DTYPES[c]) for c in columns})
        return frame
    frame = frame.sort_values(["execution", "started_at"], kind="stable").reset_index(drop=True)
    frame["iteration"] = frame.groupby("execution").cumcount()
    for c in columns:
        if c not in frame.columns:
            frame[c] = pd.Series(dtype=_DTYPES[c])
    frame = frame[columns]
    return frame.astype({c: _DTYPES[c] for c in columns})


_DTYPES: dict[str, Any] = {
    "execution": "string",
    "iteration": "int64",
    "started_at": "datetime64[ns, UTC]",
    "finished_at": "datetime64[ns, UTC]",
    "duration_s": "float64",
    "scale_out": "int64",
    "records": "int64",
    "cpu": "float64",
    "disk": "int64",
    "net": "int64",
    "label": "string",
    "jobs": "int64",
    "tasks": "int64",
}
