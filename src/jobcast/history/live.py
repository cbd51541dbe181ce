"""Live executions reported by collectors: start, iterations, finish, each call committed."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from jobcast.errors import ConflictError, InputError
from jobcast.history.base import RepositoryBase
from jobcast.history.live_writer import (
    COMPLETED,
    FAILED,
    RUNNING,
    START_HINT,
    LiveExecution,
    LiveWriter,
)
from jobcast.history.records import JobSpec
from jobcast.history.schema import ExecutionRow, HardwareSampleRow, JobRow
from jobcast.history.values import clean, utc
from jobcast.history.writes import insert_hardware

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

__all__ = ["LiveRuns", "LiveWriter", "LiveExecution", "RUNNING", "COMPLETED", "FAILED"]


class LiveRuns(RepositoryBase):
    """Live executions: started, extended and finished by collectors, each call committed."""

    def start_execution(
        self,
        spec: JobSpec,
        external_id: str,
        *,
        scale_out: int | None = None,
        machine_type: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        started_at: datetime | None = None,
        origin: str = "live",
        create_job: bool = True,
    ) -> int:
        """Record that a live execution started; committed at once. Returns its id.

        Raises
        ------
        ConflictError
            When ``external_id`` names an imported run or was started with other values.
        UnknownJobError
            When the job is missing and ``create_job`` is False.
        """
        attributes = dict(attributes or {})
        unknown = sorted(set(attributes) - set(spec.attribute_names))
        if unknown:
            raise InputError(
                f"job {spec.name!r} has no attributes {unknown}; "
                f"known: {list(spec.attribute_names)}"
            )
        with self.transaction() as s:
            w = LiveWriter(s.connection())
            job_id, names = w.job(spec.name, create=spec if create_job else None)
            missing = sorted(set(attributes) - set(names))
            if missing:
                raise InputError(
                    f"job {spec.name!r} has no attributes {missing}; known: {list(names)}"
                )
            ex_id, _ = w.start(
                spec.name,
                external_id,
                job_id=job_id,
                started_at=started_at or datetime.now(UTC),
                scale_out=scale_out,
                machine_type=machine_type,
                attributes={k: clean(attributes.get(k)) for k in names},
                origin=origin,
            )
            return ex_id

    def running_executions(self, at: datetime) -> list[tuple[str, str]]:
        """(job, execution id) of live executions that were running at time ``at``."""
        at = utc(at) or datetime.now(UTC)
        with self.transaction() as s:
            rows = s.execute(
                select(JobRow.name, ExecutionRow.external_id)
                .join(ExecutionRow, ExecutionRow.job_id == JobRow.id)
                .where(
                    ExecutionRow.status.is_not(None),
                    ExecutionRow.started_at <= at,
                    ExecutionRow.finished_at.is_(None) | (ExecutionRow.finished_at >= at),
                )
            ).all()
        return [(str(n), str(e)) for n, e in rows]

    def record_iteration(
        self,
        job: str,
        external_id: str,
        index: int,
        *,
        values: Mapping[str, Any],
    ) -> None:
        """Record one iteration of a live execution (never rewriting it); committed at once.

        ``values`` may hold ``started_at``, ``finished_at``, ``duration_s``,
        ``scale_out``, ``records``, ``cpu``, ``disk``, ``net``.
        """
        with self.transaction() as s:
            w = LiveWriter(s.connection())
            self._job_row(s, job)
            w.iteration(external_id, index, values, job=job)

    def finish_execution(
        self,
        job: str,
        external_id: str,
        *,
        gross_runtime: float | None = None,
        finished_at: datetime | None = None,
        completed: bool = True,
    ) -> None:
        """Mark a live execution as finished; its runtime defaults to finish minus start."""
        with self.transaction() as s:
            self._job_row(s, job)
            LiveWriter(s.connection()).finish(
                external_id,
                job=job,
                finished_at=finished_at or datetime.now(UTC),
                completed=completed,
                gross_runtime=gross_runtime,
            )

    def add_hardware_samples(self, job: str, external_id: str, samples: pd.DataFrame) -> int:
        """Append hardware samples of one execution (live or imported); committed at once."""
        with self.transaction() as s:
            job_row = self._job_row(s, job)
            ex_id = s.scalar(
                select(ExecutionRow.id).where(
                    ExecutionRow.job_id == job_row.id, ExecutionRow.external_id == external_id
                )
            )
            if ex_id is None:
                raise InputError(f"job {job!r} has no execution {external_id!r}; {START_HINT}")
            frame = samples.assign(execution=external_id)
            stamps = [utc(t) for t in frame["timestamp"]]
            nodes = sorted({str(n) for n in frame["node"]})
            held = {
                (str(n), utc(t))
                for n, t in s.execute(
                    select(HardwareSampleRow.node, HardwareSampleRow.timestamp).where(
                        HardwareSampleRow.execution_id == int(ex_id),
                        HardwareSampleRow.node.in_(nodes),
                    )
                )
            }
            again = sum((str(n), t) in held for n, t in zip(frame["node"], stamps, strict=True))
            if again:
                raise ConflictError(
                    f"{again} of these {len(frame)} samples of node(s) {', '.join(nodes)} are "
                    f"stored already for execution {external_id!r} of job {job!r} (imported "
                    "before?); nothing was written"
                )
            return insert_hardware(s, {external_id: int(ex_id)}, frame)
