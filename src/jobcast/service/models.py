"""Fitted models of the service, trained off the request path in a worker process.

The progress model of a job (:func:`jobcast.app.progress.fit_wall_clock`) depends only
on its finished executions (and stored parameters), so it is keyed by
:func:`~jobcast.app.service_reads.job_versions`: a running execution reporting
iterations does not touch it; a newly finished one (or a training) makes
the background pass start a refit while reads go on with the previous model. Prediction
and configuration answers are computed there too and kept per request and job version.

Fits run in worker processes (``forkserver``, lower CPU priority): a fit is seconds to
minutes of Python, which in a thread of the service would hold the interpreter lock and
stall the event loop that answers every other request.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from jobcast import errors
from jobcast.errors import JobcastError
from jobcast.history import HistoryRepository

__all__ = ["ModelStore"]

logger = logging.getLogger(__name__)

Version = tuple[Any, ...]

_PRELOAD = ("jobcast.app.progress", "jobcast.service.answers", "jobcast.app.predict")

# ----------------------------------------------------------------- in the worker process

_repos: dict[str, HistoryRepository] = {}


def _worker_start(server: int | None = None) -> None:
    # fits yield the CPU to the service's requests and to the runs it follows
    try:
        os.nice(10)
    except OSError:  # pragma: no cover - not permitted: run at the same priority
        pass
    if server is not None:
        threading.Thread(
            target=_exit_with, args=(server,), name="jobcast-server-watch", daemon=True
        ).start()


def _exit_with(
    server: int, *, every_s: float = 2.0, leave: Callable[[int], object] = os._exit
) -> None:
    """End this worker once process ``server`` is gone (killed with SIGKILL, say).

    A worker forks from the forkserver, not from the service, so it outlives a service
    that could not stop it (it ran on for half an hour, with its memory, after a
    ``kill -9``).
    """
    while True:
        try:
            os.kill(server, 0)
        except ProcessLookupError:
            leave(0)
            return
        except PermissionError:  # pragma: no cover - another user's process took the pid
            leave(0)
            return
        time.sleep(every_s)


def _repo(url: str) -> HistoryRepository:
    if url not in _repos:
        _repos[url] = HistoryRepository(url)
    return _repos[url]


@dataclass(frozen=True)
class _Failed:
    """A :class:`JobcastError` raised in the worker, sent back by name and message."""

    kind: str
    message: str

    def raise_(self) -> None:
        found = getattr(errors, self.kind, JobcastError)
        for cls in found.__mro__ if isinstance(found, type) else (JobcastError,):
            if issubclass(cls, JobcastError):
                try:
                    exc = cls(self.message)
                except TypeError:  # an error class built from several fields
                    continue
                raise exc
        raise JobcastError(self.message)


def _fit_progress(url: str, job: str) -> tuple[Version, Any] | _Failed:
    """The job's version and its wall-clock progress model fitted on it."""
    from jobcast.app.progress import fit_wall_clock
    from jobcast.app.service_reads import job_versions

    try:
        repo = _repo(url)
        version = job_versions(repo, job=job).get(job, (0, 0, 0, 0.0, ""))
        return version, fit_wall_clock(repo, job)
    except JobcastError as e:
        return _Failed(type(e).__name__, str(e))


#: Runtime models a worker keeps per (history, job, model options, job version): every
#: prediction and configuration question on one version of a job's history is answered
#: by one fit (a new version, e.g. a newly finished execution, fits again).
_FITTED_KEPT = 8
_fitted: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_fitted_lock = threading.Lock()


