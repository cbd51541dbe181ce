"""Checks every import passes before the database sees it: names, ranges, text, duplicates.

The same checks run on SQLite and PostgreSQL, so that a value one of them would store
and the other refuse (a 5,000-character name, a NUL byte, a scale-out of 1e30, an
attribute of 1e400) gets the same message naming file, line and column on both.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobcast.errors import ImportFormatError, InputError
from jobcast.history.records import (
    EXECUTION_COLUMNS,
    ExecutionTable,
    IterationTable,
    SourceKind,
)
from jobcast.history.values import (
    MAX_NAME,
    MAX_NUMBER,
    MAX_SCALE_OUT,
    MAX_TEXT,
    number_problem,
    text_problem,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "RESERVED_COLUMNS",
    "address_problem",
    "DURATION_SLACK_S",
    "check_execution_table",
    "check_iteration_duration",
    "check_iteration_table",
    "check_new_job_name",
    "check_numbers",
    "content_hash",
]

#: Names of the execution frame's own columns, which no context attribute may take.
RESERVED_COLUMNS = frozenset((*EXECUTION_COLUMNS, "source_line"))
_ROLE_OPTIONS = {"gross_runtime": "--runtime", "scale_out": "--scale-out",
                 "machine_type": "--machine-type"}
_MAX_ITERATION = 10_000_000
_HASH_ROWS = 250_000


def address_problem(name: str) -> str | None:
    """Why ``name`` cannot be one segment of a web address (``/jobs/NAME``), or None.

    A ``/`` splits the segment in two even when sent as ``%2F`` (servers decode it
    before routing), and browsers resolve ``.`` and ``..`` (also as ``%2E``) as steps
    of the path: the dashboard's and the API's addresses of such a job lead elsewhere.
    """
    if "/" in name:
        return "holds '/', which would split its address /jobs/NAME (dashboard and API) in two"
    if name in (".", ".."):
        return (
            "is read by browsers as a step of a path ('.' here, '..' up), so its address "
            "/jobs/NAME would lead to another page"
        )
    return None


def check_new_job_name(name: str) -> None:
    """Refuse a name for a new job that would read like another or not read at all.

    Names the history holds already stay usable as they are; only new jobs are checked,
    so that " gbt ", "gbt" and "gbt" with a tab after it, or "gü" written with a combining
    accent, do not become different jobs that look alike, and every job has a page and
    API address of its own (see :func:`address_problem`). Imports, the collector and
    every other creator of jobs call this one check.

    Raises
    ------
    InputError
        The name starts or ends with white space, holds a control character or a ``/``,
        is ``.`` or ``..``, or is not in Unicode normal form NFC.
    """
    if name != name.strip():
        raise InputError(
            f"the job name {name!r} starts or ends with white space; use {name.strip()!r}"
        )
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise InputError(f"the job name {name!r} holds a control character; leave it out")
    problem = address_problem(name)
    if problem is not None:
        fix = (
            f"use another separator, e.g. {name.replace('/', '-')!r}"
            if "/" in name
            else "give the job a name with other characters, e.g. 'etl'"
        )
        raise InputError(f"the job name {name!r} {problem}; {fix}")
    nfc = unicodedata.normalize("NFC", name)
    if nfc != name:
        raise InputError(
            f"the job name {name!r} is not in Unicode normal form NFC (its letters can be "
            f"written as {nfc!r}, which looks the same); use that form"
        )


def _where(table: ExecutionTable) -> str:
    return table.provenance.origin or str(table.provenance.kind)


def _line(frame: pd.DataFrame, position: int) -> int | None:
    if "source_line" in frame.columns:
        return int(frame["source_line"].iloc[position])
    return None


def _check_numbers(
    path: str,
    frame: pd.DataFrame,
    column: str,
    *,
    label: str,
    low: float,
    high: float,
    integer: bool = False,
    lines: pd.DataFrame | None = None,
    what: str | None = None,
) -> None:
    import numpy as np
    import pandas as pd

    if column not in frame.columns:
        return
    raw = frame[column]
    present = raw.notna().to_numpy()
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(values) & (values >= low) & (values <= high)
        if integer:
            ok &= np.floor(values) == values
    bad = np.flatnonzero(present & ~ok)
    if len(bad) == 0:
        return
    i = int(bad[0])
    value = raw.iloc[i]
    kind = "a whole number" if integer else "a finite number"
    raise ImportFormatError(
        path,
        f"{what or 'value'} {value!r} is not {kind} within {low:g} .. {high:g}; fix the value "
        f"({len(bad)} row(s) affected)",
        line=_line(lines if lines is not None else frame, i),
        column=label,
    )


def _check_texts(
    path: str, frame: pd.DataFrame, column: str, *, label: str, limit: int = MAX_TEXT
) -> None:
    if column not in frame.columns or frame[column].dtype.kind in "biufM":
        return
    for i, value in enumerate(frame[column].tolist()):
        if isinstance(value, str):
            problem = text_problem(value, limit=limit)
            if problem is not None:
                raise ImportFormatError(
                    path, f"{label} value {problem}", line=_line(frame, i), column=label
                )


def _check_names(table: ExecutionTable) -> None:
    path = _where(table)
    spec = table.job
    for what, name in [("job name", spec.name), *(("attribute", a) for a in spec.attribute_names)]:
        problem = text_problem(name, limit=MAX_NAME)
        if problem is not None:
            shown = name if len(name) <= 40 else name[:40] + "..."
            raise ImportFormatError(
                path, f"{what} {shown!r} {problem} (at most {MAX_NAME} characters, no NUL)"
            )
        if not name.strip():
            raise ImportFormatError(path, f"{what} is empty; give it a name")
    for name in spec.attribute_names:
        if name in RESERVED_COLUMNS:
            role = _ROLE_OPTIONS.get(name)
            fix = f"pass it as {role} if that is what it holds, or rename" if role else "rename"
            raise ImportFormatError(
                path,
                f"column {name!r} would be a context attribute, but jobcast keeps that name for "
                f"its own column of every execution; {fix} the column",
                line=1,
                column=name,
            )


def check_execution_table(table: ExecutionTable) -> None:
    """Refuse, before any write, values the history cannot hold the same on every database.

    Raises
    ------
    ImportFormatError
        Naming the file (or origin), the line when known, the column and the fix.
    """
    _check_names(table)
    path, frame = _where(table), table.frame
    spec = table.job
    _check_numbers(
        path, frame, "scale_out", label=spec.scale_out_column or "scale_out", low=1,
        high=MAX_SCALE_OUT, integer=True, what="scale-out",
    )
    _check_numbers(
        path, frame, "gross_runtime", label=spec.runtime_column or "gross_runtime", low=1e-9,
        high=MAX_NUMBER, what="runtime",
    )
    _check_texts(path, frame, "machine_type", label="machine_type", limit=100)
    _check_texts(path, frame, "external_id", label="execution id", limit=300)
    for a in table.job.attributes:
        if a.numeric:
            _check_numbers(path, frame, a.name, label=a.name, low=-MAX_NUMBER, high=MAX_NUMBER)
        else:
            _check_texts(path, frame, a.name, label=a.name)


def check_numbers(job: str, values: Mapping[str, Any], numeric: Collection[str]) -> None:
    """Refuse a live run's value of a numeric attribute that is no finite number in range.

    Raises
    ------
    InputError
        Naming the job and attribute: a text such as ``"15 GB"`` stored for a numeric
        attribute would break every model that reads the job.
    """
    for name in sorted(numeric):
        value = values.get(name)
        problem = None if value is None else number_problem(value)
        if problem is not None:
            raise InputError(
                f"job {job!r}: attribute {name!r} holds numbers, but {problem}; report "
                "it as a plain number (in the unit of its other values)"
            )


def check_iteration_table(table: IterationTable) -> None:
    """:func:`check_execution_table` for the executions, plus the iterations' ranges."""
    check_execution_table(table.executions)
    path, it = _where(table.executions), table.iterations
    _check_numbers(
        path, it, "iteration", label="iteration", low=0, high=_MAX_ITERATION, integer=True
    )
    _check_numbers(path, it, "duration_s", label="duration_s", low=0, high=MAX_NUMBER)
    _check_numbers(
        path, it, "scale_out", label="scale-out", low=1, high=MAX_SCALE_OUT, integer=True
    )
    for column in ("records", "cpu", "disk", "net"):
        _check_numbers(path, it, column, label=column, low=0, high=MAX_NUMBER)


