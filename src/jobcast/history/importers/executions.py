"""Reading a delimited file of executions (``jobcast import csv``) as a validated table."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from jobcast.history.importers.columnar import executions_from_columns, read_columns
from jobcast.history.records import AttributeKind, ExecutionTable

__all__ = ["read_executions"]


def read_executions(
    path: str | Path,
    *,
    job: str,
    runtime: str = "gross_runtime",
    scale_out: str | None = None,
    machine_type: str | None = None,
    sep: str | None = None,
    kinds: Mapping[str, AttributeKind] | None = None,
    runtime_unit: str = "s",
    decimal: str = ".",
) -> ExecutionTable:
    """Read and validate a CSV of executions (``jobcast import csv``), streaming the file.

    Runtimes are read in ``runtime_unit`` (``ms``, ``s``, ``min``, ``h``) and stored in
    seconds; ``decimal`` is the numbers' decimal mark (``.`` or ``,``).

    Raises
    ------
    ImportFormatError
        Naming file, line and column, for every invalid cell or missing column.
    """
    return executions_from_columns(
        read_columns(path, sep=sep, decimal=decimal),
        job=job,
        runtime=runtime,
        scale_out=scale_out,
        machine_type=machine_type,
        kinds=kinds,
        runtime_unit=runtime_unit,
    )
