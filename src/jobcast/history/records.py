"""Value objects of the job history: jobs, attributes, provenance and import tables."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from jobcast.errors import InputError
from jobcast.history.values import check_epsilon

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "AttributeKind",
    "Attribute",
    "JobSpec",
    "SourceKind",
    "Provenance",
    "ExecutionTable",
    "IterationTable",
    "ImportSummary",
    "JobSummary",
    "Release",
    "EXECUTION_COLUMNS",
    "HARDWARE_COLUMNS",
    "ITERATION_COLUMNS",
    "ITERATION_VALUE_COLUMNS",
]

#: Columns every execution frame carries besides the job's context attributes.
EXECUTION_COLUMNS = (
    "execution_id",
    "external_id",
    "scale_out",
    "machine_type",
    "gross_runtime",
    "started_at",
    "finished_at",
    "source",
)

#: Canonical per-iteration columns, in order (``records`` to ``net`` may be missing or null);
#: the one definition for the history, the event-log and REST collectors and the importers.
#:
#: - ``execution``: the Spark application id (``<app id>_<attempt>`` for a retried attempt).
#: - ``iteration``: 0-based, in order of the iterations' start times.
#: - ``started_at`` / ``finished_at``: UTC datetimes; submission of the iteration's first Spark
#:   job and completion of its last.
#: - ``duration_s``: ``finished_at - started_at`` in seconds.
#: - ``scale_out``: executors alive while the iteration ran, time-weighted over its span and
#:   rounded to the nearest integer (at least 1); a local-mode run (``local[N]``) counts its
#:   N worker threads, as ``workloads run``, ``watch`` and ``import eventlog`` record it.
#: - ``records``: records the iteration read: input records plus shuffle records read, summed
#:   over its tasks.
#: - ``cpu``: executor CPU time divided by executor run time, summed over the iteration's tasks
#:   (0..1 per task thread; the JVM's CPU only: Python workers of PySpark are not included).
#: - ``disk``: bytes read or written on disk: input bytes read + output bytes written +
#:   shuffle bytes written + shuffle bytes read locally + bytes spilled to disk.
#: - ``net``: shuffle bytes fetched from remote executors (including push-merged remote reads).
ITERATION_COLUMNS: tuple[str, ...] = (
    "execution",
    "iteration",
    "duration_s",
    "scale_out",
    "started_at",
    "finished_at",
    "records",
    "cpu",
    "disk",
    "net",
)

#: The columns of :data:`ITERATION_COLUMNS` holding an iteration's values (not the keys
#: ``execution`` and ``iteration``); the history stores each under the same name.
ITERATION_VALUE_COLUMNS: tuple[str, ...] = ITERATION_COLUMNS[2:]


#: Columns of a hardware-sample frame: ``execution`` (may be missing), ``node`` (host name),
#: ``timestamp`` (UTC, end of the interval), ``cpu`` (percent of all cores, 0..100),
#: ``disk_read`` / ``disk_write`` (bytes per second), ``net_rx`` / ``net_tx`` (bytes per
#: second received and sent). The one definition for the history, the agent and dool.
HARDWARE_COLUMNS: tuple[str, ...] = (
    "execution",
    "node",
    "timestamp",
    "cpu",
    "disk_read",
    "disk_write",
    "net_rx",
    "net_tx",
)


class AttributeKind(enum.StrEnum):
    """What a context attribute describes."""

    PARAMETER = "parameter"
    DATASET = "dataset"
    RESOURCE = "resource"


class SourceKind(enum.StrEnum):
    """Where an execution came from."""

    FILE = "file"
    LIVE = "live"
    SHARE = "share"


@dataclass(frozen=True)
class Attribute:
    """A context attribute of a job: its name and what it describes."""

    name: str
    kind: AttributeKind
    numeric: bool = True

    def __post_init__(self) -> None:
        if not self.name or not self.name.strip():
            raise InputError("attribute names must not be empty")
        object.__setattr__(self, "kind", AttributeKind(self.kind))


@dataclass(frozen=True)
class JobSpec:
    """A job: its name, context attributes and the trace's names of the key columns.

    Parameters
    ----------
    name
        Unique job name, for example ``"kmeans"``.
    attributes
        The context attributes, in trace order.
    runtime_column, scale_out_column, machine_type_column
        The names the source trace used for runtime, scale-out and machine type, so that
        exported rows (share packages) use the same column names.
    """

    name: str
    attributes: tuple[Attribute, ...] = ()
    runtime_column: str | None = "gross_runtime"
    scale_out_column: str | None = "instance_count"
    machine_type_column: str | None = "machine_type"

    def __post_init__(self) -> None:
        if not self.name or not self.name.strip():
            raise InputError("the job name must not be empty; pass --job NAME")
        names = [a.name for a in self.attributes]
        if len(set(names)) != len(names):
            raise InputError(f"job {self.name!r}: attribute names repeat: {names}")

    @property
    def attribute_names(self) -> tuple[str, ...]:
        """Names of the context attributes, in order."""
        return tuple(a.name for a in self.attributes)

    def attribute(self, name: str) -> Attribute:
        """Return the attribute called ``name``."""
        for a in self.attributes:
            if a.name == name:
                return a
        raise InputError(
            f"job {self.name!r} has no attribute {name!r}; "
            f"its attributes are: {', '.join(self.attribute_names) or '(none)'}"
        )


@dataclass(frozen=True)
class Provenance:
    """Where a batch of executions came from.

    Parameters
    ----------
    kind
        File import, live collection, or a collaborator's synthetic share.
    origin
        The imported file, the Spark application, or the share's origin.
    epsilon
        For shares: the differential-privacy epsilon of the release (None without DP).
    """

    kind: SourceKind
    origin: str
    epsilon: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", SourceKind(self.kind))
        if self.epsilon is not None:
            eps = check_epsilon(self.epsilon, what="a share's epsilon")
            object.__setattr__(self, "epsilon", eps)

    @classmethod
    def of_file(cls, path: str | Path) -> Provenance:
        """The provenance of an import of the file at ``path`` (named by its absolute path)."""
        return cls(SourceKind.FILE, str(Path(path).resolve()))


@dataclass(frozen=True)
class ExecutionTable:
    """Validated executions ready to be stored: one row per execution.

    ``frame`` has the columns ``gross_runtime`` (float > 0), ``scale_out`` (int > 0 or
    missing), ``machine_type`` (str or missing), optional ``external_id``,
    ``started_at``, ``finished_at`` and one column per attribute of ``job``.
    """

    job: JobSpec
    frame: pd.DataFrame
    provenance: Provenance

    def __post_init__(self) -> None:
        missing = [a for a in self.job.attribute_names if a not in self.frame.columns]
        if missing:
            raise InputError(f"execution table lacks attribute columns {missing}")
        if "gross_runtime" not in self.frame.columns:
            raise InputError("execution table lacks the gross_runtime column")


@dataclass(frozen=True)
class IterationTable:
    """Validated iteration-level history: executions with their iterations.

    ``executions`` is an :class:`ExecutionTable` whose ``external_id`` column names
    each execution; ``iterations`` has the canonical :data:`ITERATION_COLUMNS` with
    ``execution`` matching ``external_id``.
    """

    executions: ExecutionTable
    iterations: pd.DataFrame
    hardware: pd.DataFrame | None = None


@dataclass(frozen=True)
class ImportSummary:
    """What one import wrote."""

    job: str
    executions: int
    iterations: int = 0
    hardware_samples: int = 0
    created_job: bool = False
    #: executions the history held as still running (imported from a log Spark was
    #: writing) that this import completed: their iterations and runtime replaced
    completed: int = 0
    #: executions the history held already and this import left as they were
    unchanged: int = 0


@dataclass(frozen=True)
class JobSummary:
    """A job with its attributes and how many executions of each source it has."""

    name: str
    attributes: tuple[Attribute, ...]
    executions: Mapping[str, int] = field(default_factory=dict)
    iterations: int = 0

    @property
    def total_executions(self) -> int:
        """Executions of every source."""
        return int(sum(self.executions.values()))


@dataclass(frozen=True)
class Release:
    """One entry of a job's privacy-budget ledger."""

    job: str
    epsilon: float | None
    method: str
    rows: int
    no_dp: bool
    created_at: datetime
    destination: str | None = None
    released_by: str | None = None
    digest: str | None = None

    @property
    def refused(self) -> bool:
        """A mechanism refused on its noisy outputs: charged, nothing written (0 rows)."""
        return self.rows == 0 and self.destination is None
