"""Turning a delimited file of executions into a validated execution table."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from jobcast.errors import ImportFormatError
from jobcast.history.importers.kinds import infer_attribute
from jobcast.history.importers.roles import check_kinds, check_roles
from jobcast.history.importers.tabular import RawTable, parse_number
from jobcast.history.records import (
    Attribute,
    AttributeKind,
    ExecutionTable,
    JobSpec,
    Provenance,
    SourceKind,
)
from jobcast.history.values import MAX_SCALE_OUT

__all__ = ["table_from_raw", "read_executions"]


def _attribute_column(table: RawTable, name: str) -> tuple[Attribute, list[object]]:
    cells = table.column(name)
    for cell, line in zip(cells, table.lines, strict=True):
        if cell == "":
            raise ImportFormatError(
                table.path,
                "empty value; fill it in, or drop the column if it is not known for every row",
                line=line,
                column=name,
            )
    floats: list[float | None] = []
    for c in cells:
        try:
            floats.append(float(c))
        except ValueError:
            floats.append(None)
    text = [i for i, x in enumerate(floats) if x is None]
    if text and 2 * len(text) < len(cells):
        # mostly numbers: the text cells are typos, not category labels
        i = text[0]
        first_number = next(j for j, x in enumerate(floats) if x is not None)
        raise ImportFormatError(
            table.path,
            f"{cells[i]!r} is text in a column of numbers (line {table.lines[first_number]} "
            f"has {cells[first_number]!r}); write a number there",
            line=table.lines[i],
            column=name,
        )
    if text:
        return infer_attribute(name, numeric=False), list(cells)
    nums = [x for x in floats if x is not None]
    for x, c, ln in zip(nums, cells, table.lines, strict=True):
        if not math.isfinite(x):
            raise ImportFormatError(
                table.path,
                f"{c!r} is not a finite number (too large, or NaN); give a real value",
                line=ln,
                column=name,
            )
    integral = all(x.is_integer() and abs(x) < 2**53 for x in nums)
    values: list[object] = [int(x) for x in nums] if integral else list(nums)
    return infer_attribute(name, numeric=True), values


def table_from_raw(
    table: RawTable,
    *,
    job: str,
    runtime: str,
    scale_out: str | None,
    machine_type: str | None,
    kinds: Mapping[str, AttributeKind] | None = None,
    provenance: Provenance | None = None,
) -> ExecutionTable:
    """Validate a raw table as executions of ``job``.

    Parameters
    ----------
    table
        The file's cells.
    job
        Job name.
    runtime
        Column holding the gross runtime in seconds (finite, > 0).
    scale_out
        Column holding the number of worker machines (positive integer), or None.
    machine_type
        Column holding the machine type, or None.
    kinds
        Overrides of the guessed attribute kinds.
    provenance
        Where the rows come from; defaults to the file.

    Raises
    ------
    ImportFormatError
        Naming file, line and column, for every invalid cell or missing column.
    """
    kinds = dict(kinds or {})
    check_roles(table.path, runtime=runtime, scale_out=scale_out, machine_type=machine_type)
    r_idx = table.require_column(runtime, option="--runtime")
    del r_idx
    runtimes = parse_number(table, runtime, table.column(runtime), positive=True, what="runtime")
    frame: dict[str, list[object]] = {"gross_runtime": list(runtimes)}
    special = {runtime}
    if scale_out is not None:
        table.require_column(scale_out, option="--scale-out")
        so = parse_number(
            table,
            scale_out,
            table.column(scale_out),
            positive=True,
            integer=True,
            what="scale-out",
        )
        for x, ln in zip(so, table.lines, strict=True):
            if x > MAX_SCALE_OUT:
                raise ImportFormatError(
                    table.path,
                    f"scale-out {x:g} is more than {MAX_SCALE_OUT} machines; check the "
                    "column (is it the scale-out?)",
                    line=ln,
                    column=scale_out,
                )
        frame["scale_out"] = [int(x) for x in so]
        special.add(scale_out)
    if machine_type is not None:
        table.require_column(machine_type, option="--machine-type")
        cells = table.column(machine_type)
        for cell, line in zip(cells, table.lines, strict=True):
            if not cell:
                raise ImportFormatError(
                    table.path, "empty machine type; fill it in", line=line, column=machine_type
                )
        frame["machine_type"] = list(cells)
        special.add(machine_type)
    check_kinds(table.path, header=table.header, special=special, kinds=kinds)
    attributes = []
    for name in table.header:
        if name in special:
            continue
        table.require_column(name)
        attr, values = _attribute_column(table, name)
        if name in kinds:
            attr = infer_attribute(name, numeric=attr.numeric, kinds=kinds)
        attributes.append(attr)
        frame[name] = values
    spec = JobSpec(
        name=job,
        attributes=tuple(attributes),
        runtime_column=runtime,
        scale_out_column=scale_out,
        machine_type_column=machine_type,
    )
    df = pd.DataFrame(frame)
    df.insert(0, "source_line", list(table.lines))
    return ExecutionTable(
        job=spec,
        frame=df,
        provenance=provenance or Provenance(SourceKind.FILE, str(Path(table.path).resolve())),
    )


def read_executions(
    path: str | Path,
    *,
    job: str,
    runtime: str = "gross_runtime",
    scale_out: str | None = None,
    machine_type: str | None = None,
    sep: str | None = None,
    kinds: Mapping[str, AttributeKind] | None = None,
) -> ExecutionTable:
    """Read and validate a CSV of executions (``jobcast import csv``), streaming the file."""
    from jobcast.history.importers.columnar import executions_from_columns, read_columns

    return executions_from_columns(
        read_columns(path, sep=sep),
        job=job,
        runtime=runtime,
        scale_out=scale_out,
        machine_type=machine_type,
        kinds=kinds,
    )
