"""The life cycle of live executions reported by collectors: start, iterations, finish."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from jobcast.errors import (
    InputError,
)
from jobcast.history.base import RepositoryBase
from jobcast.history.records import (
    ITERATION_COLUMNS,
    JobSpec,
    SourceKind,
)
from jobcast.history.schema import (
    ExecutionRow,
    IterationRow,
    JobRow,
)
from jobcast.history.values import clean, utc
from jobcast.history.writes import insert_hardware

logger = logging.getLogger(__name__)

__all__ = ["LiveRuns"]


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
    ) -> int:
        """Record that a live execution started; committed at once. Returns its id."""
        attributes = dict(attributes or {})
        unknown = sorted(set(attributes) - set(spec.attribute_names))
        if unknown:
            raise InputError(
                f"job {spec.name!r} has no attributes {unknown}; "
                f"known: {list(spec.attribute_names)}"
            )
        with self.transaction() as s:
            job_row, _ = self._ensure_job(s, spec)
            exists = s.scalar(
                select(ExecutionRow.id).where(
                    ExecutionRow.job_id == job_row.id, ExecutionRow.external_id == external_id
                )
            )
            if exists is not None:
                return int(exists)
            row = ExecutionRow(
                job_id=job_row.id,
                external_id=external_id,
                scale_out=scale_out,
                machine_type=machine_type,
                started_at=utc(started_at) or datetime.now(UTC),
                attributes={k: attributes.get(k) for k in spec.attribute_names},
                source=str(SourceKind.LIVE),
                origin=origin,
            )
            s.add(row)
            s.flush()
            return int(row.id)

    def job_of_execution(self, external_id: str) -> str:
        """Name of the job that has the execution ``external_id`` (for collector calls)."""
        with self.transaction() as s:
            names = s.scalars(
                select(JobRow.name)
                .join(ExecutionRow, ExecutionRow.job_id == JobRow.id)
                .where(ExecutionRow.external_id == external_id)
            ).all()
        if not names:
            raise InputError(
                f"no execution {external_id!r} is known; report its start first "
                "(POST /api/v1/collector/executions)"
            )
        if len(names) > 1:
            raise InputError(
                f"execution id {external_id!r} exists in several jobs ({', '.join(names)}); "
                "use ids unique across jobs"
            )
        return str(names[0])

    def running_executions(self, at: datetime) -> list[tuple[str, str]]:
        """(job, execution id) of live executions that were running at time ``at``."""
        at = utc(at) or datetime.now(UTC)
        with self.transaction() as s:
            rows = s.execute(
                select(JobRow.name, ExecutionRow)
                .join(ExecutionRow, ExecutionRow.job_id == JobRow.id)
                .where(ExecutionRow.source == str(SourceKind.LIVE))
            ).all()
        out = []
        for name, e in rows:
            start = utc(e.started_at)
            end = utc(e.finished_at)
            if start is not None and start <= at and (end is None or at <= end):
                out.append((str(name), str(e.external_id)))
        return out

    def _execution_row(self, s: Session, job: str, external_id: str) -> ExecutionRow:
        job_row = self._job_row(s, job)
        row = s.scalar(
            select(ExecutionRow).where(
                ExecutionRow.job_id == job_row.id, ExecutionRow.external_id == external_id
            )
        )
        if row is None:
            raise InputError(
                f"job {job!r} has no execution {external_id!r}; start it first "
                "(POST /api/v1/collector/executions)"
            )
        return row

    def record_iteration(
        self,
        job: str,
        external_id: str,
        index: int,
        *,
        values: Mapping[str, Any],
    ) -> None:
        """Insert or update one iteration of a live execution; committed at once.

        ``values`` may hold ``started_at``, ``finished_at``, ``duration_s``,
        ``scale_out``, ``records``, ``cpu``, ``disk``, ``net``.
        """
        allowed = set(ITERATION_COLUMNS) - {"execution", "iteration"}
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise InputError(f"unknown iteration fields {unknown}; allowed: {sorted(allowed)}")
        with self.transaction() as s:
            e = self._execution_row(s, job, external_id)
            it = s.scalar(
                select(IterationRow).where(
                    IterationRow.execution_id == e.id, IterationRow.index == index
                )
            )
            if it is None:
                it = IterationRow(execution_id=e.id, index=index)
                s.add(it)
            for key, value in values.items():
                if value is None:
                    continue
                setattr(it, key, utc(value) if key.endswith("_at") else clean(value))
            if it.duration_s is None and it.started_at and it.finished_at:
                it.duration_s = (utc(it.finished_at) - utc(it.started_at)).total_seconds()  # type: ignore[operator]

    def finish_execution(
        self,
        job: str,
        external_id: str,
        *,
        gross_runtime: float | None = None,
        finished_at: datetime | None = None,
    ) -> None:
        """Mark a live execution as finished; its runtime defaults to finish minus start."""
        with self.transaction() as s:
            e = self._execution_row(s, job, external_id)
            e.finished_at = utc(finished_at) or datetime.now(UTC)
            if gross_runtime is None and e.started_at is not None:
                gross_runtime = (e.finished_at - utc(e.started_at)).total_seconds()  # type: ignore[operator]
            if gross_runtime is None or not gross_runtime > 0:
                raise InputError(f"execution {external_id!r}: gross runtime must be > 0")
            e.gross_runtime = float(gross_runtime)

    def add_hardware_samples(self, job: str, external_id: str, samples: pd.DataFrame) -> int:
        """Append hardware samples of one live execution; committed at once."""
        with self.transaction() as s:
            e = self._execution_row(s, job, external_id)
            frame = samples.assign(execution=external_id)
            return insert_hardware(s, {external_id: e.id}, frame)