def content_hash(table: ExecutionTable, extra: pd.DataFrame | None = None) -> str | None:
    """SHA-256 of what an import stores (rows, not file names); None for shares and live runs.

    Two imports with the same hash hold the same executions: the second one is refused.
    """
    import pandas as pd

    if table.provenance.kind != SourceKind.FILE:
        return None
    h = hashlib.sha256()
    parts: list[tuple[str, Any]] = [("executions", table.frame)]
    if extra is not None:
        parts.append(("iterations", extra))
    for label, frame in parts:
        columns = sorted(c for c in frame.columns if c != "source_line")
        h.update(f"{label}:{columns}".encode())
        positions = [frame.columns.get_loc(c) for c in columns]
        for start in range(0, len(frame), _HASH_ROWS):  # slices: bounded temporary memory
            part = frame.iloc[start : start + _HASH_ROWS, positions]
            h.update(pd.util.hash_pandas_object(part, index=False).to_numpy().tobytes())
    return h.hexdigest()


#: Slack (seconds) of :func:`check_iteration_duration` on both sides: an iteration's start,
#: end and duration are measured apart (two reports, two readings of the clock).
DURATION_SLACK_S = 1.0


def check_iteration_duration(where: str, start: datetime, end: datetime, duration: float) -> None:
    """Refuse an iteration's ``duration_s`` that contradicts its ``end - start``.

    A Spark job's runtime may be shorter than the wall time between its iteration's start
    and end (driver work, waits between its Spark jobs), never longer; and a duration
    under half of that wall time is a mix-up (a duration measured by one clock, times
    given by another). Allowed: ``wall / 2 - DURATION_SLACK_S <= duration <= wall +
    DURATION_SLACK_S``.

    Raises
    ------
    InputError
        Naming ``duration_s`` and both values.
    """
    wall = (end - start).total_seconds()
    if wall / 2 - DURATION_SLACK_S <= duration <= wall + DURATION_SLACK_S:
        return
    raise InputError(
        f"{where}: duration_s {duration:g} s contradicts finished_at - started_at = "
        f"{wall:g} s (started_at {start.isoformat()}, finished_at {end.isoformat()}): "
        f"duration_s must lie between half of that minus {DURATION_SLACK_S:g} s and that "
        f"plus {DURATION_SLACK_S:g} s; send the time the iteration ran, or no duration_s"
    )
