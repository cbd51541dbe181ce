"""The collector's batches: deferred rows, reads that see them, rows a restart forgot, waiters."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from jobcast.collect.protocol import (
    ExecutionReport,
    HardwareReport,
    IterationFinish,
    IterationStart,
)
from jobcast.errors import ConflictError, InputError
from jobcast.history import HistoryRepository
from jobcast.history.schema import HardwareSampleRow, IterationRow
from jobcast.history.values import utc
from jobcast.service.collector import Collector, Report, _Item

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _start(execution: str) -> ExecutionReport:
    return ExecutionReport(execution=execution, job="loop", started_at=T0, params={"k": 1})


def _batch(collector: Collector, reports: Sequence[Report]) -> list[Any]:
    """Write ``reports`` as one batch (as the writer thread would); each outcome."""
    items = [_Item(r, True, Future()) for r in reports]
    collector._write(items)
    outcomes = []
    for item in items:
        e = item.future.exception()
        outcomes.append(e if e is not None else item.future.result())
    return outcomes


def _iterations(repo: HistoryRepository) -> list[tuple[Any, ...]]:
    with repo.engine.connect() as conn:
        rows = conn.execute(
            select(
                IterationRow.index,
                IterationRow.started_at,
                IterationRow.finished_at,
                IterationRow.duration_s,
                IterationRow.records,
            ).order_by(IterationRow.index)
        )
        return [(i, utc(s), utc(f), d, n) for i, s, f, d, n in rows]


@pytest.fixture
def collector(repo: HistoryRepository) -> Iterator[Collector]:
    c = Collector(repo)
    yield c
    c.close()


def test_one_batch_reads_what_it_deferred(repo: HistoryRepository, collector: Collector) -> None:
    sample = {"timestamp": _at(3), "cpu": 5, "disk_read": 0, "disk_write": 0}
    got = _batch(
        collector,
        [
            _start("a"),
            IterationStart(execution="a", iteration=0, started_at=_at(1)),
            IterationFinish(execution="a", iteration=0, finished_at=_at(4), records=7),
            IterationStart(execution="a", iteration=0, started_at=_at(1)),  # a retry
            IterationStart(execution="a", iteration=1, started_at=_at(5)),
            IterationFinish(execution="a", iteration=1, finished_at=_at(9), records=8),
            IterationFinish(execution="a", iteration=1, finished_at=_at(9), records=9),
            HardwareReport.model_validate(
                {"node": "n", "execution": "a", "samples": [{**sample, "net_rx": 0, "net_tx": 0}]}
            ),
            # the finish reads the iterations' end: it must see the rows deferred above
            ExecutionReport(**{**_start("a").model_dump(), "finished_at": _at(8)}),
            ExecutionReport(**{**_start("a").model_dump(), "finished_at": _at(10)}),
        ],
    )
    assert [g["stored"] if isinstance(g, dict) else type(g) for g in got] == [
        True,
        True,
        True,
        False,
        True,
        True,
        ConflictError,
        1,
        InputError,
        True,
    ]
    assert "before the end of its iteration" in str(got[8])
    assert _iterations(repo) == [(0, _at(1), _at(4), 3.0, 7), (1, _at(5), _at(9), 4.0, 8)]
    with repo.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(HardwareSampleRow)) == 1
    assert repo.executions("loop")["gross_runtime"].tolist() == [10.0]


def test_rows_a_restart_forgot_are_merged(repo: HistoryRepository, collector: Collector) -> None:
    assert _batch(collector, [_start("a")])[0]["stored"] is True
    for i in range(3):
        start = IterationStart(execution="a", iteration=i, started_at=_at(10 * i + 1))
        assert _batch(collector, [start])[0]["stored"] is True
    again = Collector(repo)  # a restarted service: its cache knows none of these rows
    try:
        got = _batch(
            again,
            [
                IterationFinish(execution="a", iteration=0, finished_at=_at(5), records=1),
                IterationStart(execution="a", iteration=1, started_at=_at(11)),
                IterationFinish(execution="a", iteration=1, finished_at=_at(15), records=2),
                IterationStart(execution="a", iteration=3, started_at=_at(31)),
                IterationFinish(execution="a", iteration=2, finished_at=_at(99), records=3),
            ],
        )
    finally:
        again.close()
    assert [g["stored"] for g in got] == [True, False, True, True, True]
    rows = [(i, d, r) for i, _, _, d, r in _iterations(repo)]
    assert rows == [(0, 4.0, 1), (1, 4.0, 2), (2, 78.0, 3), (3, None, None)]


def test_a_waiter_gone_does_not_stop_the_writer(
    repo: HistoryRepository, collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = threading.Event()
    entered = threading.Event()
    transaction = collector._transaction

    def slow(batch: list[_Item], *, defer: bool) -> list[Any]:
        entered.set()
        assert held.wait(30)
        return transaction(batch, defer=defer)

    monkeypatch.setattr(collector, "_transaction", slow)
    first = collector.submit(_start("a"), create_jobs=True)
    assert entered.wait(30)
    assert first.cancel()  # its caller went away while the batch was being written

    async def gone() -> None:
        task = asyncio.ensure_future(collector.stored(_start("b"), create_jobs=True))
        await asyncio.sleep(0.05)
        task.cancel()
        held.set()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(gone())
    later = collector.submit(_start("c"), create_jobs=True)
    assert later.result(timeout=30)["stored"] is True
    stored = repo.executions("loop", only_completed=False)["external_id"]
    assert sorted(stored) == ["a", "b", "c"]


def test_a_batch_looks_each_execution_up_once_at_most(
    repo: HistoryRepository, collector: Collector
) -> None:
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")):
            statements.append(statement)

    _batch(collector, [_start("other")])  # the job exists: its lookup is not counted below
    event.listen(repo.engine, "before_cursor_execute", seen)
    try:
        starts = _batch(collector, [_start(f"run-{k}") for k in range(20)])
        assert [g["stored"] for g in starts] == [True] * 20
        # one lookup of the 20 ids, the job's id and parameters, one insert per execution
        assert len(statements) <= 23, statements
        statements.clear()
        firsts = [
            IterationStart(execution=f"run-{k}", iteration=0, started_at=_at(1)) for k in range(20)
        ]
        assert [g["stored"] for g in _batch(collector, firsts)] == [True] * 20
        assert len(statements) == 1, statements  # the 20 rows in one insert, no lookup
    finally:
        event.remove(repo.engine, "before_cursor_execute", seen)
    stored = repo.executions("loop", only_completed=False)["external_id"]
    assert len(stored) == 21 and len(repo.iterations("loop", include_running=True)) == 20