def _fitter(url: str, job: str, version: Version) -> Callable[[str, bool], Any]:
    """``fit(model, include_shared)``: the job's runtime model on this version, fitted once."""
    from jobcast.app.fitting import fit_job

    def fit(model: str, include_shared: bool) -> Any:
        key = (url, job, model, include_shared, version)
        with _fitted_lock:
            got = _fitted.get(key)
            if got is not None:
                _fitted.move_to_end(key)
                return got
        got = fit_job(_repo(url), job, model=model, include_shared=include_shared)
        with _fitted_lock:
            _fitted[key] = got
            while len(_fitted) > _FITTED_KEPT:
                _fitted.popitem(last=False)
        return got

    return fit


def _answer(
    url: str, kind: str, job: str, body: dict[str, Any], version: Version
) -> dict[str, Any] | _Failed:
    """A prediction or configuration answer (see :mod:`jobcast.service.api`)."""
    from jobcast.service.answers import answer

    try:
        return answer(_repo(url), kind, job, body, fit=_fitter(url, job, version))
    except JobcastError as e:
        return _Failed(type(e).__name__, str(e))


def _typical(url: str, job: str, version: Version) -> Any:
    """The job page's predictions (:func:`jobcast.app.predict.typical_prediction`)."""
    from jobcast.app.predict import typical_prediction

    try:
        # the API's predictions' default model on this version: one fit answers both
        return typical_prediction(_repo(url), job, fitted=_fitter(url, job, version)("auto", True))
    except JobcastError as e:
        return _Failed(type(e).__name__, str(e))


# ----------------------------------------------------------------- in the service


@dataclass
class _Progress:
    """One job's progress model: the fitted one, the fit under way, what is wanted."""

    version: Version | None = None
    model: Any = None
    failed: _Failed | None = None
    pending: Future[Any] | None = None
    wanted: Version | None = None
    fitted_at: float = 0.0
    waiters: list[Future[Any]] = field(default_factory=list)


def _in_memory(url: str) -> bool:
    return url.startswith("sqlite") and url.split("///", 1)[-1] in ("", ":memory:", "sqlite://")


