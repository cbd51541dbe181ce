"""Run one of the bundled iterative PySpark workloads and describe the run."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import TYPE_CHECKING, Any

from jobcast.collect.eventlog import CONTEXT_PREFIX
from jobcast.errors import InputError
from jobcast.workloads import base, cc, kmeans, pagerank, sgd
from jobcast.workloads.record import workload_attributes

if TYPE_CHECKING:  # pragma: no cover - typing only
    from jobcast.collect.client import CollectorClient

__all__ = ["WORKLOADS", "run_workload", "workload_defaults"]

logger = logging.getLogger(__name__)

#: The bundled workloads by name.
WORKLOADS: Mapping[str, ModuleType] = MappingProxyType(
    {"pagerank": pagerank, "cc": cc, "kmeans": kmeans, "sgd": sgd}
)
#: Parameters every workload accepts besides its own.
COMMON_PARAMS: Mapping[str, Any] = MappingProxyType({"pause_s": 0.0})


def workload_defaults(name: str) -> tuple[int, dict[str, Any]]:
    """Return the default ``size`` and parameters of workload ``name``.

    Raises
    ------
    InputError
        ``name`` is not a bundled workload.
    """
    module = _module(name)
    return int(module.DEFAULT_SIZE), {**dict(module.DEFAULTS), **dict(COMMON_PARAMS)}


def _module(name: str) -> ModuleType:
    try:
        return WORKLOADS[name]
    except KeyError:
        raise InputError(
            f"unknown workload {name!r}; choose one of {', '.join(sorted(WORKLOADS))}"
        ) from None


def _merge_params(name: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    _, merged = workload_defaults(name)
    for key, value in (params or {}).items():
        if key not in merged:
            raise InputError(
                f"workload {name!r} has no parameter {key!r}; it takes {', '.join(sorted(merged))}"
            )
        default = merged[key]
        try:
            merged[key] = type(default)(value) if not isinstance(value, type(default)) else value
        except (TypeError, ValueError) as e:
            raise InputError(
                f"parameter {key!r} of workload {name!r} must be a {type(default).__name__}, "
                f"got {value!r}"
            ) from e
    return merged


def run_workload(
    name: str,
    *,
    size: int | None = None,
    cores: int = 2,
    params: Mapping[str, Any] | None = None,
    event_log_dir: str | Path,
    collector_url: str | None = None,
    job: str | None = None,
    app_name: str | None = None,
    codec: str | None = None,
    rolling: bool = False,
    ui_port: int | None = None,
    spark_conf: Mapping[str, str] | None = None,
    callback: Callable[[int, float, int], None] | None = None,
) -> base.WorkloadResult:
    """Run a real iterative PySpark job locally, one Spark job group per iteration.

    Parameters
    ----------
    name
        ``"pagerank"``, ``"cc"``, ``"kmeans"`` or ``"sgd"``.
    size
        Data size: pages, vertices, points or observations (each workload's default when
        None).
    cores
        Local worker threads (``local[cores]``).
    params
        Workload parameters overriding the defaults (see :func:`workload_defaults`);
        ``pause_s`` waits after each iteration, to watch a run live.
    event_log_dir
        Folder of the Spark event logs.
    collector_url
        Base URL of a jobcast collector (``http://host:port``) to report iterations to,
        under ``job``, with the attributes and scale-out (``cores``) that
        :func:`jobcast.workloads.record.record_workload` records. When the collector
        refuses the run's start, nothing more is reported; the result's
        ``collector_problem`` says why.
    job
        The job the run belongs to (default ``name``).
    app_name
        ``spark.app.name`` (default ``jobcast-<name>``).
    codec
        Event-log compression: None, ``"zstd"`` or ``"lz4"``.
    rolling
        Write a rolling ``eventlog_v2_*`` folder.
    ui_port
        Keep the Spark UI and REST API on this port while running (off when None).
    spark_conf
        More Spark settings (they win over jobcast's).
    callback
        Called with ``(iteration, duration_s, records)`` after each iteration.

    Returns
    -------
    WorkloadResult

    Raises
    ------
    InputError
        Unknown workload or parameter, or a bad size, cores or codec.
    MissingExtraError
        PySpark is not installed.

    Examples
    --------
    >>> result = run_workload("kmeans", size=20_000, cores=2,
    ...                       event_log_dir="/tmp/spark-events")  # doctest: +SKIP
    >>> result.iterations, result.event_log  # doctest: +SKIP
    """
    module = _module(name)
    merged = _merge_params(name, params)
    size = int(module.DEFAULT_SIZE) if size is None else size
    if not isinstance(size, int) or size < 2:
        raise InputError(f"size must be an integer >= 2, got {size!r}")
    app = app_name or f"jobcast-{name}"
    job = job or name
    context = workload_attributes(size, cores, merged)
    log_dir = Path(event_log_dir).resolve()  # the result names its log absolutely
    # the run's job and attributes travel in its Spark settings, so that `jobcast watch`
    # following its event log records the same job, attributes and scale-out
    conf = {f"{CONTEXT_PREFIX}{k}": f"{v:g}" for k, v in context.items()}
    options = base.SparkOptions(
        cores=cores,
        event_log_dir=log_dir,
        codec=codec,
        rolling=rolling,
        ui_port=ui_port,
        app_name=app,
        extra_conf=MappingProxyType({**conf, **dict(spark_conf or {})}),
    )
    # PySpark starts its Python workers with $PYSPARK_PYTHON (default "python3", whatever
    # that is on the PATH); they must be this interpreter, which can import jobcast
    os.environ["PYSPARK_PYTHON"] = sys.executable
    # local runs talk to themselves only: keep the driver, its block manager and the UI on
    # the loopback interface instead of whatever address the host name resolves to
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    started = time.perf_counter()
    spark = base.spark_session(options)
    sc = spark.sparkContext
    app_id = str(sc.applicationId)
    client = _start_reporting(collector_url, app_id, job=job, context=context, cores=cores)
    hook = base.IterationHook(
        sc,
        name,
        client=client if client is not None and not client.refused else None,
        pause_s=float(merged["pause_s"]),
        callback=callback,
        scale_out=cores,
    )
    algorithm_params = {k: v for k, v in merged.items() if k not in COMMON_PARAMS}
    try:
        module.run(sc, hook, size=size, params=algorithm_params)
    finally:
        spark.stop()
        if client is not None:
            if hook.client is not None:
                client.finish_execution(app_id)
            client.close()
    runtime = time.perf_counter() - started
    log = base.find_app_event_log(log_dir, app_id)
    if log is None:
        logger.warning("no event log for %s found in %s", app_id, log_dir)
    return base.WorkloadResult(
        name=name,
        app_id=app_id,
        app_name=app,
        event_log=log,
        size=size,
        cores=cores,
        params=MappingProxyType(merged),
        records=tuple(hook.records),
        durations_s=tuple(hook.durations),
        runtime_s=runtime,
        job=job,
        collector_problem=None if client is None else client.problem,
    )


def _start_reporting(
    url: str | None, app_id: str, *, job: str, context: Mapping[str, float], cores: int
) -> CollectorClient | None:
    """A client that reported the run's start to the collector at ``url`` (None: no URL)."""
    if url is None:
        return None
    from jobcast.collect.client import CollectorClient

    client = CollectorClient(url)
    client.start_execution(
        app_id,
        job=job,
        params={k: v for k, v in context.items() if k != "input_size"},
        input_size=context["input_size"],
        scale_out=cores,
    )
    if client.refused:
        logger.warning(
            "collector %s refused the start of %s; its iterations are not reported", url, app_id
        )
    return client
