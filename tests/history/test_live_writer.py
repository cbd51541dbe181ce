"""LiveWriter with the collector's cache: rows it did not write are merged, never rewritten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from jobcast.errors import ConflictError, InputError
from jobcast.history import HistoryRepository, JobSpec
from jobcast.history.live_writer import LiveWriter
from jobcast.history.schema import IterationRow

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _started(repo: HistoryRepository) -> None:
    repo.start_execution(JobSpec("loop"), "run-1", scale_out=4, started_at=T0)


def _write(repo: HistoryRepository, cache: dict[Any, Any], values: dict[str, Any]) -> bool:
    with repo.engine.begin() as conn:
        return LiveWriter(conn, cache=cache).iteration("run-1", 0, values)


def _rows(repo: HistoryRepository) -> list[tuple[Any, ...]]:
    with repo.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(IterationRow.started_at, IterationRow.finished_at, IterationRow.duration_s)
            )
        ]


def test_a_row_written_elsewhere_is_merged_not_duplicated(repo: HistoryRepository) -> None:
    _started(repo)
    # stored by another path (no cache): the collector's cache does not know the row
    repo.record_iteration("loop", "run-1", 0, values={"started_at": T0 + timedelta(seconds=1)})
    cache: dict[Any, Any] = {}
    assert _write(repo, cache, {"finished_at": T0 + timedelta(seconds=4)}) is True
    rows = _rows(repo)
    assert len(rows) == 1
    assert rows[0][2] == pytest.approx(3.0)
    # the same report again is a no-op, a different start is refused
    assert _write(repo, cache, {"finished_at": T0 + timedelta(seconds=4)}) is False
    with pytest.raises(ConflictError, match="never rewritten"):
        _write(repo, {}, {"started_at": T0 + timedelta(seconds=2)})
    assert len(_rows(repo)) == 1


def test_a_finish_before_a_start_stored_elsewhere_is_refused(repo: HistoryRepository) -> None:
    _started(repo)
    repo.record_iteration("loop", "run-1", 0, values={"started_at": T0 + timedelta(seconds=5)})
    with pytest.raises(InputError, match="before started_at"):
        _write(repo, {}, {"finished_at": T0 + timedelta(seconds=2)})
    with repo.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(IterationRow)) == 1
        assert conn.scalar(select(IterationRow.finished_at)) is None


def test_one_lookup_of_a_job_per_transaction(repo: HistoryRepository) -> None:
    spec = JobSpec("loop")
    with repo.engine.begin() as conn:
        w = LiveWriter(conn)
        first = w.job("loop", create=spec)
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(str(args[2]))

        event.listen(conn, "before_cursor_execute", count)
        try:
            assert w.job("loop") == first
            assert w.named("nothing-here") == [] and w.named("nothing-here") == []
        finally:
            event.remove(conn, "before_cursor_execute", count)
    assert len(statements) == 1  # the one lookup of the unknown id


@pytest.mark.parametrize("defer", [False, True])
def test_a_finish_stored_by_another_writer_since_the_cache_was_filled_is_a_conflict(
    repo: HistoryRepository, defer: bool
) -> None:
    """Two services on one database: each cache knows the start, each gets a finish."""
    _started(repo)
    first: dict[Any, Any] = {}
    second: dict[Any, Any] = {}
    start = {"started_at": T0 + timedelta(seconds=1)}
    assert _write(repo, first, start) is True
    assert _write(repo, second, start) is False  # the second cache learns the start
    assert _write(repo, first, {"finished_at": T0 + timedelta(seconds=15)}) is True
    late = {"finished_at": T0 + timedelta(seconds=18)}
    with pytest.raises(ConflictError, match="never rewritten"):
        if defer:
            from jobcast.history.live_writer import DeferredConflict

            try:
                with repo.engine.begin() as conn:
                    writer = LiveWriter(conn, cache=second, defer=True)
                    writer.iteration("run-1", 0, late)
                    writer.flush()
            except DeferredConflict:  # the collector clears its cache, writes again
                second.clear()
                _write(repo, second, late)
        else:
            _write(repo, second, late)
    assert _rows(repo)[0][1].replace(tzinfo=UTC) == T0 + timedelta(seconds=15)
