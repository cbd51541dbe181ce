"""Running a real iterative PySpark workload locally: session, event logs, iteration hooks."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from jobcast.errors import InputError, MissingExtraError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    from jobcast.collect.client import CollectorClient

__all__ = [
    "WorkloadResult",
    "IterationHook",
    "SparkOptions",
    "spark_session",
    "find_app_event_log",
]

logger = logging.getLogger(__name__)

#: Spark's event-log codecs that jobcast can read back.
EVENT_LOG_CODECS = ("zstd", "lz4")


@dataclass(frozen=True)
class SparkOptions:
    """How the local Spark application is set up.

    Parameters
    ----------
    cores
        Worker threads: the master is ``local[cores]``.
    event_log_dir
        Folder for the event logs (``spark.eventLog.dir``); created if missing.
    codec
        ``None`` for uncompressed logs, or ``"zstd"`` / ``"lz4"``.
    rolling
        Write Spark 4's rolling ``eventlog_v2_*`` folders.
    ui_port
        Port of the Spark UI and its REST API; ``None`` turns the UI off.
    app_name
        ``spark.app.name``.
    extra_conf
        More Spark settings.
    """

    cores: int
    event_log_dir: Path
    codec: str | None = None
    rolling: bool = False
    ui_port: int | None = None
    app_name: str = "jobcast-workload"
    extra_conf: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if not isinstance(self.cores, int) or self.cores < 1:
            raise InputError(f"cores must be a positive integer, got {self.cores!r}")
        if self.codec is not None and self.codec not in EVENT_LOG_CODECS:
            raise InputError(
                f"event-log codec must be one of {EVENT_LOG_CODECS} or None, got {self.codec!r}"
            )
        if self.ui_port is not None and not 0 < self.ui_port < 65536:
            raise InputError(f"ui_port must be a TCP port, got {self.ui_port}")

    def conf(self) -> dict[str, str]:
        """Return the Spark settings these options stand for."""
        conf = {
            "spark.master": f"local[{self.cores}]",
            "spark.app.name": self.app_name,
            "spark.eventLog.enabled": "true",
            "spark.eventLog.dir": self.event_log_dir.resolve().as_uri(),
            "spark.eventLog.compress": "true" if self.codec else "false",
            "spark.eventLog.rolling.enabled": "true" if self.rolling else "false",
            "spark.default.parallelism": str(2 * self.cores),
            "spark.sql.shuffle.partitions": str(2 * self.cores),
            "spark.ui.enabled": "false" if self.ui_port is None else "true",
            "spark.ui.showConsoleProgress": "false",
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
        }
        if self.codec:
            conf["spark.eventLog.compression.codec"] = self.codec
        if self.rolling:
            conf["spark.eventLog.rolling.maxFileSize"] = "10m"  # Spark's minimum
        if self.ui_port is not None:
            conf["spark.ui.port"] = str(self.ui_port)
            conf["spark.port.maxRetries"] = "0"  # fail rather than move to another port
        conf.update(self.extra_conf)
        return conf


def spark_session(options: SparkOptions) -> SparkSession:
    """Start a local Spark session with event logs on.

    Raises
    ------
    MissingExtraError
        PySpark is not installed.
    """
    # PySpark 4 warns on import that it does not fully support pandas 3; the workloads
    # never move data between pandas and Spark, so the warning says nothing to a user.
    warnings.filterwarnings(
        "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
    )
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:
        raise MissingExtraError("pyspark", "spark", "Running workloads") from e
    options.event_log_dir.mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder
    for key, value in options.conf().items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def find_app_event_log(event_log_dir: Path, app_id: str) -> Path | None:
    """Return the event log Spark wrote for ``app_id`` in ``event_log_dir``, if any."""
    rolling = event_log_dir / f"eventlog_v2_{app_id}"
    if rolling.is_dir():
        return rolling
    for suffix in ("", ".zstd", ".lz4", ".inprogress", ".zstd.inprogress", ".lz4.inprogress"):
        candidate = event_log_dir / f"{app_id}{suffix}"
        if candidate.is_file():
            return candidate
    return None


@dataclass(eq=False)
class IterationHook:
    """Marks iterations of a workload: a Spark job group each, and reports to a collector.

    Parameters
    ----------
    sc
        The running SparkContext.
    name
        Workload name, used in job descriptions.
    client
        Collector client to report to, or None.
    pause_s
        Seconds to wait after each iteration (to watch a run live).
    callback
        Called with ``(iteration, duration_s, records)`` after each iteration.
    scale_out
        The scale-out reported with every iteration: a local run's worker threads, as
        :func:`jobcast.workloads.record.record_workload` records it (Spark itself counts
        one executor, the driver).

    Attributes
    ----------
    records, durations
        Records and wall-clock seconds of every finished iteration, in order.
    """

    sc: SparkContext
    name: str
    _: KW_ONLY
    client: CollectorClient | None = None
    pause_s: float = 0.0
    callback: Callable[[int, float, int], None] | None = None
    scale_out: int = 1
    records: list[int] = field(default_factory=list, init=False)
    durations: list[float] = field(default_factory=list, init=False)
    _started: float | None = field(default=None, init=False, repr=False)
    _current: int | None = field(default=None, init=False, repr=False)

    def start(self, iteration: int) -> None:
        """Begin ``iteration``: every Spark job until :meth:`finish` belongs to its group."""
        self._current = iteration
        self.sc.setJobGroup(
            f"iteration-{iteration}", f"{self.name} iteration {iteration}", interruptOnCancel=False
        )
        if self.client is not None:
            self.client.iteration_started(iteration, scale_out=self.scale_out)
        self._started = time.perf_counter()

    def finish(self, records: int) -> None:
        """End the current iteration, which read or changed ``records`` data records."""
        if self._current is None or self._started is None:
            raise RuntimeError("IterationHook.finish called before start")
        duration = time.perf_counter() - self._started
        iteration = self._current
        self.records.append(int(records))
        self.durations.append(duration)
        if self.client is not None:
            self.client.iteration_finished(
                iteration, records=int(records), scale_out=self.scale_out
            )
        # jobs between iterations (loading, checks) belong to no iteration group
        self.sc.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
        self.sc.setLocalProperty("spark.job.description", None)  # type: ignore[arg-type]
        self._current = None
        logger.info("%s iteration %d: %.2f s, %d records", self.name, iteration, duration, records)
        if self.callback is not None:
            self.callback(iteration, duration, int(records))
        if self.pause_s > 0:
            time.sleep(self.pause_s)


@dataclass(frozen=True)
class WorkloadResult:
    """Outcome of one workload run.

    Parameters
    ----------
    name
        Workload name (``pagerank``, ``cc``, ``kmeans``, ``sgd``).
    app_id
        Spark application id (the execution id in the history).
    app_name
        ``spark.app.name``.
    event_log
        The application's event log (file or rolling folder), if Spark wrote one.
    size
        Data size parameter of the run.
    cores
        Local worker threads.
    params
        The workload parameters used (defaults filled in).
    records
        Records per iteration as reported to the collector.
    durations_s
        Wall-clock seconds per iteration, measured in the driver.
    runtime_s
        Wall-clock seconds of the whole run, session start to stop.
    job
        The job the run belongs to (reported to the collector, recorded in the history).
    collector_problem
        Why the collector refused the run's reports or could not be reached (None: every
        report was delivered, or no collector was given).
    """

    name: str
    app_id: str
    app_name: str
    event_log: Path | None
    size: int
    cores: int
    params: Mapping[str, Any]
    records: tuple[int, ...]
    durations_s: tuple[float, ...]
    runtime_s: float
    job: str = ""
    collector_problem: str | None = None

    @property
    def iterations(self) -> int:
        """Number of iterations run."""
        return len(self.records)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "name": self.name,
            "app_id": self.app_id,
            "app_name": self.app_name,
            "event_log": None if self.event_log is None else str(self.event_log),
            "size": self.size,
            "cores": self.cores,
            "params": dict(self.params),
            "records": list(self.records),
            "durations_s": list(self.durations_s),
            "runtime_s": self.runtime_s,
            "iterations": self.iterations,
            "job": self.job or self.name,
            "collector_problem": self.collector_problem,
        }
