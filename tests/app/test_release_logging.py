"""A ledger entry that cannot be marked refused is logged with the reason (its traceback)."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from jobcast.app.release import _charged_failure
from jobcast.errors import DatabaseError, ReleaseAbortedError


def test_a_failed_settle_is_logged_with_its_exception(caplog: pytest.LogCaptureFixture) -> None:
    def settle_release(entry: int, destination: str | None) -> None:
        raise DatabaseError("the database is read-only")

    repo = SimpleNamespace(settle_release=settle_release)
    with caplog.at_level(logging.WARNING, logger="jobcast.app.release"):
        error = _charged_failure(
            repo,  # type: ignore[arg-type]
            7,
            RuntimeError("boom"),
            job="sort",
            spent=1.0,
            signals=[],
        )
    assert isinstance(error, ReleaseAbortedError) and error.spent == 1.0
    (record,) = [r for r in caplog.records if "ledger entry 7" in r.getMessage()]
    assert record.exc_info is not None and record.exc_info[0] is DatabaseError
    assert "the database is read-only" in caplog.text
