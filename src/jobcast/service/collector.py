"""The statistics collector: a write queue that stores what running jobs report, in batches.

HTTP handlers only read and validate a report, hand it to one writer thread and wait
until it is committed: the answer still means "stored", but concurrent reports share
one transaction (a batch) instead of each opening its own, and writes never race each
other inside the process. A refused report leaves the rest of its batch untouched; a
batch the database rejects is retried report by report, with backoff on lock and
serialization errors, so no report is lost to a 5xx that a retry could have stored.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Future
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.params import Depends
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from jobcast.collect.protocol import (
    EXECUTIONS_PATH,
    HARDWARE_PATH,
    ITERATION_FINISH_PATH,
    ITERATION_START_PATH,
    MAX_BODY_BYTES,
    ExecutionReport,
    HardwareReport,
    IterationFinish,
    IterationStart,
)
from jobcast.errors import (
    ConflictError,
    DatabaseError,
    InputError,
    JobcastError,
    UnknownJobError,
)
from jobcast.history import HistoryRepository, JobSpec
from jobcast.history.importers.kinds import infer_attribute
from jobcast.history.live_writer import LiveWriter

__all__ = ["Collector", "Report", "MAX_QUEUE"]

logger = logging.getLogger(__name__)

Report = ExecutionReport | IterationStart | IterationFinish | HardwareReport

#: Most reports waiting for the writer; past it the collector answers 503 (retry later).
MAX_QUEUE = 20_000

_RETRIES = 6


@dataclass
class _Item:
    report: Report
    create_jobs: bool
    future: Future[dict[str, Any]] = field(default_factory=Future)


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
        self._ensure_writer()
        item = _Item(report, create_jobs)
        try:
            self._queue.put_nowait(item)
        except queue.Full as e:
            raise DatabaseError(
                f"the collector has {MAX_QUEUE} reports waiting to be written; retry later"
            ) from e
        return item.future

    def _ensure_writer(self) -> None:
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
            with self.repo.engine.begin() as conn:
                writer = LiveWriter(conn, cache=self._known)
                outcomes = [self._apply(writer, item) for item in batch]
        except (SQLAlchemyError, _Abort) as e:
            self._known.clear()  # it may hold what the rolled-back batch wrote
            if len(batch) > 1:
                logger.info("batch of %d reports failed (%s); writing one by one", len(batch), e)
                for item in batch:
                    self._write_alone(item)
            else:
                self._write_alone(batch[0])
            return
        for item, outcome in zip(batch, outcomes, strict=True):
            _resolve(item, outcome)

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
                    item.future.set_exception(
                        DatabaseError(
                            f"the history stayed busy ({cause}) over {_RETRIES} attempts; "
                            "nothing was stored, send the report again"
                        )
                    )
                    return
                time.sleep(delay)
                delay *= 2
                continue
            except (SQLAlchemyError, _Abort) as e:
                self._known.clear()
                logger.exception("collector report failed: %r", item.report)
                item.future.set_exception(
                    DatabaseError(f"the report could not be stored ({type(e).__name__})")
                )
                return
            _resolve(item, outcome)
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
                )
                return {"execution": r.execution, "iteration": r.iteration, "stored": stored}
            if isinstance(r, IterationFinish):
                values = r.model_dump(exclude={"execution", "iteration"})
                stored = w.iteration(r.execution, r.iteration, values)
                return {"execution": r.execution, "iteration": r.iteration, "stored": stored}
            return self._hardware(w, r)
        except JobcastError as e:
            return e
        except SQLAlchemyError:
            raise
        except Exception as e:  # a bug must not commit half a batch
            raise _Abort(repr(e)) from e

    @staticmethod
    def _new_spec(r: ExecutionReport) -> JobSpec:
        names = list(r.params)
        if r.input_size is not None and "input_size" not in names:
            names.insert(0, "input_size")
        attrs = tuple(
            infer_attribute(n, numeric=isinstance(r.params.get(n, r.input_size), int | float))
            for n in names
        )
        return JobSpec(
            r.job, attrs, runtime_column=None, scale_out_column=None, machine_type_column=None
        )

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
        values: dict[str, Any] = dict(r.params)
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
            rows = w.match_hardware(samples)
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
        """
        router = APIRouter(
            dependencies=list(dependencies), tags=["collector"], lifespan=self._lifespan
        )
        models: tuple[tuple[str, type[BaseModel]], ...] = (
            (EXECUTIONS_PATH, ExecutionReport),
            (ITERATION_START_PATH, IterationStart),
            (ITERATION_FINISH_PATH, IterationFinish),
            (HARDWARE_PATH, HardwareReport),
        )
        for path, model in models:
            router.add_api_route(
                path,
                self._endpoint(model, create_jobs),
                methods=["POST"],
                status_code=201,
                summary=(model.__doc__ or "").splitlines()[0],
                openapi_extra={
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": model.model_json_schema()}},
                    }
                },
            )
        return router

    @asynccontextmanager
    async def _lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        """Ready before the first report: the writer started and the app's routes built.

        FastAPI builds an included router's routes on the first request that walks past
        them, inside the event loop (0.7 s for the service's routes): the first burst of
        reports after a start (every collector of a cluster reporting its execution
        start) would all wait for it. Building the OpenAPI schema builds them all before
        the server accepts connections.
        """
        self._ensure_writer()
        app.openapi()
        yield

    def _endpoint(
        self, model: type[BaseModel], create_jobs: bool | Callable[[Request], bool]
    ) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            body = await _read_body(request)
            if isinstance(body, Response):
                return body
            try:
                report = model.model_validate_json(body)
            except ValidationError as e:
                return _error(422, f"invalid {model.__name__}: {_describe(e)}")
            allowed = create_jobs(request) if callable(create_jobs) else create_jobs
            try:
                future = self.submit(report, create_jobs=allowed)  # type: ignore[arg-type]
                result = await asyncio.wrap_future(future)
            except ConflictError as e:
                return _error(409, str(e))
            except UnknownJobError as e:
                return _error(404, str(e))
            except InputError as e:
                return _error(422, str(e))
            except DatabaseError as e:
                return _error(503, str(e), headers={"Retry-After": "1"})
            return JSONResponse(result, status_code=201 if result.get("stored", True) else 200)

        endpoint.__name__ = f"collect_{model.__name__}"
        return endpoint


def _resolve(item: _Item, outcome: dict[str, Any] | JobcastError) -> None:
    if isinstance(outcome, JobcastError):
        item.future.set_exception(outcome)
    else:
        item.future.set_result(outcome)


def _error(status: int, detail: str, *, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


async def _read_body(request: Request) -> bytes | Response:
    """The request body, or a 413 answer once it exceeds :data:`MAX_BODY_BYTES`."""
    too_big = _error(
        413,
        f"request body larger than MAX_BODY_BYTES={MAX_BODY_BYTES} bytes; send hardware "
        "samples in smaller batches and fewer params",
    )
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        return too_big
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return too_big
        chunks.append(chunk)
    return b"".join(chunks)


def _describe(e: ValidationError) -> str:
    parts = []
    for err in e.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    more = e.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
