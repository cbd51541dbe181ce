"""JSON payloads of the statistics collector's HTTP endpoints (shared by client and server).

Paths, all ``POST`` with a JSON body, answered with a ``2xx`` status once stored (a
``4xx`` answer means the report is refused for good; the client drops it and logs why):

- ``/api/v1/collector/executions``, :class:`ExecutionReport`: an execution starts; the same
  report with ``finished_at`` set says it ended.
- ``/api/v1/collector/iterations/start``, :class:`IterationStart`: an iteration starts.
- ``/api/v1/collector/iterations/finish``, :class:`IterationFinish`: an iteration ends, with
  its active data records.
- ``/api/v1/collector/hardware``, :class:`HardwareReport`: a batch of hardware samples of
  one node.

Every timestamp is an ISO 8601 string with a time zone (the models turn naive times into
errors, so that nodes in different zones cannot be mixed up).

Reports are bounded (:data:`MAX_BODY_BYTES`, :data:`MAX_PARAMS`, :data:`MAX_SAMPLES` and the
numeric ranges of the fields); the collector answers 413 or 422 naming the limit.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "utc_now",
    "MAX_BODY_BYTES",
    "MAX_PARAMS",
    "MAX_SAMPLES",
    "MAX_SCALE_OUT",
    "COLLECTOR_PREFIX",
    "EXECUTIONS_PATH",
    "ITERATION_START_PATH",
    "ITERATION_FINISH_PATH",
    "HARDWARE_PATH",
    "ExecutionReport",
    "IterationStart",
    "IterationFinish",
    "HardwareSampleModel",
    "HardwareReport",
]

COLLECTOR_PREFIX = "/api/v1/collector"
EXECUTIONS_PATH = f"{COLLECTOR_PREFIX}/executions"
ITERATION_START_PATH = f"{COLLECTOR_PREFIX}/iterations/start"
ITERATION_FINISH_PATH = f"{COLLECTOR_PREFIX}/iterations/finish"
HARDWARE_PATH = f"{COLLECTOR_PREFIX}/hardware"

#: Largest request body the collector reads (a full batch of samples fits well within it).
MAX_BODY_BYTES = 4 * 1024 * 1024
#: Most job parameters one execution report may carry.
MAX_PARAMS = 100
#: Most hardware samples in one report.
MAX_SAMPLES = 10_000
#: Largest scale-out (executors or nodes) accepted.
MAX_SCALE_OUT = 100_000
#: Largest magnitude of a number (sizes, records, rates): exact in a float, fits every database.
MAX_NUMBER = 1e15
_MAX_TEXT = 1_000


def _check_name(v: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in v):
        raise ValueError("must not contain control characters (newlines, NUL, escapes)")
    return v


def _check_finite(v: float | None) -> float | None:
    if v is not None and not math.isfinite(v):
        raise ValueError("must be a finite number")
    return v


def _check_params(params: dict[str, Any]) -> dict[str, Any]:
    if len(params) > MAX_PARAMS:
        raise ValueError(f"has {len(params)} entries; at most MAX_PARAMS={MAX_PARAMS} are allowed")
    for key, value in params.items():
        if not 1 <= len(key) <= 200:
            raise ValueError(f"name {key[:40]!r} must have 1 to 200 characters")
        _check_name(key)
        if value is None or isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            if not (math.isfinite(value) and abs(value) <= MAX_NUMBER):
                raise ValueError(
                    f"{key!r} is {value!r}; numbers must be finite and at most {MAX_NUMBER:g}"
                )
        elif isinstance(value, str):
            if len(value) > _MAX_TEXT or "\x00" in value:
                raise ValueError(
                    f"{key!r} must be text of at most {_MAX_TEXT} characters without NUL"
                )
        else:
            raise ValueError(f"{key!r} must be a number, text, true/false or null")
    return params


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ExecutionReport(_Frozen):
    """An execution (one run of a recurring job) starts or, with ``finished_at``, ends.

    Parameters
    ----------
    execution
        Unique id of the run (the Spark application id for Spark jobs).
    job
        Name of the recurring job in the history.
    started_at
        When the run started.
    finished_at
        When the run ended; None while it runs.
    completed
        False when the run ended without finishing its work (failed, killed).
    input_size
        Input size, if known: MB, or another unit used for every execution of the job
        (``jobcast.workloads`` report their ``size`` parameter, in records).
    scale_out
        Executors or nodes at the start, if known.
    params
        Job parameters and context (JSON values).
    """

    execution: str = Field(min_length=1, max_length=200)
    job: str = Field(min_length=1, max_length=200)
    started_at: AwareDatetime
    finished_at: AwareDatetime | None = None
    completed: bool = True
    input_size: float | None = Field(default=None, ge=0, le=MAX_NUMBER, allow_inf_nan=False)
    scale_out: int | None = Field(default=None, ge=1, le=MAX_SCALE_OUT)
    params: dict[str, Any] = Field(default_factory=dict)

    _names = field_validator("execution", "job")(_check_name)
    _params = field_validator("params")(_check_params)


class IterationStart(_Frozen):
    """An iteration of a running execution starts.

    Parameters
    ----------
    execution
        Id of the execution (as in :class:`ExecutionReport`).
    iteration
        0-based iteration index.
    started_at
        When it started.
    scale_out
        Executors or nodes while it runs, if known.
    """

    execution: str = Field(min_length=1, max_length=200)
    iteration: int = Field(ge=0, le=10_000_000)
    started_at: AwareDatetime
    scale_out: int | None = Field(default=None, ge=1, le=MAX_SCALE_OUT)

    _names = field_validator("execution")(_check_name)


class IterationFinish(_Frozen):
    """An iteration of a running execution ends.

    Parameters
    ----------
    execution
        Id of the execution.
    iteration
        0-based iteration index (as started).
    finished_at
        When it ended.
    duration_s
        Its runtime as measured by the job (the server may also use ``finished_at`` minus
        the start it recorded).
    records
        Active data records the iteration processed (SMiPE's convergence measure).
    scale_out
        Executors or nodes while it ran, if known.
    cpu, disk, net
        Optional resource figures of the iteration (means over its nodes).
    """

    execution: str = Field(min_length=1, max_length=200)
    iteration: int = Field(ge=0, le=10_000_000)
    finished_at: AwareDatetime
    duration_s: float | None = Field(default=None, ge=0, le=MAX_NUMBER)
    records: int | None = Field(default=None, ge=0, le=int(MAX_NUMBER))
    scale_out: int | None = Field(default=None, ge=1, le=MAX_SCALE_OUT)
    cpu: float | None = Field(default=None, ge=0, le=MAX_NUMBER)
    disk: float | None = Field(default=None, ge=0, le=MAX_NUMBER)
    net: float | None = Field(default=None, ge=0, le=MAX_NUMBER)

    _names = field_validator("execution")(_check_name)
    _finite = field_validator("duration_s", "cpu", "disk", "net")(_check_finite)


class HardwareSampleModel(_Frozen):
    """One hardware sample of a node over the interval ending at ``timestamp``.

    Parameters
    ----------
    timestamp
        End of the sampling interval.
    cpu
        CPU utilisation in percent of all cores (0..100).
    disk_read, disk_write
        Disk bytes per second.
    net_rx, net_tx
        Network bytes per second received and sent.
    """

    timestamp: AwareDatetime
    cpu: float = Field(ge=0, le=100)
    disk_read: float = Field(ge=0, le=MAX_NUMBER)
    disk_write: float = Field(ge=0, le=MAX_NUMBER)
    net_rx: float = Field(ge=0, le=MAX_NUMBER)
    net_tx: float = Field(ge=0, le=MAX_NUMBER)

    _finite = field_validator("cpu", "disk_read", "disk_write", "net_rx", "net_tx")(_check_finite)


class HardwareReport(_Frozen):
    """A batch of hardware samples from one node.

    Parameters
    ----------
    node
        Host name of the node.
    execution
        The execution running on the node, if the agent knows it (the server may also
        match samples to executions by time).
    samples
        The samples, oldest first.
    """

    node: str = Field(min_length=1, max_length=200)
    execution: str | None = Field(default=None, min_length=1, max_length=200)
    samples: tuple[HardwareSampleModel, ...] = Field(max_length=MAX_SAMPLES)

    @field_validator("node", "execution")
    @classmethod
    def _names(cls, v: str | None) -> str | None:
        return None if v is None else _check_name(v)


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)
