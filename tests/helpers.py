"""Small builders shared by test folders."""

from __future__ import annotations

import pandas as pd

from jobcast.history import ExecutionTable, HistoryRepository, JobSpec, Provenance, SourceKind


def import_frame(
    repo: HistoryRepository, spec: JobSpec, frame: pd.DataFrame, *, file: str = "t.csv"
) -> None:
    """Import ``frame`` as the executions of ``spec`` read from the file ``file``."""
    repo.import_executions(ExecutionTable(spec, frame, Provenance(SourceKind.FILE, file)))
