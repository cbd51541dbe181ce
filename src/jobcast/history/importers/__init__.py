"""Importers of trace files into validated tables (nothing is written until stored)."""

from jobcast.history.importers.c3o import read_c3o
from jobcast.history.importers.executions import read_executions
from jobcast.history.importers.kinds import guess_kind, parse_kind_overrides
from jobcast.history.importers.tabular import RawTable, read_table

__all__ = [
    "RawTable",
    "guess_kind",
    "parse_kind_overrides",
    "read_c3o",
    "read_executions",
    "read_table",
]
