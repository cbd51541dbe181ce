"""Client a running job uses to report executions, iterations and hardware to the collector."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from jobcast.collect.protocol import (
    EXECUTIONS_PATH,
    HARDWARE_PATH,
    ITERATION_FINISH_PATH,
    ITERATION_START_PATH,
    ExecutionReport,
    HardwareReport,
    HardwareSampleModel,
    IterationFinish,
    IterationStart,
    utc_now,
)
from jobcast.errors import InputError

__all__ = ["CollectorClient", "Refusal"]

logger = logging.getLogger(__name__)

#: Refusals kept to describe (the first ones: later ones mostly repeat them).
_KEPT_REFUSALS = 20


@dataclass(frozen=True)
class Refusal:
    """A report the collector answered with a 4xx status (not retried, not stored).

    Parameters
    ----------
    path
        The endpoint the report went to.
    status
        The HTTP status of the answer.
    detail
        What the collector said (its ``detail``, or the start of the body).
    """

    path: str
    status: int
    detail: str

    @property
    def unauthorized(self) -> bool:
        """True when the token was missing, unknown or lacks the scope (401, 403)."""
        return self.status in (401, 403)

    def describe(self) -> str:
        """One sentence for a user, saying what to do about a missing or wrong token."""
        if self.status == 401:
            return (
                f"the collector refused the reports (401: {self.detail}): the token is "
                "missing or wrong; set $JOBCAST_TOKEN to a token of scope collect "
                "(`jobcast token create --scope collect` on the collector's history)"
            )
        if self.status == 403:
            return (
                f"the collector refused the reports (403: {self.detail}): the token is "
                "not allowed to report; use a token of scope collect"
            )
        return f"the collector refused a report to {self.path} ({self.status}: {self.detail})"


class CollectorClient:
    """Report a running execution to a jobcast collector (``jobcast serve``) over HTTP.

    The client never lets a collector problem stop the job: a report that cannot be
    delivered after ``retries`` attempts is kept in a bounded buffer (the oldest reports
    are dropped first when it is full, with a warning) and sent again before the next
    report or on :meth:`flush`. While the collector is unreachable each report is tried
    once, so the job is not slowed down.

    Parameters
    ----------
    url
        Base URL of the collector, ``http://host:port``.
    timeout_s
        Timeout of one HTTP request.
    retries
        Attempts per report while the collector is reachable.
    backoff_s
        Wait before the second attempt; doubles with each further attempt.
    buffer_size
        Most undelivered reports kept.
    transport
        httpx transport (for an in-process server); the network when None.
    token
        Bearer token (scope ``collect``) the service requires; ``$JOBCAST_TOKEN`` when
        None.
    on_answer
        Called with the path, the report and the JSON answer (None when not JSON) of
        every report the collector accepted (for example to count the hardware samples
        it kept).

    Attributes
    ----------
    delivered
        Reports the collector accepted.
    dropped
        Reports given up: refused by the collector, or pushed out of the full buffer.
    refused
        Reports the collector refused (4xx); :attr:`refusals` describes the first ones.
    lost
        Reports still undelivered when the client was closed.

    Examples
    --------
    >>> client = CollectorClient("http://localhost:8000")  # doctest: +SKIP
    >>> client.start_execution("app-1", job="pagerank")  # doctest: +SKIP
    >>> client.iteration_started(0)  # doctest: +SKIP
    >>> client.iteration_finished(0, records=12_345)  # doctest: +SKIP
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 2.0,
        retries: int = 3,
        backoff_s: float = 0.1,
        buffer_size: int = 10_000,
        transport: httpx.BaseTransport | None = None,
        token: str | None = None,
        on_answer: Callable[[str, BaseModel, Any], None] | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise InputError(f"collector URL must start with http:// or https://, got {url!r}")
        if retries < 1 or buffer_size < 1:
            raise InputError("retries and buffer_size must be at least 1")
        self.url = url.rstrip("/")
        self.retries = retries
        self.backoff_s = backoff_s
        # `jobcast serve` wants a bearer token of scope collect on every report
        token = token or os.environ.get("JOBCAST_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else None
        self._http = httpx.Client(
            base_url=self.url, timeout=timeout_s, transport=transport, headers=headers
        )
        self._buffer: deque[tuple[str, BaseModel]] = deque()
        self._buffer_size = buffer_size
        self._lock = threading.Lock()
        self._online = True
        self.dropped = 0
        self.delivered = 0
        self.refused = 0
        self.lost = 0
        self.refusals: list[Refusal] = []
        self._on_answer = on_answer
        self.execution: str | None = None
        self._next_iteration = 0
        # per started iteration: perf_counter then, and its start time (given or now),
        # and whether that time was given
        self._iteration_started: dict[int, tuple[float, datetime, bool]] = {}
        self._start_report: ExecutionReport | None = None

    # -- reports -------------------------------------------------------------------------

    def start_execution(
        self,
        execution: str,
        *,
        job: str,
        params: Mapping[str, Any] | None = None,
        input_size: float | None = None,
        scale_out: int | None = None,
        started_at: datetime | None = None,
    ) -> bool:
        """Report that ``execution`` of ``job`` starts; later reports default to it.

        Returns
        -------
        bool
            True when delivered now, False when buffered.
        """
        self.execution = execution
        self._next_iteration = 0
        report = self._model(
            ExecutionReport,
            execution=execution,
            job=job,
            started_at=started_at or utc_now(),
            params=dict(params or {}),
            input_size=input_size,
            scale_out=scale_out,
        )
        self._start_report = report
        return self._send(EXECUTIONS_PATH, report)

    def finish_execution(self, execution: str | None = None, *, completed: bool = True) -> bool:
        """Report that the execution ended (``completed=False`` when it failed)."""
        start = self._start_report
        if start is None:
            raise InputError("finish_execution called before start_execution")
        report = start.model_copy(
            update={
                "execution": execution or start.execution,
                "finished_at": utc_now(),
                "completed": completed,
            }
        )
        return self._send(EXECUTIONS_PATH, report)

    def iteration_started(
        self,
        iteration: int | None = None,
        *,
        execution: str | None = None,
        scale_out: int | None = None,
        started_at: datetime | None = None,
    ) -> bool:
        """Report that an iteration starts (the next index when ``iteration`` is None).

        ``started_at`` (default: now) is the start :meth:`iteration_finished` measures
        the iteration's duration from when either end was given (see there).
        """
        if iteration is None:
            iteration = self._next_iteration
        self._next_iteration = iteration + 1
        counter, began = time.perf_counter(), started_at or utc_now()
        report = self._model(
            IterationStart,
            execution=self._execution(execution),
            iteration=iteration,
            started_at=began,
            scale_out=scale_out,
        )
        self._iteration_started[iteration] = (counter, began, started_at is not None)
        return self._send(ITERATION_START_PATH, report)

    def iteration_finished(
        self,
        iteration: int | None = None,
        *,
        records: int | None = None,
        execution: str | None = None,
        scale_out: int | None = None,
        cpu: float | None = None,
        disk: float | None = None,
        net: float | None = None,
        finished_at: datetime | None = None,
    ) -> bool:
        """Report that an iteration ended (the last started one when ``iteration`` is None).

        Its ``duration_s`` is what the reported times say: ``finished_at`` (default: now)
        minus the ``started_at`` given to :meth:`iteration_started` (default: the time
        it was called) when either time was given, as when replaying a run; else the
        time between the two calls, measured with a monotonic clock. Not sent when this
        client did not report the iteration's start (the collector then takes its end
        minus the start it recorded).

        Raises
        ------
        InputError
            ``finished_at`` is before the iteration's start.
        """
        if iteration is None:
            iteration = max(self._next_iteration - 1, 0)
        began = self._iteration_started.pop(iteration, None)
        ended = finished_at or utc_now()
        duration: float | None = None
        if began is not None:
            counter, start, given = began
            if ended.tzinfo is None:  # refused below, as the protocol wants
                pass
            elif given or finished_at is not None:
                duration = (ended - start).total_seconds()
                if duration < 0:
                    raise InputError(
                        f"iteration {iteration}: finished_at {ended.isoformat()} is before "
                        f"its started_at {start.isoformat()}"
                    )
            else:
                duration = time.perf_counter() - counter
        report = self._model(
            IterationFinish,
            execution=self._execution(execution),
            iteration=iteration,
            finished_at=ended,
            duration_s=duration,
            records=records,
            scale_out=scale_out,
            cpu=cpu,
            disk=disk,
            net=net,
        )
        return self._send(ITERATION_FINISH_PATH, report)

    def send_hardware_samples(
        self,
        samples: Iterable[Mapping[str, Any] | HardwareSampleModel | Any],
        *,
        node: str,
        execution: str | None = None,
    ) -> bool:
        """Send hardware samples of ``node``.

        Parameters
        ----------
        samples
            :class:`~jobcast.collect.hardware.HardwareSample` objects, protocol models, or
            mappings with ``timestamp, cpu, disk_read, disk_write, net_rx, net_tx``.
        node
            Host name of the node.
        execution
            The execution running there, if known (default: the current one, if any).
        """
        items = []
        for s in samples:
            if isinstance(s, HardwareSampleModel):
                items.append(s)
            elif isinstance(s, Mapping):
                items.append(self._model(HardwareSampleModel, **s))
            else:
                items.append(
                    self._model(
                        HardwareSampleModel,
                        **{k: getattr(s, k) for k in HardwareSampleModel.model_fields},
                    )
                )
        report = self._model(
            HardwareReport, node=node, execution=execution or self.execution, samples=items
        )
        return self._send(HARDWARE_PATH, report)

    # -- delivery ------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Reports waiting in the buffer."""
        return len(self._buffer)

    def flush(self) -> bool:
        """Try to deliver the buffered reports; True when none is left."""
        with self._lock:
            return self._drain()

    def close(self) -> None:
        """Deliver what can be delivered and close the HTTP connection."""
        self.flush()
        if self._buffer:
            self.lost = len(self._buffer)
            logger.warning(
                "collector %s: %d report(s) could not be delivered and are lost",
                self.url,
                len(self._buffer),
            )
        self._http.close()

    @property
    def problem(self) -> str | None:
        """What went wrong with the reports, for a user; None when all were delivered.

        Names refusals first (a missing or wrong token says so), then reports that could
        not be delivered (kept in the buffer, lost at :meth:`close`, or pushed out of a
        full buffer).
        """
        parts = []
        if self.refused:
            first = next((r for r in self.refusals if r.unauthorized), self.refusals[0])
            parts.append(f"{self.refused} report(s) refused; {first.describe()}")
        undelivered = self.lost or len(self._buffer)
        overflow = self.dropped - self.refused
        if undelivered or overflow:
            parts.append(
                f"{undelivered + overflow} report(s) could not be delivered to {self.url} "
                "(unreachable) and are lost"
            )
        return "; ".join(parts) or None

    def __enter__(self) -> CollectorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _execution(self, execution: str | None) -> str:
        ex = execution or self.execution
        if ex is None:
            raise InputError("no execution: call start_execution first or pass execution=")
        return ex

    @staticmethod
    def _model(cls: type[BaseModel], **fields: Any) -> Any:
        try:
            return cls(**fields)
        except ValidationError as e:
            raise InputError(f"invalid {cls.__name__} report: {e}") from e

    def _send(self, path: str, report: BaseModel) -> bool:
        with self._lock:
            self._buffer.append((path, report))
            while len(self._buffer) > self._buffer_size:
                self._buffer.popleft()
                self.dropped += 1
                logger.warning("collector %s: buffer full, oldest report dropped", self.url)
            return self._drain()

    def _drain(self) -> bool:
        while self._buffer:
            path, report = self._buffer[0]
            outcome = self._post(path, report)
            if outcome == "failed":
                return False
            self._buffer.popleft()
            if outcome == "ok":
                self.delivered += 1
            else:
                self.dropped += 1
        return True

    def _post(self, path: str, report: BaseModel) -> str:
        attempts = self.retries if self._online else 1
        body = report.model_dump(mode="json")
        delay = self.backoff_s
        problem = ""
        for attempt in range(attempts):
            if attempt:
                time.sleep(delay)
                delay *= 2
            try:
                response = self._http.post(path, json=body)
            except httpx.HTTPError as e:
                problem = f"{type(e).__name__}: {e}"
                continue
            if response.status_code < 300:
                if not self._online:
                    logger.info("collector %s reachable again", self.url)
                self._online = True
                if self._on_answer is not None:
                    self._on_answer(path, report, _answer(response))
                return "ok"
            if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
                # the collector refuses this report: retrying cannot help, drop it
                logger.warning(
                    "collector %s refused %s (%d): %s",
                    self.url,
                    path,
                    response.status_code,
                    response.text[:500],
                )
                self.refused += 1
                if len(self.refusals) < _KEPT_REFUSALS:
                    self.refusals.append(Refusal(path, response.status_code, _detail(response)))
                return "refused"
            problem = f"HTTP {response.status_code}"
        if self._online:
            logger.warning(
                "collector %s unreachable (%s); buffering reports and retrying later",
                self.url,
                problem,
            )
        self._online = False
        return "failed"


def _answer(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _detail(response: httpx.Response) -> str:
    body = _answer(response)
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        return str(body["detail"])[:500]
    return response.text[:500]
