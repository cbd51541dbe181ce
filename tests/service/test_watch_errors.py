"""The watcher's pass: expected errors are a line at INFO, a bug is logged with its traceback."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jobcast.errors import NotEnoughDataError
from jobcast.history import HistoryRepository
from jobcast.service.settings import ServiceSettings
from jobcast.service.watch import Watcher
from tests.service.conftest import record_run


class _Models:
    """A ModelStore whose progress models fail: as expected, or with a bug."""

    def __init__(self, failures: dict[str, Exception]) -> None:
        self.failures = failures

    def want(self, versions: dict[str, Any]) -> None:
        pass

    def progress(self, job: str) -> Any:
        raise self.failures[job]

    def fitted_version(self, job: str) -> None:
        return None


def test_a_bug_is_logged_with_its_traceback_an_expected_error_at_info(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: every error, a TypeError too, one line at INFO ("no ETAs for ...")."""
    start = datetime.now(UTC) - timedelta(seconds=30)
    with HistoryRepository(db_url) as repo:
        record_run(repo, "small", "now-1", [5.0], start=start, finish=False)
        record_run(repo, "broken", "now-2", [5.0], start=start, finish=False)
        failures: dict[str, Exception] = {
            "small": NotEnoughDataError("the history holds no finished execution"),
            "broken": TypeError("unsupported operand"),
        }
        watcher = Watcher(repo, ServiceSettings(), _Models(failures))  # type: ignore[arg-type]
        with caplog.at_level(logging.INFO, logger="jobcast.service.watch"):
            assert watcher.tick() == {}
    by_job = {r.getMessage().split(":")[0]: r for r in caplog.records}
    expected, bug = by_job["no ETAs for small"], by_job["no ETAs for broken"]
    assert expected.levelno == logging.INFO and expected.exc_info is None
    assert "no finished execution" in expected.getMessage()
    assert bug.levelno == logging.ERROR and bug.exc_info is not None
    assert bug.exc_info[0] is TypeError
