"""The service's background pass: ETAs of running executions, deadline-risk webhook, sources."""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx

from jobcast.app.service_reads import (
    job_versions,
    list_executions,
    running_eta,
    running_iteration_counts,
    running_job,
    shared_ids,
)
from jobcast.errors import JobcastError
from jobcast.history import HistoryRepository
from jobcast.service.answers import eta_record
from jobcast.service.models import ModelStore
from jobcast.service.settings import ServiceSettings

__all__ = ["Key", "Watcher"]

logger = logging.getLogger(__name__)

#: A running execution: (job, execution id). Ids are unique within a job only.
Key = tuple[str, str]


class Watcher:
    """Keeps the latest ETA of every running execution and calls the webhook on risk.

    One background thread runs :meth:`tick` every ``settings.watch_interval_s`` seconds;
    the API and ``/metrics`` read :meth:`snapshot`. A webhook call is made once when an
    execution's deadline risk reaches ``settings.risk_threshold``; it is armed again
    when the risk falls back below it.

    The progress models come from ``models``: :meth:`start` warms every job's, each
    pass starts a refit of those whose finished executions changed, and an estimate
    reads only its running execution against the prepared model.

    Parameters
    ----------
    repo
        The history.
    settings
        Deadlines, the webhook and the interval.
    models
        Where the progress models are fitted and kept.
    on_webhook
        Called with the outcome (``sent`` or ``failed``) of each webhook call.
    followers
        Callables run at the start of each tick (source followers recording runs).
    """

    def __init__(
        self,
        repo: HistoryRepository,
        settings: ServiceSettings,
        models: ModelStore,
        *,
        on_webhook: Callable[[str], None] | None = None,
        followers: tuple[Callable[[], None], ...] = (),
    ) -> None:
        self.repo = repo
        self.settings = settings
        self.models = models
        self.on_webhook = on_webhook
        self.followers = followers
        # an unchanged execution is estimated anew at least this often (its deadline
        # risk grows while it makes no progress)
        self.refresh_s = max(60.0, 12 * settings.watch_interval_s)
        self._lock = threading.Lock()
        # per running execution (job, id): its ETA record, when it was computed, and what
        # it was computed from (iterations recorded, model version)
        self._etas: dict[Key, tuple[dict[str, Any], float, tuple[Any, ...]]] = {}
        # ids of running executions that executions of other jobs share (last pass): read
        # without a job, they are refused as the database read refuses them
        self._shared: set[str] = set()
        self._alerted: set[Key] = set()
        # reads of the ETA endpoint: apart from the server's thread pool, so requests
        # waiting there for the database do not hold up an estimate
        self._reads = ThreadPoolExecutor(4, thread_name_prefix="jobcast-eta")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def _moved_on(record: dict[str, Any], age: float) -> dict[str, Any]:
        out = dict(record)
        if out.get("elapsed_s") is not None:
            out["elapsed_s"] = float(out["elapsed_s"]) + age
        if out.get("remaining_s") is not None:
            out["remaining_s"] = max(0.0, float(out["remaining_s"]) - age)
        if out.get("interval_s") is not None:
            # the interval is of the remaining time: it counts down with it, so the
            # point (which may sit on an end of it) stays inside
            out["interval_s"] = [max(0.0, float(v) - age) for v in out["interval_s"]]
        done, left = out.get("elapsed_s"), out.get("remaining_s")
        if out.get("progress") is not None and done is not None and left is not None:
            out["progress"] = done / (done + left) if done + left > 0 else 0.0
        return out

    def snapshot(self) -> dict[Key, dict[str, Any]]:
        """The latest ETA record per running execution (job, id), moved on by the clock."""
        now = time.monotonic()
        with self._lock:
            items = list(self._etas.items())
        return {ex: self._moved_on(rec, now - at) for ex, (rec, at, _) in items}

    def cached(
        self, execution: str, *, job: str | None = None, max_age_s: float
    ) -> dict[str, Any] | None:
        """The execution's ETA from a pass at most ``max_age_s`` old, else None.

        Elapsed and remaining seconds, the remaining time's interval and the progress
        are moved on by the time since it was computed. Without ``job``, an id that
        executions of several jobs share is not answered here (the database read says
        which jobs hold it).
        """
        with self._lock:
            if job is not None:
                hit = self._etas.get((job, execution))
            elif execution in self._shared:
                hit = None
            else:
                hits = [v for (_, ex), v in self._etas.items() if ex == execution]
                hit = hits[0] if len(hits) == 1 else None
        if hit is None:
            return None
        record, at, _ = hit
        age = time.monotonic() - at
        return None if age > max_age_s else self._moved_on(record, age)

    def _record(
        self,
        model: Any,
        execution: str,
        job: str,
        deadline_s: float | None,
        now: datetime | None,
    ) -> dict[str, Any]:
        eta = running_eta(model, self.repo, execution, job=job, deadline_s=deadline_s, now=now)
        return eta_record(eta, deadline_s)

    def _deadline(self, job: str, given: float | None) -> float | None:
        return given if given is not None else dict(self.settings.deadlines).get(job)

    def estimate(
        self,
        execution: str,
        *,
        job: str | None = None,
        deadline_s: float | None = None,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """The ETA record of a running execution (of ``job``) against its job's fitted model.

        Raises
        ------
        jobcast.errors.ConflictError
            When the execution has finished, or several jobs hold the id and ``job`` is
            not given.
        jobcast.errors.UnknownExecutionError
            When no execution (of ``job``) has this id.
        """
        job = running_job(self.repo, execution, job=job)
        model = self.models.progress(job)
        return self._record(model, execution, job, self._deadline(job, deadline_s), now)

    async def estimate_async(
        self, execution: str, *, job: str | None = None, deadline_s: float | None = None
    ) -> dict[str, Any]:
        """:meth:`estimate` for the event loop: database reads and the estimate in threads."""
        loop = asyncio.get_running_loop()
        name = await loop.run_in_executor(
            self._reads, functools.partial(running_job, self.repo, execution, job=job)
        )
        model = await self.models.progress_async(name)
        return await loop.run_in_executor(
            self._reads,
            self._record,
            model,
            execution,
            name,
            self._deadline(name, deadline_s),
            None,
        )

    def tick(self, *, now: datetime | None = None) -> dict[Key, dict[str, Any]]:
        """One pass: run the followers, refit changed models, estimate running executions.

        A job's first model is waited for; a refit runs in the background while the
        estimates use the model fitted before.
        """
        for follow in self.followers:
            try:
                follow()
            except Exception:  # a broken source must not stop the others
                logger.exception("following a source failed")
        deadlines = dict(self.settings.deadlines)
        self.models.want(job_versions(self.repo))
        counts = running_iteration_counts(self.repo)
        with self._lock:
            previous = dict(self._etas)
        etas: dict[Key, tuple[dict[str, Any], float, tuple[Any, ...]]] = {}
        broken: set[str] = set()
        running = list_executions(self.repo, state="running")
        shared = shared_ids(self.repo, {ex["id"] for ex in running})
        for ex in running:
            job = ex["job"]
            key = (job, ex["id"])
            if job in broken:
                continue
            try:
                model = self.models.progress(job)
            except JobcastError as e:  # a job without a usable history has no ETAs
                logger.info("no ETAs for %s: %s", job, e)
                broken.add(job)
                continue
            except Exception:  # a bug: its traceback, and the other jobs still get ETAs
                logger.exception("no ETAs for %s: its progress model failed", job)
                broken.add(job)
                continue
            version = self.models.fitted_version(job)
            mark = (counts.get(key), version, deadlines.get(job))
            old = previous.get(key)
            if (
                now is None
                and old is not None
                and old[2] == mark
                and time.monotonic() - old[1] < self.refresh_s
            ):
                # nothing new was recorded: the last estimate, moved on by the clock
                etas[key] = old
                continue
            try:
                record = self._record(model, ex["id"], job, deadlines.get(job), now)
            except JobcastError as e:  # e.g. a run longer than any, or one that just ended
                logger.info("no ETA for %s/%s: %s", job, ex["id"], e)
                continue
            except Exception:  # a bug: its traceback, and the other runs still get ETAs
                logger.exception("no ETA for %s/%s: estimating it failed", job, ex["id"])
                continue
            etas[key] = (record, time.monotonic(), mark)
        with self._lock:
            self._etas = etas
            self._shared = shared
        current = self.snapshot()
        self._alert(current)
        return current

    def _alert(self, etas: dict[Key, dict[str, Any]]) -> None:
        url = self.settings.webhook_url
        threshold = self.settings.risk_threshold
        for key, eta in etas.items():
            execution = key[1]
            risk = eta.get("deadline_risk")
            if risk is None:
                continue
            if risk < threshold:
                self._alerted.discard(key)
                continue
            if key in self._alerted:
                continue
            self._alerted.add(key)
            logger.warning(
                "execution %s of %s risks its deadline: %.2f >= %.2f",
                execution,
                eta.get("job"),
                risk,
                threshold,
            )
            if url is None:
                continue
            body = {
                "event": "deadline_risk",
                "job": eta.get("job"),
                "execution": execution,
                "deadline_risk": risk,
                "threshold": threshold,
                "deadline_s": eta.get("deadline_s"),
                "remaining_s": eta.get("remaining_s"),
                "finish_at": eta.get("finish_at"),
                "sent_at": datetime.now(UTC).isoformat(),
            }
            try:
                httpx.post(url, json=body, timeout=10).raise_for_status()
                outcome = "sent"
            except httpx.HTTPError as e:
                logger.error("webhook %s failed for %s: %s", url, execution, e)
                self._alerted.discard(key)  # try again on the next pass
                outcome = "failed"
            if self.on_webhook is not None:
                self.on_webhook(outcome)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                logger.exception("the background pass failed")
            self._stop.wait(self.settings.watch_interval_s)

    def start(self) -> None:
        """Warm the models, then run :meth:`tick` in a daemon thread until :meth:`stop`."""
        if self._thread is None:
            if self._reads._shutdown:  # started again after a stop
                self._reads = ThreadPoolExecutor(4, thread_name_prefix="jobcast-eta")
            self.models.warm(job_versions(self.repo))
            self._thread = threading.Thread(target=self._run, name="jobcast-watch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the background thread (waits for the current pass)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self._reads.shutdown(wait=False)
