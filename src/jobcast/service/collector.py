"""The statistics collector: a write queue that stores what running jobs report, in batches.

HTTP handlers (:mod:`jobcast.service.collector_http`) only read and validate a report,
hand it to one writer thread and wait until it is committed: the answer still means
"stored", but concurrent reports share one transaction (a batch) instead of each opening
its own, and writes never race each other inside the process. A refused report leaves the
rest of its batch untouched; a batch the database rejects is retried report by report,
with backoff on lock and serialization errors, so no report is lost to a 5xx that a retry
could have stored.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.params import Depends
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from jobcast.collect.protocol import (
    ExecutionReport,
    HardwareReport,
    IterationFinish,
    IterationStart,
)
from jobcast.errors import (
    DatabaseError,
    InputError,
    JobcastError,
)
from jobcast.history import HistoryRepository, JobSpec
from jobcast.history.importers.kinds import live_context, live_job_spec
from jobcast.history.live_writer import DeferredConflict, LiveWriter
from jobcast.history.values import utc

__all__ = ["Collector", "Report", "MAX_QUEUE"]

logger = logging.getLogger(__name__)

Report = ExecutionReport | IterationStart | IterationFinish | HardwareReport

#: Most reports waiting for the writer; past it the collector answers 503 (retry later).
MAX_QUEUE = 20_000

_RETRIES = 6


Outcome = dict[str, Any] | BaseException


@dataclass
class _Item:
    """A queued report and who waits for it: a thread (``future``) or an event loop."""

    report: Report
    create_jobs: bool
    future: Future[dict[str, Any]] | asyncio.Future[dict[str, Any]]
    loop: asyncio.AbstractEventLoop | None = None


class _Abort(Exception):
    """An unexpected error inside a batch: roll it back and retry report by report."""


class Collector:
    """Stores collector reports through one writer thread, batching concurrent ones.

    Parameters
    ----------
    repo
        The history every report is written to.
    batch_size
        Most reports committed in one transaction.

    Examples
    --------
    >>> collector = Collector(repo)  # doctest: +SKIP
    >>> app.include_router(collector.router(create_jobs=False))  # doctest: +SKIP
    """

    def __init__(self, repo: HistoryRepository, *, batch_size: int = 256) -> None:
        self.repo = repo
        self.batch_size = batch_size
        self._queue: queue.Queue[_Item | None] = queue.Queue(maxsize=MAX_QUEUE)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        # executions the writer looked up (only its thread touches it)
        self._known: dict[Any, Any] = {}

    # ------------------------------------------------------------- queue
    def submit(self, report: Report, *, create_jobs: bool = False) -> Future[dict[str, Any]]:
        """Queue ``report`` for the writer; the future resolves once it is committed.

        Raises
        ------
        DatabaseError
            When the collector is closed or its queue is full (the caller retries later).
        """
        future: Future[dict[str, Any]] = Future()
        self._put(_Item(report, create_jobs, future))
        return future

    async def stored(self, report: Report, *, create_jobs: bool = False) -> dict[str, Any]:
        """Queue ``report`` and wait, in the event loop, until it is committed.

        The writer wakes the loop once per batch for every report of it (not once per
        report, as a thread future wrapped for the loop would).

        Raises
        ------
        JobcastError
            The report's refusal (:class:`ConflictError`, :class:`InputError`, ...), or a
            :class:`DatabaseError` when it could not be queued or stored.
        """
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._put(_Item(report, create_jobs, waiter, loop))
        return await waiter

    def _put(self, item: _Item) -> None:
        self._ensure_writer()
        try:
            self._queue.put_nowait(item)
        except queue.Full as e:
            raise DatabaseError(
                f"the collector has {MAX_QUEUE} reports waiting to be written; retry later"
            ) from e

    def start(self) -> None:
        """Start the writer thread now (else the first report starts it)."""
        self._ensure_writer()

    def _ensure_writer(self) -> None:
        if self._thread is not None and not self._closed:
            return  # running: no lock per report; once closed, the check below refuses
        with self._lock:
            if self._closed:
                raise DatabaseError("the collector is shut down; retry against a running one")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._write_loop, name="jobcast-collector-writer", daemon=True
                )
                self._thread.start()

    def close(self) -> None:
        """Write what is queued, then stop the writer thread."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=60)

    def _write_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self.batch_size:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            self._write(batch)
            if stop:
                return

    def _write(self, batch: list[_Item]) -> None:
        try:
            try:
                outcomes = self._transaction(batch, defer=True)
            except DeferredConflict:
                # rows the cache did not know (a restart, a cleared cache): again, reading
                self._known.clear()
                outcomes = self._transaction(batch, defer=False)
        except (SQLAlchemyError, _Abort) as e:
            self._known.clear()  # it may hold what the rolled-back batch wrote
            if len(batch) > 1:
                logger.info("batch of %d reports failed (%s); writing one by one", len(batch), e)
                for item in batch:
                    self._write_alone(item)
            else:
                self._write_alone(batch[0])
            return
        _resolve(list(zip(batch, outcomes, strict=True)))

    def _transaction(self, batch: list[_Item], *, defer: bool) -> list[Outcome]:
        """Apply ``batch`` in one transaction; deferred rows are written before it commits."""
        with self.repo.engine.begin() as conn:
            writer = LiveWriter(conn, cache=self._known, defer=defer)
            # the executions the batch names, looked up at once (not one query per report)
            writer.prefetch(e for item in batch if (e := item.report.execution) is not None)
            outcomes: list[Outcome] = [self._apply(writer, item) for item in batch]
            writer.flush()
        return outcomes

    def _write_alone(self, item: _Item) -> None:
        delay = 0.02
        for attempt in range(_RETRIES):
            try:
                with self.repo.engine.begin() as conn:
                    outcome = self._apply(LiveWriter(conn, cache=self._known), item)
            except DBAPIError as e:
                self._known.clear()
                # locked / serialization failure / a race on a key: read again and retry
                if attempt == _RETRIES - 1:
                    cause = type(getattr(e, "orig", e)).__name__
                    busy = DatabaseError(
                        f"the history stayed busy ({cause}) over {_RETRIES} attempts; "
                        "nothing was stored, send the report again"
                    )
                    _resolve([(item, busy)])
                    return
                time.sleep(delay)
                delay *= 2
                continue
            except (SQLAlchemyError, _Abort) as e:
                self._known.clear()
                logger.exception("collector report failed: %r", item.report)
                failed = DatabaseError(f"the report could not be stored ({type(e).__name__})")
                _resolve([(item, failed)])
                return
            _resolve([(item, outcome)])
            return

    # ------------------------------------------------------------ reports
    def _apply(self, w: LiveWriter, item: _Item) -> dict[str, Any] | JobcastError:
        try:
            r = item.report
            if isinstance(r, ExecutionReport):
                return self._execution(w, r, item.create_jobs)
            if isinstance(r, IterationStart):
                stored = w.iteration(
                    r.execution,
                    r.iteration,
                    {"started_at": r.started_at, "scale_out": r.scale_out},
                    check_duration=True,  # the finish (with its duration) may come first
                )
                return {"execution": r.execution, "iteration": r.iteration, "stored": stored}
            if isinstance(r, IterationFinish):
                values = r.model_dump(exclude={"execution", "iteration"})
                stored = w.iteration(r.execution, r.iteration, values, check_duration=True)
                return {"execution": r.execution, "iteration": r.iteration, "stored": stored}
            return self._hardware(w, r)
        except JobcastError as e:
            return e
        except (SQLAlchemyError, DeferredConflict):
            raise
        except Exception as e:  # a bug must not commit half a batch
            raise _Abort(repr(e)) from e

    @staticmethod
    def _new_spec(r: ExecutionReport) -> JobSpec:
        context = dict(r.params)
        if r.input_size is not None and "input_size" not in context:
            # the report's own field, first; a parameter of that name stands for it
            context = {"input_size": r.input_size, **context}
        return live_job_spec(r.job, context)

    def _execution(self, w: LiveWriter, r: ExecutionReport, create_jobs: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"execution": r.execution, "job": r.job}
        if r.finished_at is not None:
            out["stored"] = w.finish(
                r.execution,
                job=r.job,
                finished_at=r.finished_at,
                completed=r.completed,
                started_at=r.started_at,
            )
            return out
        for known in w.named(r.execution):  # refuse before creating anything
            if known.status is None or known.job != r.job:
                w.own(r.execution, job=r.job)
        job_id, names = w.job(r.job, create=self._new_spec(r) if create_jobs else None)
        values: dict[str, Any] = live_context(r.params)
        if r.input_size is not None and "input_size" in names:
            values["input_size"] = r.input_size
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise InputError(
                f"job {r.job!r} has no parameters {unknown}; known: {list(names)}. Report "
                "the job's own parameters, or report under a new job name"
            )
        _, out["stored"] = w.start(
            r.job,
            r.execution,
            job_id=job_id,
            started_at=r.started_at,
            scale_out=r.scale_out,
            attributes={n: values.get(n) for n in names},
        )
        return out

    @staticmethod
    def _hardware(w: LiveWriter, r: HardwareReport) -> dict[str, Any]:
        samples = [
            {
                "node": r.node,
                "timestamp": s.timestamp,
                "cpu_percent": s.cpu,
                "disk_read_bps": s.disk_read,
                "disk_write_bps": s.disk_write,
                "net_rx_bps": s.net_rx,
                "net_tx_bps": s.net_tx,
            }
            for s in r.samples
        ]
        if r.execution is not None:
            run = w.own(r.execution)
            rows = [{**s, "execution_id": run.id} for s in samples]
        else:
            rows = _match_hardware(w, samples)
        stored = w.hardware(rows)
        return {"stored": stored, "received": len(samples)}

    # ------------------------------------------------ synchronous helpers
    def execution(self, report: ExecutionReport, *, create_jobs: bool = True) -> dict[str, Any]:
        """Store an execution start or finish now (blocking)."""
        return self.submit(report, create_jobs=create_jobs).result()

    def iteration_started(self, report: IterationStart) -> dict[str, Any]:
        """Store an iteration start now (blocking)."""
        return self.submit(report).result()

    def iteration_finished(self, report: IterationFinish) -> dict[str, Any]:
        """Store an iteration finish now (blocking)."""
        return self.submit(report).result()

    def hardware(self, report: HardwareReport) -> dict[str, Any]:
        """Store hardware samples now (blocking); samples without execution matched by time."""
        return self.submit(report).result()

    # --------------------------------------------------------------- HTTP
    def router(
        self,
        *,
        create_jobs: bool | Callable[[Request], bool] = False,
        dependencies: Sequence[Depends] = (),
    ) -> APIRouter:
        """The collector's endpoints (``/api/v1/collector/...``) as a router to include.

        Parameters
        ----------
        create_jobs
            Whether a report may create a job the history does not hold yet; a callable
            decides per request (the service's token layer: ``request.state``).
        dependencies
            Dependencies run before every endpoint (authentication).

        See Also
        --------
        jobcast.service.collector_http.CollectorFastPath : the same endpoints, answered
            before FastAPI's routing (the service installs it in front of these routes).
        """
        from jobcast.service.collector_http import collector_router

        return collector_router(self, create_jobs=create_jobs, dependencies=dependencies)


