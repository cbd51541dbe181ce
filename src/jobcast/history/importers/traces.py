"""Importer of iteration-level traces: one row per iteration of an execution."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jobcast.errors import ImportFormatError, InputError
from jobcast.history.importers.cells import BadCell, comma_decimal, context_values
from jobcast.history.importers.iso_times import ISO_HINT, iso_time
from jobcast.history.importers.kinds import infer_attribute
from jobcast.history.importers.tabular import RawTable, parse_number, read_table
from jobcast.history.importers.units import DURATION_UNITS
from jobcast.history.records import (
    ExecutionTable,
    IterationTable,
    JobSpec,
    Provenance,
)

__all__ = ["TraceColumns", "read_traces", "option_of", "DURATION_UNITS"]


@dataclass(frozen=True)
class TraceColumns:
    """Which file columns hold the canonical trace fields.

    Repeated header names are addressed as ``NAME``, ``NAME.1``, ``NAME.2`` in order.
    Optional fields that are None are looked up by their canonical name and skipped
    when absent. ``context`` lists the per-execution context columns to keep.
    """

    execution: str = "execution"
    iteration: str = "iteration"
    duration: str = "duration_s"
    duration_unit: str = "s"
    scale_out: str = "scale_out"
    records: str | None = None
    cpu: str | None = None
    disk: str | None = None
    net: str | None = None
    input_size: str | None = None
    started: str | None = None
    finished: str | None = None
    run_started: str | None = None
    run_finished: str | None = None
    context: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.duration_unit not in DURATION_UNITS:
            raise InputError(
                f"--duration-unit must be one of {', '.join(DURATION_UNITS)}, "
                f"got {self.duration_unit!r}"
            )


def option_of(field_name: str) -> str:
    """The ``import traces`` option that names the column of a :class:`TraceColumns` field."""
    return f"--{field_name.replace('_', '-')}"


def _optional(table: RawTable, given: str | None, field_name: str, canonical: str) -> str | None:
    """The column of an optional field: ``given`` (which must exist), or ``canonical`` if any."""
    if given is not None:
        table.require_column(given, option=option_of(field_name))
        return given
    return canonical if canonical in table.header else None


def _times(
    table: RawTable, column: str, *, role: str, executions: list[str] | None = None
) -> list[pd.Timestamp]:
    """The column's times in UTC; ``role`` ("run end", ...) explains an empty cell."""
    out = []
    zoned: bool | None = None
    for i, (cell, line) in enumerate(zip(table.column(column), table.lines, strict=True)):
        if not cell.strip():
            raise ImportFormatError(
                table.path,
                _empty_time(role, None if executions is None else executions[i]),
                line=line,
                column=column,
            )
        ts = iso_time(cell)
        if ts is None:
            raise ImportFormatError(
                table.path,
                f"{cell!r} is not an ISO 8601 time; {ISO_HINT}",
                line=line,
                column=column,
            )
        if zoned is None:
            zoned = ts.tzinfo is not None
        elif zoned != (ts.tzinfo is not None):
            raise ImportFormatError(
                table.path,
                f"{cell!r} {'has' if not zoned else 'lacks'} a time zone while the column's "
                f"first time {'does not' if not zoned else 'does'}; give every time the same "
                "way (times without a zone are read as UTC)",
                line=line,
                column=column,
            )
        out.append(ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC"))
    return out


def _empty_time(role: str, execution: str | None) -> str:
    """Why a time is empty, and what to do: an empty end most often means still running."""
    if not role.endswith("end"):
        return f"the {role} is empty; every row needs its {role}"
    what = "run" if role == "run end" else "iteration"
    whose = f"execution {execution!r}" if execution is not None else f"the {what}"
    return (
        f"{whose} has an empty end: the {what} has not finished yet. Only "
        f"finished runs are imported: leave {'the run' if what == 'run' else 'its run'}'s "
        "rows out of the file and import them once it has finished; to follow a running "
        "application, use `jobcast watch`"
    )


def _first_bad(bad: Any) -> int | None:
    """Position of the first True of a boolean mask (array or Series), or None."""
    mask = np.asarray(bad, dtype=bool)
    return int(mask.argmax()) if mask.any() else None


def _ordered(table: RawTable, start: pd.Series, end: pd.Series, column: str) -> None:
    """Refuse a row whose end lies before its start, naming its line."""
    try:
        bad = (end < start).to_numpy(dtype=bool)
    except TypeError as e:
        raise ImportFormatError(
            table.path,
            "times with and without a time zone are mixed; give every time the same way",
            column=column,
        ) from e
    if (i := _first_bad(bad)) is not None:
        raise ImportFormatError(
            table.path,
            f"ends at {end.iloc[i]} before it starts at {start.iloc[i]}; swap or fix the "
            "times (is the column the end time?)",
            line=table.lines[i],
            column=column,
        )


def _constant_per_execution(
    table: RawTable, executions: pd.Series, times: pd.Series, column: str
) -> None:
    """Refuse a run start or end that differs between the rows of one execution."""
    first = times.groupby(executions.to_numpy(), sort=False).transform("first")
    if (i := _first_bad(times != first)) is not None:
        raise ImportFormatError(
            table.path,
            f"execution {executions.iloc[i]!r} has {times.iloc[i]} here but {first.iloc[i]} "
            "on its first row; a run's start and end must be the same on each of its rows",
            line=table.lines[i],
            column=column,
        )


def _inside_run(
    table: RawTable, it: pd.DataFrame, rs: pd.Series, rf: pd.Series, cols: TraceColumns
) -> None:
    """Refuse an iteration that starts before its run or ends after it (1 s of slack)."""
    slack = pd.Timedelta(seconds=1)
    for column, outside, where in (
        (cols.started or "started_at", "started_at", "before its run started"),
        (cols.finished or "finished_at", "finished_at", "after its run finished"),
    ):
        if outside not in it:
            continue
        times = it[outside].reindex(rs.index)
        bad = (times < rs - slack) if outside == "started_at" else (times > rf + slack)
        if (i := _first_bad(bad)) is not None:
            raise ImportFormatError(
                table.path,
                f"the iteration's time {times.iloc[i]} lies {where} ({rs.iloc[i]} to "
                f"{rf.iloc[i]}); check the time zones and that the columns are this run's",
                line=table.lines[i],
                column=column,
            )


def _within_span(table: RawTable, it: pd.DataFrame, cols: TraceColumns) -> None:
    """Refuse an iteration that lasts longer than from its start to its end.

    Timestamps rounded to the second may shorten the span by up to a second; beyond that
    (and 1 %) the duration is in another unit than ``--duration-unit`` says, or the
    columns are not this iteration's.
    """
    span = (it["finished_at"] - it["started_at"]).dt.total_seconds().to_numpy()
    i = _first_bad(it["duration_s"].to_numpy() > 1.01 * span + 1.0)
    if i is None:
        return
    raise ImportFormatError(
        table.path,
        f"the duration ({it['duration_s'].iloc[i]:g} s) is longer than the iteration's start "
        f"to end ({span[i]:g} s); is --duration-unit right (durations are read in "
        f"{cols.duration_unit}), and are the start and end columns this iteration's?",
        line=int(it["line"].iloc[i]),
        column=cols.duration,
    )


def _numbered_from_zero(
    it: pd.DataFrame, path: str, column: str, *, running: bool = False
) -> pd.DataFrame:
    """Each execution's iterations as 0, 1, 2, ...

    A first index of 1 that every execution shares (iterations counted from 1) is taken
    off; a first index above 1, a gap, or executions starting at different indices are
    refused with the line that shows it.
    """
    first = it.groupby("execution", sort=False)["iteration"].transform("min")
    base = int(first.iloc[0]) if len(it) else 0
    if base > 1:
        row = it[first == base].sort_values("iteration", kind="stable").iloc[0]
        fix = (
            "list every finished iteration of the running execution, from its first"
            if running
            else "renumber the executions' iterations, or import their first iterations too"
        )
        raise ImportFormatError(
            path,
            f"execution {row['execution']!r} starts at iteration {row['iteration']}; "
            f"iterations are numbered from 0 or 1: {fix}",
            line=int(row["line"]),
            column=column,
        )
    differs = (first != base).to_numpy()
    if differs.any():
        row = it[differs].sort_values("iteration", kind="stable").iloc[0]
        other = it["execution"].iloc[0]
        raise ImportFormatError(
            path,
            f"execution {row['execution']!r} starts at iteration {row['iteration']} while "
            f"{other!r} starts at {base}; number every execution's iterations from the same "
            "index (0 or 1), without gaps (is an execution missing its first iterations?)",
            line=int(row["line"]),
            column=column,
        )
    ordered = it.sort_values("iteration", kind="stable")
    ordered = ordered.assign(_rank=ordered.groupby("execution", sort=False).cumcount())
    skipped = ordered[(ordered["iteration"] - base) != ordered["_rank"]]
    if len(skipped):
        bad = skipped.sort_values("line", kind="stable").iloc[0]
        missing = int(bad["_rank"]) + base
        fix = (
            "list every finished iteration of the running execution"
            if running
            else "drop the execution, or renumber it if the gap is in the numbering only"
        )
        raise ImportFormatError(
            path,
            f"execution {bad['execution']!r} has no iteration {missing} before iteration "
            f"{bad['iteration']}; an execution's iterations must follow each other without "
            f"gaps ({fix})",
            line=int(bad["line"]),
            column=column,
        )
    return it.assign(iteration=it["iteration"] - base) if base else it


def read_traces(
    path: str | Path,
    *,
    job: str,
    columns: TraceColumns | None = None,
    sep: str | None = None,
    single_execution: str | None = None,
    decimal: str = ".",
    sep_option: str | None = "--sep",
) -> IterationTable:
    """Read an iteration-level trace into executions with their iterations.

    Parameters
    ----------
    path
        The trace file.
    job
        Job name to import into.
    columns
        Column mapping; defaults to the canonical names.
    sep
        Field separator (guessed when None).
    single_execution
        When the file has no execution column, the id of the one execution it holds
        (a running execution's iterations so far).
    decimal
        The numbers' decimal mark, ``.`` or ``,`` (with ``,`` a number may be written
        either way, and the field separator must be another one).
    sep_option
        The caller's option that gives ``sep``, named when a row has another number of
        fields than the header; None when the caller has none (the row is to be fixed).
        A missing column names the ``import traces`` option of its field
        (:func:`option_of`).

    Raises
    ------
    InputError
        For only one of ``run_started`` and ``run_finished``.
    ImportFormatError
        With file, line and column for a missing column, a duration that is not a
        number >= 0 (0 is a measurement below the clock's resolution; progress
        estimation reads it as 1 ms), an execution whose durations are all 0, an
        iteration index that is not a non-negative integer, a scale-out that is not a
        positive integer, a repeated (execution, iteration) pair, iterations with a gap
        or executions numbered from different first indices (iterations numbered from 1
        in every execution are stored from 0), or context values that change within one
        execution. Cells read as in ``import csv``
        (:mod:`jobcast.history.importers.cells`): a decimal comma without ``decimal=","``
        is refused with that hint, and so is text in a context column of mostly numbers.

    Examples
    --------
    The Ellis histories (pipe-separated, durations in milliseconds)::

        read_traces("gbt.csv", job="gbt", sep="|", columns=TraceColumns(
            execution="ID", iteration="JOB_ID", duration="DURATION_MS",
            duration_unit="ms", scale_out="SCALE_OUT"))
    """
    cols = columns or TraceColumns()
    comma = comma_decimal(decimal)
    table = read_table(path, sep=sep, dedupe=True, comma=comma, sep_option=sep_option)
    required = ["iteration", "duration", "scale_out"]
    if single_execution is None:
        required.insert(0, "execution")
    if (cols.run_started is None) != (cols.run_finished is None):
        given, missing = (
            ("run_started", "run_finished")
            if cols.run_finished is None
            else ("run_finished", "run_started")
        )
        raise InputError(
            f"{option_of(given)} needs {option_of(missing)}: a run's span is read from "
            "both columns; give both, or neither"
        )
    if cols.run_started is not None:
        required += ["run_started", "run_finished"]
    for field_name in required:  # checked on the file's own header
        table.require_column(getattr(cols, field_name), option=option_of(field_name))
    if single_execution is not None and cols.execution not in table.header:
        table = RawTable(
            table.path,
            (*table.header, cols.execution),
            tuple((*r, single_execution) for r in table.rows),
            table.lines,
        )
    execs = table.column(cols.execution)
    for cell, line in zip(execs, table.lines, strict=True):
        if not cell:
            raise ImportFormatError(
                table.path, "empty execution id", line=line, column=cols.execution
            )

    def numbers(column: str, what: str, **rules: bool) -> list[float]:
        cells = table.column(column)
        return parse_number(table, column, cells, what=what, comma=comma, **rules)

    iters = numbers(cols.iteration, "iteration index", non_negative=True, integer=True)
    factor = DURATION_UNITS[cols.duration_unit]
    # 0 is a measurement below the clock's resolution, read as 1 ms by progress estimation
    durations = [d * factor for d in numbers(cols.duration, "duration", non_negative=True)]
    scale = numbers(cols.scale_out, "scale-out", positive=True, integer=True)
    it = pd.DataFrame(
        {
            "execution": execs,
            "iteration": [int(x) for x in iters],
            "duration_s": durations,
            "scale_out": [int(x) for x in scale],
            "line": list(table.lines),
        }
    )
    dup = it.duplicated(["execution", "iteration"], keep="first")
    if dup.any():
        row = it[dup].iloc[0]
        raise ImportFormatError(
            table.path,
            f"execution {row['execution']!r} has iteration {row['iteration']} twice; "
            "each (execution, iteration) pair must appear once",
            line=int(row["line"]),
            column=cols.iteration,
        )
    it = _numbered_from_zero(it, table.path, cols.iteration, running=single_execution is not None)
    for canonical in ("records", "cpu", "disk", "net"):
        found = _optional(table, getattr(cols, canonical), canonical, canonical)
        if found is not None:
            it[canonical] = numbers(found, canonical)
    started = _optional(table, cols.started, "started", "started_at")
    finished = _optional(table, cols.finished, "finished", "finished_at")
    if started is not None:
        it["started_at"] = _times(table, started, role="iteration start")
    if finished is not None:
        it["finished_at"] = _times(table, finished, role="iteration end", executions=execs)
    if started is not None and finished is not None:
        _ordered(table, it["started_at"], it["finished_at"], finished)
        _within_span(table, it, cols)

    context_names: list[str] = list(cols.context)
    input_size = _optional(table, cols.input_size, "input_size", "input_size")
    if input_size is not None and input_size not in context_names:
        context_names.insert(0, input_size)
    context: dict[str, list[float] | list[str]] = {}
    attributes = []
    for name in context_names:
        table.require_column(name, option=option_of("context"))
        read = context_values(table.column(name), column=name, comma=comma)
        if isinstance(read, BadCell):
            line = table.lines[read.row]
            raise ImportFormatError(table.path, read.message, line=line, column=name)
        values, numeric = read
        attr_name = "input_size" if name == input_size else name
        context[attr_name] = values
        attributes.append(infer_attribute(attr_name, numeric=numeric))
    ctx = pd.DataFrame(context, index=it.index)
    ctx["execution"] = it["execution"]
    for name in context:
        varies = ctx.groupby("execution", sort=False)[name].nunique() > 1
        if varies.any():
            bad = varies[varies].index[0]
            line = int(it.loc[it["execution"] == bad, "line"].iloc[0])
            raise ImportFormatError(
                table.path,
                f"context value changes within execution {bad!r}; context columns must be "
                "constant per execution",
                line=line,
                column=name,
            )

    # file order of executions, iteration order inside each
    order = {e: i for i, e in enumerate(pd.unique(it["execution"]))}
    it = it.assign(_o=it["execution"].map(order)).sort_values(["_o", "iteration"], kind="stable")
    it = it.drop(columns=["_o"])
    grouped = it.groupby("execution", sort=False)
    runtime = grouped["duration_s"].sum()
    if not (runtime > 0).all():
        bad = runtime[~(runtime > 0)].index[0]
        line = int(it.loc[it["execution"] == bad, "line"].iloc[0])
        raise ImportFormatError(
            table.path,
            f"every iteration of execution {bad!r} lasted 0 s; leave a run that did nothing out",
            line=line,
            column=cols.duration,
        )
    first = it.drop_duplicates("execution").set_index("execution")
    executions = pd.DataFrame(
        {
            "external_id": runtime.index.astype(str),
            "gross_runtime": runtime.to_numpy(),
            "scale_out": first.loc[runtime.index, "scale_out"].to_numpy(),
        }
    )
    if cols.run_started is not None and cols.run_finished is not None:
        rs = pd.Series(_times(table, cols.run_started, role="run start"), index=ctx.index)
        rf = pd.Series(
            _times(table, cols.run_finished, role="run end", executions=execs), index=ctx.index
        )
        _ordered(table, rs, rf, cols.run_finished)
        for column, times in ((cols.run_started, rs), (cols.run_finished, rf)):
            _constant_per_execution(table, ctx["execution"], times, column)
        _inside_run(table, it, rs, rf, cols)
        span = (
            pd.DataFrame({"execution": ctx["execution"], "s": rs, "f": rf})
            .groupby("execution", sort=False)
            .agg(s=("s", "min"), f=("f", "max"))
        )
        span = span.loc[runtime.index]
        executions["started_at"] = span["s"].to_numpy()
        executions["finished_at"] = span["f"].to_numpy()
        seconds = (span["f"] - span["s"]).dt.total_seconds().to_numpy()
        executions["gross_runtime"] = [
            s if s > 0 else r for s, r in zip(seconds, runtime.to_numpy(), strict=True)
        ]
    ctx_first = ctx.drop_duplicates("execution").set_index("execution")
    for name in context:
        executions[name] = ctx_first.loc[runtime.index, name].to_numpy()
    spec = JobSpec(
        name=job,
        attributes=tuple(attributes),
        runtime_column=None,
        scale_out_column=None,
        machine_type_column=None,
    )
    return IterationTable(
        executions=ExecutionTable(spec, executions, Provenance.of_file(table.path)),
        iterations=it.drop(columns=["line"]).reset_index(drop=True),
    )