class ModelStore:
    """Progress models per job and answers per request, fitted in worker processes.

    Parameters
    ----------
    repo
        The service's history (workers open their own connection to ``repo.url``).
    workers
        Worker processes; 0 fits in a thread of the service instead (an in-memory
        SQLite history, which other processes cannot open, always does).
    answers
        Most prediction and configuration answers kept.
    """

    def __init__(self, repo: HistoryRepository, *, workers: int = 2, answers: int = 256) -> None:
        self.repo = repo
        self.workers = workers
        self.size = answers
        self._lock = threading.RLock()  # _fit submits (and may start the pool) under it
        self._progress: dict[str, _Progress] = {}
        self._answers: OrderedDict[tuple[Any, ...], Future[Any]] = OrderedDict()
        self._pool: Executor | None = None
        self._warming: set[str] = set()
        self._closed = False
        self._broken_noted = False  # a broken pool was logged (once per pool)

    # ------------------------------------------------------------ the worker pool
    def _executor(self) -> Executor:
        with self._lock:
            if self._pool is None:
                if self.workers <= 0 or _in_memory(self.repo.url):
                    self._pool = ThreadPoolExecutor(1, thread_name_prefix="jobcast-fit")
                else:
                    ctx = multiprocessing.get_context("forkserver")
                    # workers fork from a server that imported the fitting code once
                    ctx.set_forkserver_preload(["jobcast.service.models", *_PRELOAD])
                    self._pool = ProcessPoolExecutor(
                        self.workers,
                        mp_context=ctx,
                        initializer=_worker_start,
                        initargs=(os.getpid(),),
                    )
                    self._broken_noted = False
            return self._pool

    def _submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        try:
            return self._executor().submit(fn, self.repo.url, *args)
        except BrokenProcessPool:
            # a worker died (killed, out of memory): start a new pool once
            logger.warning("a model worker process died; starting new ones")
            with self._lock:
                self._pool = None
        except (EOFError, OSError) as e:
            # the fork server died while it started (a SIGTERM to the process group during
            # the warm-up): no traceback out of the start-up, the next pass tries again
            self._drop_pool()
            raise JobcastError(f"the model worker processes could not start: {e!r}") from e
        return self._executor().submit(fn, self.repo.url, *args)

    def _drop_pool(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the workers (fits under way are abandoned)."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is None:
            return
        # a fit under way would keep the service from exiting (Python joins the pool's
        # workers at exit) for as long as it takes: stop them (shutdown drops the list)
        workers = list((getattr(pool, "_processes", None) or {}).values())
        for process in workers:
            process.terminate()
        # without its workers a process pool shuts down at once; wait for it, so that its
        # queues' named (forkserver) semaphores are unlinked now: uvicorn re-raises SIGTERM
        # after its shutdown, which ends the process before multiprocessing's exit handlers
        # would unlink them (the resource tracker then warns of "leaked semaphore objects")
        pool.shutdown(wait=isinstance(pool, ProcessPoolExecutor), cancel_futures=True)

    # ------------------------------------------------------------ progress models
    def want(self, versions: dict[str, Version]) -> None:
        """Start a fit of every given job whose fitted model is of another version.

        Called by the background pass with :func:`~jobcast.app.service_reads.job_versions`;
        reads meanwhile go on with the model fitted before.
        """
        for job, version in versions.items():
            with self._lock:
                entry = self._progress.setdefault(job, _Progress())
                entry.wanted = version
                stale = entry.version != version and entry.pending is None
            if stale:
                try:
                    self._fit(job)
                except JobcastError as e:
                    if self._closed:  # stopped while warming up: say nothing more
                        raise
                    # no workers (see _submit): one line, not one per job; the
                    # background pass wants these jobs again
                    logger.warning("progress models not fitted for now: %s", e)
                    return

    def warm(self, versions: dict[str, Version]) -> None:
        """Fit these jobs' models now; :meth:`status` is not ready until they are done."""
        with self._lock:
            self._warming |= set(versions)
        self.want(versions)

    def _fit(self, job: str) -> Future[Any]:
        with self._lock:
            entry = self._progress.setdefault(job, _Progress())
            if entry.pending is not None:
                return entry.pending
            if self._closed:
                raise JobcastError("the service is shutting down")
            started = time.perf_counter()
            entry.pending = future = self._submit(_fit_progress, job)
        future.add_done_callback(lambda f: self._fitted(job, f, started))
        return future

    def _fitted(self, job: str, future: Future[Any], started: float) -> None:
        if future.cancelled() or self._closed:  # the service is shutting down
            with self._lock:
                self._progress[job].pending = None
            return
        try:
            got = future.result()
        except BrokenProcessPool as e:
            # the workers were killed (a signal to the process group, out of memory): one
            # line for all the fits under way, not a traceback each; the next fit starts
            # new workers
            with self._lock:
                first, self._broken_noted = not self._broken_noted, True
            if first:
                logger.warning("model worker processes ended, fits under way stopped: %s", e)
            with self._lock:
                entry = self._progress[job]
                entry.pending = None
                entry.failed = _Failed("JobcastError", f"fitting {job!r} stopped: {e}")
                entry.version = entry.wanted
                self._warming.discard(job)
            return
        except BaseException as e:  # a crashed worker or a bug: remembered as this job's error
            logger.exception("fitting the progress model of %s failed", job)
            got = _Failed("JobcastError", f"fitting the progress model of {job!r} failed: {e}")
        with self._lock:
            entry = self._progress[job]
            entry.pending = None
            if isinstance(got, _Failed):
                entry.failed, entry.version, entry.model = got, entry.wanted, None
            else:
                (entry.version, entry.model), entry.failed = got, None
                entry.fitted_at = time.time()
            self._warming.discard(job)
            again = entry.wanted is not None and entry.version != entry.wanted
            if isinstance(got, _Failed):
                again = False
        seconds = time.perf_counter() - started
        logger.info(
            "progress model of %s: %s in %.1f s",
            job,
            got if isinstance(got, _Failed) else "fitted",
            seconds,
        )
        if again and not self._closed:
            self._fit(job)

    def _ready_model(self, job: str) -> tuple[Any, Future[Any] | None]:
        """(model, None) when one is fitted (or raise its failure), else (None, the fit)."""
        with self._lock:
            entry = self._progress.get(job)
            if entry is not None and entry.model is not None:
                return entry.model, None
            if entry is not None and entry.failed is not None and entry.pending is None:
                entry.failed.raise_()
        return None, self._fit(job)

    def progress(self, job: str, *, timeout: float | None = None) -> Any:
        """The job's latest fitted progress model; waits for the first fit of it."""
        while True:
            model, pending = self._ready_model(job)
            if pending is None:
                return model
            pending.result(timeout=timeout)
            # the done callback may run just after result() returns
            while pending.done() and self._pending_is(job, pending):
                time.sleep(0.001)

    async def progress_async(self, job: str) -> Any:
        """:meth:`progress` for the event loop: awaits a first fit without blocking it."""
        while True:
            model, pending = self._ready_model(job)
            if pending is None:
                return model
            await asyncio.wrap_future(pending)
            while self._pending_is(job, pending):
                await asyncio.sleep(0.001)

    def _pending_is(self, job: str, future: Future[Any]) -> bool:
        with self._lock:
            entry = self._progress.get(job)
            return entry is not None and entry.pending is future

    def fitted_version(self, job: str) -> Version | None:
        """Version of the job's fitted model (None before its first fit)."""
        with self._lock:
            entry = self._progress.get(job)
            return None if entry is None or entry.model is None else entry.version

    def status(self) -> dict[str, Any]:
        """Readiness for ``/api/v1/health``: warm-up done, and each job's model state."""
        with self._lock:
            jobs = {
                job: (
                    "fitting"
                    if e.pending is not None and e.model is None
                    else "refitting"
                    if e.pending is not None
                    else "ready"
                    if e.failed is None
                    # a job without iterations (a C3O trace) has no progress model to fit
                    else "not enough data"
                    if e.failed.kind == "NotEnoughDataError"
                    else "failed"
                )
                for job, e in sorted(self._progress.items())
            }
            return {"ready": not self._warming, "progress_models": jobs}

    # ------------------------------------------------------------ answers
    async def answer(self, kind: str, job: str, body: dict[str, Any], version: Version) -> Any:
        """The answer of ``kind`` (predict, configure) for ``body`` on this job version.

        Computed once in a worker; concurrent equal requests wait for the same one.
        """
        import json

        key = (kind, job, json.dumps(body, sort_keys=True, default=str), version)
        return await self._kept(key, _answer, kind, job, body, version)

    async def typical(self, job: str, version: Version) -> Any:
        """The job page's predictions on this job version (a ``TypicalPrediction``).

        Computed once in a worker, with the runtime model the API's ``predict`` answers
        with by default on the same version (see
        :func:`jobcast.app.predict.typical_prediction`); kept like those answers.
        """
        return await self._kept(("typical", job, "", version), _typical, job, version)

    async def _kept(self, key: tuple[Any, ...], fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(url, *args)`` computed once in a worker and kept under ``key``."""
        with self._lock:
            future = self._answers.get(key)
            if future is not None:
                self._answers.move_to_end(key)
        if future is None:
            if self._closed:
                raise JobcastError("the service is shutting down")
            future = self._submit(fn, *args)
            with self._lock:
                self._answers[key] = future
                while len(self._answers) > self.size:
                    self._answers.popitem(last=False)
        try:
            got = await asyncio.wrap_future(future)
        except Exception:  # a crashed worker or a bug: not kept, the next request tries again
            with self._lock:
                if self._answers.get(key) is future:
                    del self._answers[key]
            raise
        if isinstance(got, _Failed):
            got.raise_()
        return got