def _match_hardware(w: LiveWriter, samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Hardware rows for samples without an execution: one per live run at each time.

    One query finds the runs overlapping the batch's time window; the samples are matched
    to them here.
    """
    if not samples:
        return []
    times = [utc(s["timestamp"]) or datetime.now(UTC) for s in samples]
    runs = w.running_between(min(times), max(times))
    out: list[dict[str, Any]] = []
    for s, t in zip(samples, times, strict=True):
        for run_id, start, end in runs:
            if start <= t and (end is None or t <= end):  # type: ignore[operator]
                out.append({**s, "execution_id": run_id, "timestamp": t})
    return out


def _resolve(done: list[tuple[_Item, Outcome]]) -> None:
    """Hand each waiter its outcome: thread futures at once, each event loop in one call."""
    loops: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Outcome]]] = {}
    for item, outcome in done:
        if item.loop is None:
            _settle([(item.future, outcome)])
        else:
            loops.setdefault(item.loop, []).append((item.future, outcome))  # type: ignore[arg-type]
    for loop, settled in loops.items():
        try:
            loop.call_soon_threadsafe(_settle, settled)
        except RuntimeError:  # the loop closed: nobody waits for these answers any more
            logger.info("%d collector answers had no event loop to go to", len(settled))


def _settle(settled: Sequence[tuple[Future[Any] | asyncio.Future[Any], Outcome]]) -> None:
    for future, outcome in settled:
        if future.done():  # cancelled: its request went away, the report is stored anyway
            continue
        try:
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
        except InvalidStateError:  # a thread future cancelled meanwhile
            continue
