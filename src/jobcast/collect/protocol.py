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
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "utc_now",
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
    input_size: float | None = Field(default=None, ge=0)
    scale_out: int | None = Field(default=None, ge=1)
    params: dict[str, Any] = Field(default_factory=dict)


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
    iteration: int = Field(ge=0)
    started_at: AwareDatetime
    scale_out: int | None = Field(default=None, ge=1)


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
    iteration: int = Field(ge=0)
    finished_at: AwareDatetime
    duration_s: float | None = Field(default=None, ge=0)
    records: int | None = Field(default=None, ge=0)
    scale_out: int | None = Field(default=None, ge=1)
    cpu: float | None = Field(default=None, ge=0)
    disk: float | None = Field(default=None, ge=0)
    net: float | None = Field(default=None, ge=0)

    @field_validator("duration_s", "cpu", "disk", "net")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v


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
    disk_read: float = Field(ge=0)
    disk_write: float = Field(ge=0)
    net_rx: float = Field(ge=0)
    net_tx: float = Field(ge=0)

    @field_validator("cpu", "disk_read", "disk_write", "net_rx", "net_tx")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v


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
    execution: str | None = Field(default=None, max_length=200)
    samples: tuple[HardwareSampleModel, ...] = Field(max_length=10_000)


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)
