"""Importer of the C3O trace format (tab- or comma-separated, one row per execution)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from jobcast.history.importers.columnar import executions_from_columns, read_columns
from jobcast.history.records import AttributeKind, ExecutionTable

__all__ = ["read_c3o"]


def read_c3o(
    path: str | Path,
    *,
    job: str,
    kinds: Mapping[str, AttributeKind] | None = None,
    runtime_unit: str = "s",
    decimal: str = ".",
) -> ExecutionTable:
    """Read a C3O trace: ``gross_runtime`` is the runtime, ``instance_count`` the scale-out.

    Runtimes are read in ``runtime_unit`` (``ms``, ``s``, ``min``, ``h``) and stored in
    seconds; ``decimal`` is the numbers' decimal mark (``.`` or ``,``).

    ``machine_type`` is the machine type when the file has that column; every other
    column becomes a context attribute.

    Raises
    ------
    ImportFormatError
        With file, line and column when the file does not follow the format.
    """
    raw = read_columns(path, decimal=decimal, sep_option=None)  # `import c3o` guesses it
    return executions_from_columns(
        raw,
        job=job,
        runtime="gross_runtime",
        scale_out="instance_count",
        machine_type="machine_type" if "machine_type" in raw.header else None,
        kinds=kinds,
        via="`jobcast import csv` ",
        runtime_unit=runtime_unit,
    )
