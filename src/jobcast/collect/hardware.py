"""Sample a node's cpu, disk and network load with psutil, and ship samples to a collector."""

from __future__ import annotations

import logging
import math
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import psutil

from jobcast.errors import InputError
from jobcast.history.records import HARDWARE_COLUMNS

__all__ = [
    "AgentResult",
    "HARDWARE_COLUMNS",
    "HardwareSample",
    "HardwareSampler",
    "hardware_frame",
    "run_agent",
    "typed_node_frame",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HardwareSample:
    """Load of one node over one sampling interval.

    Parameters
    ----------
    timestamp
        End of the interval (UTC).
    cpu
        CPU utilisation, percent of all cores (0..100).
    disk_read, disk_write
        Disk bytes per second.
    net_rx, net_tx
        Network bytes per second received and sent.
    """

    timestamp: datetime
    cpu: float
    disk_read: float
    disk_write: float
    net_rx: float
    net_tx: float

    def __post_init__(self) -> None:
        if self.timestamp.tzinfo is None:
            raise InputError("HardwareSample.timestamp must be timezone-aware")
        for name in ("cpu", "disk_read", "disk_write", "net_rx", "net_tx"):
            v = getattr(self, name)
            if not math.isfinite(v) or v < 0:
                raise InputError(f"HardwareSample.{name} must be finite and >= 0, got {v}")
        if self.cpu > 100.0 + 1e-9:
            raise InputError(f"HardwareSample.cpu is a percentage, got {self.cpu}")


class HardwareSampler:
    """Rates of a node's cpu, disk and network use between consecutive calls of :meth:`sample`.

    Parameters
    ----------
    interval_s
        Seconds between samples in :meth:`run`.

    Notes
    -----
    Disk counters are not available in some containers; disk rates are then 0 (logged once).
    """

    def __init__(self, *, interval_s: float = 1.0) -> None:
        if not interval_s > 0:
            raise InputError(f"interval_s must be > 0, got {interval_s}")
        self.interval_s = interval_s
        self._warned_disk = False
        self._last = self._counters()
        psutil.cpu_percent(interval=None)  # prime: the next call measures from here

    def _counters(self) -> tuple[float, int, int, int, int]:
        disk = psutil.disk_io_counters()
        if disk is None:
            if not self._warned_disk:
                logger.warning("no disk counters on this system; disk rates are reported as 0")
                self._warned_disk = True
            read = written = 0
        else:
            read, written = int(disk.read_bytes), int(disk.write_bytes)
        net = psutil.net_io_counters()
        return time.monotonic(), read, written, int(net.bytes_recv), int(net.bytes_sent)

    def sample(self) -> HardwareSample:
        """Return the load since the previous call (or since the sampler was made)."""
        now = self._counters()
        cpu = float(psutil.cpu_percent(interval=None))
        t0, r0, w0, rx0, tx0 = self._last
        t1, r1, w1, rx1, tx1 = now
        self._last = now
        dt = max(t1 - t0, 1e-6)

        def rate(a: int, b: int) -> float:
            return max(b - a, 0) / dt  # counters may wrap or reset: never negative

        return HardwareSample(
            timestamp=datetime.now(UTC),
            cpu=min(max(cpu, 0.0), 100.0),
            disk_read=rate(r0, r1),
            disk_write=rate(w0, w1),
            net_rx=rate(rx0, rx1),
            net_tx=rate(tx0, tx1),
        )

    def run(
        self,
        *,
        count: int | None = None,
        stop: threading.Event | None = None,
        callback: Callable[[HardwareSample], None] | None = None,
    ) -> list[HardwareSample]:
        """Take a sample every ``interval_s`` until ``count`` samples or ``stop`` is set.

        Parameters
        ----------
        count
            Samples to take; runs until ``stop`` is set when None.
        stop
            Event that ends sampling.
        callback
            Called with each sample (when it is given, samples are not kept in the result).

        Returns
        -------
        list of HardwareSample
            The samples, unless a callback took them.
        """
        if count is None and stop is None:
            raise InputError("give count or a stop event, or sampling never ends")
        stop = stop or threading.Event()
        kept: list[HardwareSample] = []
        taken = 0
        deadline = time.monotonic()
        while not stop.is_set() and (count is None or taken < count):
            deadline += self.interval_s
            if stop.wait(max(deadline - time.monotonic(), 0.0)):
                break
            s = self.sample()
            taken += 1
            if callback is None:
                kept.append(s)
            else:
                callback(s)
        return kept


def hardware_frame(
    samples: Iterable[HardwareSample], *, node: str | None = None, execution: str | None = None
) -> pd.DataFrame:
    """Build a hardware-sample frame (:data:`HARDWARE_COLUMNS`) from samples of one node."""
    rows = [asdict(s) for s in samples]
    frame = pd.DataFrame(rows, columns=list(HARDWARE_COLUMNS[2:]))
    return typed_node_frame(frame, node=node or socket.gethostname(), execution=execution)


def typed_node_frame(frame: pd.DataFrame, *, node: str, execution: str | None) -> pd.DataFrame:
    """Type one node's samples as a hardware-sample frame (:data:`HARDWARE_COLUMNS`).

    Parameters
    ----------
    frame
        The columns ``HARDWARE_COLUMNS[2:]`` (timestamp and the measures) of one node.
    node, execution
        The node's name and the execution it ran for (None: not known yet).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`HARDWARE_COLUMNS`, in that order, with their dtypes.
    """
    frame = frame.copy()
    frame.insert(0, "node", node)
    frame.insert(0, "execution", execution)
    frame["execution"] = frame["execution"].astype("string")
    frame["node"] = frame["node"].astype("string")
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    for c in HARDWARE_COLUMNS[3:]:
        frame[c] = frame[c].astype("float64")
    return frame[list(HARDWARE_COLUMNS)]


@dataclass(frozen=True)
class AgentResult:
    """What one run of the agent (:func:`run_agent`) sampled and what the collector kept.

    Parameters
    ----------
    taken
        Samples taken.
    delivered
        Samples in batches the collector accepted.
    stored
        Samples the collector says it stored, or None when it does not say. A collector
        keeps a sample without ``execution`` only for the executions running at its time.
    execution
        The execution the samples were sent for (None: matched by time on the collector).
    problem
        Why batches were refused (a missing or wrong token says so) or could not be
        delivered, or None when every batch was.
    """

    taken: int
    delivered: int
    stored: int | None
    execution: str | None
    problem: str | None

    @property
    def none_stored(self) -> str | None:
        """Why the collector kept none of the delivered samples, or None when it kept some."""
        if self.stored is None or self.stored > 0 or self.delivered == 0:
            return None
        if self.execution is None:
            return (
                f"the collector stored none of the {self.delivered} samples: no execution "
                "was running at their times to attach them to (start the job first, or "
                "pass --execution ID)"
            )
        return (
            f"the collector stored none of the {self.delivered} samples for execution "
            f"{self.execution!r}"
        )


def run_agent(
    collector_url: str,
    *,
    interval_s: float = 1.0,
    batch: int = 10,
    node: str | None = None,
    execution: str | None = None,
    count: int | None = None,
    stop: threading.Event | None = None,
    callback: Callable[[HardwareSample], None] | None = None,
) -> AgentResult:
    """Sample this node and send the samples to a collector in batches (``jobcast agent``).

    Parameters
    ----------
    collector_url
        ``http://host:port`` of ``jobcast serve``.
    interval_s
        Seconds between samples.
    batch
        Samples per request.
    node
        Node name (the host name when None).
    execution
        Execution the samples belong to, if known.
    count
        Samples to take; until ``stop`` is set when None.
    stop
        Event that ends the agent.
    callback
        Called with each sample.

    Returns
    -------
    AgentResult
        Samples taken, delivered and stored, and what went wrong with the reports.
        Undeliverable samples are buffered by the client and retried until the end. A
        refusal for a missing or wrong token (401, 403) ends the agent at once: every
        later batch would be refused too. Ctrl-C (KeyboardInterrupt) ends the agent as
        ``stop`` does.

    Raises
    ------
    InputError
        ``batch`` below 1, or neither ``count`` nor ``stop`` given.
    """
    from jobcast.collect.client import CollectorClient
    from jobcast.collect.protocol import HARDWARE_PATH

    if batch < 1:
        raise InputError(f"batch must be >= 1, got {batch}")
    if count is None and stop is None:
        raise InputError("give count or a stop event, or the agent never ends")
    stop = stop or threading.Event()
    name = node or socket.gethostname()
    pending: list[HardwareSample] = []
    taken = 0
    delivered = 0
    stored: int | None = 0  # None: the collector does not say what it kept

    def on_answer(path: str, report: Any, answer: Any) -> None:
        nonlocal delivered, stored
        if path != HARDWARE_PATH:
            return
        n = len(report.samples)
        delivered += n
        kept = answer.get("stored") if isinstance(answer, dict) else None
        if not isinstance(kept, int) or stored is None:
            stored = None
            return
        stored += kept
        if stored == 0 and delivered == n:  # said once, at the first batch
            logger.warning(
                "collector %s stored none of the %d samples sent%s",
                collector_url,
                n,
                "" if execution is not None else ": no execution was running at their "
                "times to attach them to (start the job first, or pass --execution ID)",
            )

    with CollectorClient(collector_url, on_answer=on_answer) as client:

        def send() -> None:
            client.send_hardware_samples(pending, node=name, execution=execution)
            pending.clear()
            if any(r.unauthorized for r in client.refusals):
                stop.set()  # every later batch would be refused for the same token

        def on_sample(s: HardwareSample) -> None:
            nonlocal taken
            taken += 1
            pending.append(s)
            if callback is not None:
                callback(s)
            if len(pending) >= batch:
                send()

        try:
            HardwareSampler(interval_s=interval_s).run(count=count, stop=stop, callback=on_sample)
        except KeyboardInterrupt:  # Ctrl-C ends the agent as `stop` does: the rest is sent
            stop.set()
        if pending:
            send()
    return AgentResult(
        taken=taken,
        delivered=delivered,
        stored=stored,
        execution=execution,
        problem=client.problem,
    )
