"""Small builders shared by test folders."""

from __future__ import annotations

from typing import Any

import pandas as pd

from jobcast.history import ExecutionTable, HistoryRepository, JobSpec, Provenance, SourceKind


def import_frame(
    repo: HistoryRepository, spec: JobSpec, frame: pd.DataFrame, *, file: str = "t.csv"
) -> None:
    """Import ``frame`` as the executions of ``spec`` read from the file ``file``."""
    repo.import_executions(ExecutionTable(spec, frame, Provenance(SourceKind.FILE, file)))


def run_main(monkeypatch: Any, capsys: Any, *args: str) -> tuple[int, str, str]:
    """``jobcast ARGS`` through :func:`jobcast.cli.main`, in this process.

    Unlike ``CliRunner.invoke(app, ...)``, a jobcast error ends as ``main`` ends it: the
    ``error: ...`` line on standard error and exit status 2 (bad input) or 1. Returns the
    exit status, standard output and standard error.
    """
    import sys

    import pytest

    from jobcast.cli import main

    monkeypatch.setattr(sys, "argv", ["jobcast", *args])
    capsys.readouterr()  # what earlier steps of the test printed
    with pytest.raises(SystemExit) as ended:
        main()
    out, err = capsys.readouterr()
    code = ended.value.code
    return (0 if code is None else code if isinstance(code, int) else 1), out, err
