"""collect.store.iteration_table: a live run's context values become the job's attributes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from jobcast.collect.runs import ApplicationRun
from jobcast.collect.store import iteration_table
from jobcast.history import HistoryRepository

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def _run(app_id: str) -> tuple[ApplicationRun, pd.DataFrame, str]:
    run = ApplicationRun(app_id, "a", T0, T0 + timedelta(seconds=10), 10.0, 2, 2, True)
    its = pd.DataFrame({"iteration": [0, 1], "duration_s": [4.0, 5.0], "scale_out": [2, 2]})
    return run, its, "live"


def test_a_boolean_context_value_is_stored_as_a_category(sqlite_repo: HistoryRepository) -> None:
    """Was: ``cache=True`` made a numeric attribute holding JSON true (read as 1.0)."""
    first = iteration_table(_run("app-1"), job="j", context={"cache": True, "size": 3.0})
    sqlite_repo.import_iterations(first)
    spec = sqlite_repo.job("j")
    assert [(a.name, a.numeric) for a in spec.attributes] == [("cache", False), ("size", True)]
    second = iteration_table(_run("app-2"), job="j", existing=spec, context={"cache": False})
    sqlite_repo.import_iterations(second)
    ex = sqlite_repo.executions("j")
    assert ex["cache"].tolist() == ["true", "false"]
    assert ex["size"].tolist()[0] == 3.0
