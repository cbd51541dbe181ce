"""The running execution's iterations so far, as ``estimate --current`` reads them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from jobcast.errors import ImportFormatError, InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CURRENT_FORMAT", "read_current"]

#: What ``estimate --current`` reads, as its help and errors say.
CURRENT_FORMAT = (
    "The --current file is a CSV of the running execution's finished iterations: columns "
    "iteration (0, 1, ...), duration_s (seconds) and scale_out (executors), optionally "
    "records, cpu, disk, net and the job's context attributes (constant per file)"
)


#: The trace reader's words for `import traces`, as they read for ``estimate --current``.
_OWN_WORDS = (
    (" (with --sep ';' or another separator than ',')", " (';'-separated fields are found)"),
    ("add a row per execution (per iteration in a trace)", "add a row per finished iteration"),
    ("execution 'current' has", "the running execution has"),
)


def read_current(path: Path, *, decimal: str = ".") -> pd.DataFrame:
    """The --current file (``-``: standard input) as the running execution's iterations.

    A duration of 0 (within the clock's resolution) counts as
    :data:`jobcast.progress.usable.MIN_DURATION_S`, as in a recorded history.
    """
    from jobcast.cli.history_cmds import readable
    from jobcast.history.importers.traces import read_traces
    from jobcast.progress.usable import MIN_DURATION_S

    try:
        with readable(path) as file:
            table_ = read_traces(
                file, job="current", single_execution="current", decimal=decimal, sep_option=None
            )
    except ImportFormatError as e:
        # the reader's advice names `import traces` options and an execution the user
        # never named; estimate has neither. Where it found the problem is kept.
        why = e.reason.split(". Add the column")[0].rstrip(".")
        for theirs, ours in _OWN_WORDS:
            why = why.replace(theirs, ours)
        raise ImportFormatError(
            e.path, f"{why}. {CURRENT_FORMAT}", line=e.line, column=e.column
        ) from e
    current = table_.iterations.copy()
    current["duration_s"] = current["duration_s"].clip(lower=MIN_DURATION_S)
    executions = table_.executions.frame
    if current["execution"].nunique() != 1:
        raise InputError(
            f"{path}: the current file must hold one execution's iterations, found "
            f"{current['execution'].nunique()}"
        )
    for a in table_.executions.job.attribute_names:
        current[a] = executions[a].iloc[0]
    return current
