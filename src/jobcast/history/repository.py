"""The job history repository: every read and write of jobs, executions and iterations."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from jobcast.errors import (
    BudgetExceededError,
    DatabaseError,
    InputError,
    JobConflictError,
    UnknownJobError,
)
from jobcast.history.database import create_history_engine, migrate, resolve_url
from jobcast.history.records import (
    EXECUTION_COLUMNS,
    ITERATION_COLUMNS,
    Attribute,
    AttributeKind,
    ExecutionTable,
    ImportSummary,
    IterationTable,
    JobSpec,
    JobSummary,
    Release,
    SourceKind,
)
from jobcast.history.schema import (
    AttributeRow,
    ExecutionRow,
    HardwareSampleRow,
    ImportRow,
    IterationRow,
    JobRow,
    ProgressParametersRow,
    ReleaseRow,
)

__all__ = ["HistoryRepository", "DEFAULT_PRIVACY_BUDGET"]

logger = logging.getLogger(__name__)

#: Total epsilon a job may release over its lifetime unless configured otherwise.
#: Chosen so that a few releases at epsilon = 1 fit, the range differential-privacy
#: deployments treat as strong protection.
DEFAULT_PRIVACY_BUDGET = 5.0


def _clean(value: Any) -> Any:
    """Turn numpy/pandas scalars into JSON-safe Python values (NaN becomes None)."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _dt(value: Any) -> datetime | None:
    value = _clean(value)
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        return None
    out: datetime = ts.to_pydatetime()
    return out if out.tzinfo else out.replace(tzinfo=UTC)


class HistoryRepository:
    """Job history stored in SQLite (default) or PostgreSQL.

    Parameters
    ----------
    url
        SQLAlchemy URL or SQLite file path; defaults to ``$JOBCAST_DB`` and then a file in
        the user's data directory. The schema is migrated to the newest revision on open.

    Examples
    --------
    >>> repo = HistoryRepository("sqlite:///:memory:")  # doctest: +SKIP
    >>> repo.list_jobs()  # doctest: +SKIP
    []
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = resolve_url(url)
        self.engine: Engine = create_history_engine(self.url)
        migrate(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> HistoryRepository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except IntegrityError as e:
            session.rollback()
            raise DatabaseError(
                f"the history refused the write, nothing was stored: {e.orig}"
            ) from e
        except SQLAlchemyError as e:
            session.rollback()
            raise DatabaseError(f"database error, nothing was stored: {e}") from e
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    # ------------------------------------------------------------------ jobs
    def _job_row(self, session: Session, name: str) -> JobRow:
        row = session.scalar(select(JobRow).where(JobRow.name == name))
        if row is None:
            known = session.scalars(select(JobRow.name).order_by(JobRow.name)).all()
            hint = f"known jobs: {', '.join(known)}" if known else "the history has no jobs yet"
            raise UnknownJobError(
                f"unknown job {name!r} ({hint}); import executions with `jobcast import`"
            )
        return row

    @staticmethod
    def _spec(row: JobRow) -> JobSpec:
        return JobSpec(
            name=row.name,
            attributes=tuple(
                Attribute(a.name, AttributeKind(a.kind), a.numeric) for a in row.attributes
            ),
            runtime_column=row.runtime_column,
            scale_out_column=row.scale_out_column,
            machine_type_column=row.machine_type_column,
        )

    def job(self, name: str) -> JobSpec:
        """Return the job called ``name``.

        Raises
        ------
        UnknownJobError
            When there is no such job; the message lists the known ones.
        """
        with self.transaction() as s:
            return self._spec(self._job_row(s, name))

    def list_jobs(self) -> list[JobSummary]:
        """Every job with its attributes and execution counts by source."""
        with self.transaction() as s:
            counts: dict[int, dict[str, int]] = {}
            for job_id, source, n in s.execute(
                select(ExecutionRow.job_id, ExecutionRow.source, func.count()).group_by(
                    ExecutionRow.job_id, ExecutionRow.source
                )
            ):
                counts.setdefault(job_id, {})[source] = int(n)
            iters = dict(
                s.execute(
                    select(ExecutionRow.job_id, func.count(IterationRow.id))
                    .join(IterationRow, IterationRow.execution_id == ExecutionRow.id)
                    .group_by(ExecutionRow.job_id)
                ).all()
            )
            return [
                JobSummary(
                    name=row.name,
                    attributes=self._spec(row).attributes,
                    executions=counts.get(row.id, {}),
                    iterations=int(iters.get(row.id, 0)),
                )
                for row in s.scalars(select(JobRow).order_by(JobRow.name))
            ]

    def _ensure_job(self, s: Session, spec: JobSpec) -> tuple[JobRow, bool]:
        row = s.scalar(select(JobRow).where(JobRow.name == spec.name))
        if row is None:
            row = JobRow(
                name=spec.name,
                runtime_column=spec.runtime_column,
                scale_out_column=spec.scale_out_column,
                machine_type_column=spec.machine_type_column,
            )
            row.attributes = [
                AttributeRow(name=a.name, kind=str(a.kind), numeric=a.numeric, position=i)
                for i, a in enumerate(spec.attributes)
            ]
            s.add(row)
            s.flush()
            return row, True
        existing = self._spec(row)
        if set(existing.attribute_names) != set(spec.attribute_names):
            only_old = sorted(set(existing.attribute_names) - set(spec.attribute_names))
            only_new = sorted(set(spec.attribute_names) - set(existing.attribute_names))
            raise JobConflictError(
                f"job {spec.name!r} already exists with other context attributes "
                f"(only in the history: {only_old or 'none'}; only in this import: "
                f"{only_new or 'none'}). Import under another --job name, or drop/rename "
                "the columns so they match."
            )
        return row, False

    def set_privacy_budget(self, name: str, epsilon: float) -> None:
        """Set the total epsilon job ``name`` may release over its lifetime."""
        if not (isinstance(epsilon, int | float) and math.isfinite(epsilon) and epsilon > 0):
            raise InputError(f"a privacy budget must be a finite number > 0, got {epsilon!r}")
        with self.transaction() as s:
            self._job_row(s, name).privacy_budget = float(epsilon)

    # ------------------------------------------------------------ executions
    def import_executions(self, table: ExecutionTable) -> ImportSummary:
        """Store a validated execution table in one transaction (all or nothing)."""
        with self.transaction() as s:
            job_row, created = self._ensure_job(s, table.job)
            n = self._insert_executions(s, job_row, table)
            return ImportSummary(job=job_row.name, executions=n, created_job=created)

    def _insert_executions(self, s: Session, job_row: JobRow, table: ExecutionTable) -> int:
        prov = table.provenance
        imp = ImportRow(
            job_id=job_row.id,
            source=str(prov.kind),
            origin=prov.origin,
            epsilon=prov.epsilon,
            executions=len(table.frame),
        )
        s.add(imp)
        s.flush()
        names = table.job.attribute_names
        frame = table.frame
        rows = []
        for rec in frame.to_dict(orient="records"):
            rows.append(
                {
                    "job_id": job_row.id,
                    "import_id": imp.id,
                    "external_id": (
                        None if _clean(rec.get("external_id")) is None else str(rec["external_id"])
                    ),
                    "scale_out": _clean(rec.get("scale_out")),
                    "machine_type": _clean(rec.get("machine_type")),
                    "gross_runtime": _clean(rec.get("gross_runtime")),
                    "started_at": _dt(rec.get("started_at")),
                    "finished_at": _dt(rec.get("finished_at")),
                    "attributes": {k: _clean(rec[k]) for k in names},
                    "source": str(prov.kind),
                    "origin": prov.origin,
                    "share_epsilon": prov.epsilon,
                }
            )
        if rows:
            s.execute(insert(ExecutionRow), rows)
        return len(rows)

    def executions(
        self, name: str, *, include_shared: bool = True, only_completed: bool = True
    ) -> pd.DataFrame:
        """Return the executions of job ``name`` as a DataFrame.

        Columns: :data:`~jobcast.history.records.EXECUTION_COLUMNS` followed by the job's
        context attributes in order.

        Parameters
        ----------
        name
            The job.
        include_shared
            Also return executions imported from collaborators' shares.
        only_completed
            Leave out executions without a gross runtime (still running).
        """
        with self.transaction() as s:
            job_row = self._job_row(s, name)
            spec = self._spec(job_row)
            query = select(ExecutionRow).where(ExecutionRow.job_id == job_row.id)
            if not include_shared:
                query = query.where(ExecutionRow.source != str(SourceKind.SHARE))
            if only_completed:
                query = query.where(ExecutionRow.gross_runtime.is_not(None))
            records = []
            for e in s.scalars(query.order_by(ExecutionRow.id)):
                rec: dict[str, Any] = {
                    "execution_id": e.id,
                    "external_id": e.external_id,
                    "scale_out": e.scale_out,
                    "machine_type": e.machine_type,
                    "gross_runtime": e.gross_runtime,
                    "started_at": e.started_at,
                    "finished_at": e.finished_at,
                    "source": e.source,
                }
                rec.update({k: e.attributes.get(k) for k in spec.attribute_names})
                records.append(rec)
        frame = pd.DataFrame.from_records(
            records, columns=list(EXECUTION_COLUMNS) + list(spec.attribute_names)
        )
        if frame["scale_out"].notna().all():
            frame["scale_out"] = frame["scale_out"].astype("int64")
        for a in spec.attributes:
            if a.numeric:
                frame[a.name] = pd.to_numeric(frame[a.name])
        return frame

    # ------------------------------------------------------------ iterations
    def import_iterations(self, table: IterationTable) -> ImportSummary:
        """Store executions with their iterations (and hardware samples) in one transaction."""
        with self.transaction() as s:
            job_row, created = self._ensure_job(s, table.executions.job)
            ids = self._insert_with_ids(s, job_row, table.executions)
            n_it = self._insert_iterations(s, ids, table.iterations)
            n_hw = 0
            if table.hardware is not None and len(table.hardware):
                n_hw = self._insert_hardware(s, ids, table.hardware)
            return ImportSummary(
                job=job_row.name,
                executions=len(ids),
                iterations=n_it,
                hardware_samples=n_hw,
                created_job=created,
            )

    def _insert_with_ids(
        self, s: Session, job_row: JobRow, table: ExecutionTable
    ) -> dict[str, int]:
        external = [str(x) for x in table.frame["external_id"]]
        clash = s.scalars(
            select(ExecutionRow.external_id).where(
                ExecutionRow.job_id == job_row.id, ExecutionRow.external_id.in_(external)
            )
        ).all()
        if clash:
            raise InputError(
                f"job {job_row.name!r} already has executions "
                f"{sorted(str(c) for c in clash)[:5]}; "
                "they were imported before. Nothing was written."
            )
        self._insert_executions(s, job_row, table)
        found = s.execute(
            select(ExecutionRow.external_id, ExecutionRow.id).where(
                ExecutionRow.job_id == job_row.id, ExecutionRow.external_id.in_(external)
            )
        ).all()
        return {str(ext): int(eid) for ext, eid in found}

    @staticmethod
    def _insert_iterations(s: Session, ids: Mapping[str, int], it: pd.DataFrame) -> int:
        rows = []
        for rec in it.to_dict(orient="records"):
            rows.append(
                {
                    "execution_id": ids[str(rec["execution"])],
                    "index": int(rec["iteration"]),
                    "started_at": _dt(rec.get("started_at")),
                    "finished_at": _dt(rec.get("finished_at")),
                    "duration_s": _clean(rec.get("duration_s")),
                    "scale_out": _clean(rec.get("scale_out")),
                    "records": _clean(rec.get("records")),
                    "cpu": _clean(rec.get("cpu")),
                    "disk": _clean(rec.get("disk")),
                    "net": _clean(rec.get("net")),
                }
            )
        if rows:
            s.execute(insert(IterationRow), rows)
        return len(rows)

    @staticmethod
    def _insert_hardware(s: Session, ids: Mapping[str, int], hw: pd.DataFrame) -> int:
        rows = [
            {
                "execution_id": ids[str(rec["execution"])],
                "node": str(rec["node"]),
                "timestamp": _dt(rec["timestamp"]),
                "cpu_percent": _clean(rec.get("cpu")),
                "disk_read_bps": _clean(rec.get("disk_read")),
                "disk_write_bps": _clean(rec.get("disk_write")),
                "net_rx_bps": _clean(rec.get("net_rx")),
                "net_tx_bps": _clean(rec.get("net_tx")),
            }
            for rec in hw.to_dict(orient="records")
        ]
        if rows:
            s.execute(insert(HardwareSampleRow), rows)
        return len(rows)

    def iterations(self, name: str, *, include_running: bool = False) -> pd.DataFrame:
        """Iteration history of job ``name``: canonical iteration columns plus context.

        The ``execution`` column holds each execution's external id (or its numeric id
        when it has none). Context attributes of the execution are joined as columns.
        """
        with self.transaction() as s:
            job_row = self._job_row(s, name)
            spec = self._spec(job_row)
            query = (
                select(ExecutionRow, IterationRow)
                .join(IterationRow, IterationRow.execution_id == ExecutionRow.id)
                .where(ExecutionRow.job_id == job_row.id)
                .order_by(ExecutionRow.id, IterationRow.index)
            )
            if not include_running:
                query = query.where(ExecutionRow.gross_runtime.is_not(None))
            records = []
            for e, i in s.execute(query):
                rec: dict[str, Any] = {
                    "execution": e.external_id or str(e.id),
                    "iteration": i.index,
                    "duration_s": i.duration_s,
                    "scale_out": i.scale_out,
                    "started_at": i.started_at,
                    "finished_at": i.finished_at,
                    "records": i.records,
                    "cpu": i.cpu,
                    "disk": i.disk,
                    "net": i.net,
                }
                rec.update({k: e.attributes.get(k) for k in spec.attribute_names})
                records.append(rec)
        cols = [*ITERATION_COLUMNS, *spec.attribute_names]
        frame = pd.DataFrame.from_records(records, columns=cols)
        numeric = ["duration_s", "records", "cpu", "disk", "net"]
        numeric += [a.name for a in spec.attributes if a.numeric]
        for c in numeric:
            frame[c] = pd.to_numeric(frame[c]).astype("float64")
        if len(frame) and frame["scale_out"].notna().all():
            frame["scale_out"] = frame["scale_out"].astype("int64")
        return frame

    def hardware(self, name: str) -> pd.DataFrame:
        """Hardware samples of job ``name``'s executions (``execution, node, timestamp, ...``)."""
        with self.transaction() as s:
            job_row = self._job_row(s, name)
            query = (
                select(ExecutionRow.external_id, ExecutionRow.id, HardwareSampleRow)
                .join(HardwareSampleRow, HardwareSampleRow.execution_id == ExecutionRow.id)
                .where(ExecutionRow.job_id == job_row.id)
                .order_by(HardwareSampleRow.id)
            )
            records = [
                {
                    "execution": ext or str(eid),
                    "node": h.node,
                    "timestamp": h.timestamp,
                    "cpu": h.cpu_percent,
                    "disk_read": h.disk_read_bps,
                    "disk_write": h.disk_write_bps,
                    "net_rx": h.net_rx_bps,
                    "net_tx": h.net_tx_bps,
                }
                for ext, eid, h in s.execute(query).all()
            ]
        cols = [
            "execution",
            "node",
            "timestamp",
            "cpu",
            "disk_read",
            "disk_write",
            "net_rx",
            "net_tx",
        ]
        return pd.DataFrame.from_records(records, columns=cols)

    # ------------------------------------------------------- live collection
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
                started_at=_dt(started_at) or datetime.now(UTC),
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
        at = _dt(at) or datetime.now(UTC)
        with self.transaction() as s:
            rows = s.execute(
                select(JobRow.name, ExecutionRow)
                .join(ExecutionRow, ExecutionRow.job_id == JobRow.id)
                .where(ExecutionRow.source == str(SourceKind.LIVE))
            ).all()
        out = []
        for name, e in rows:
            start = _dt(e.started_at)
            end = _dt(e.finished_at)
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
                setattr(it, key, _dt(value) if key.endswith("_at") else _clean(value))
            if it.duration_s is None and it.started_at and it.finished_at:
                it.duration_s = (_dt(it.finished_at) - _dt(it.started_at)).total_seconds()  # type: ignore[operator]

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
            e.finished_at = _dt(finished_at) or datetime.now(UTC)
            if gross_runtime is None and e.started_at is not None:
                gross_runtime = (e.finished_at - _dt(e.started_at)).total_seconds()  # type: ignore[operator]
            if gross_runtime is None or not gross_runtime > 0:
                raise InputError(f"execution {external_id!r}: gross runtime must be > 0")
            e.gross_runtime = float(gross_runtime)

    def add_hardware_samples(self, job: str, external_id: str, samples: pd.DataFrame) -> int:
        """Append hardware samples of one live execution; committed at once."""
        with self.transaction() as s:
            e = self._execution_row(s, job, external_id)
            frame = samples.assign(execution=external_id)
            return self._insert_hardware(s, {external_id: e.id}, frame)

    # -------------------------------------------------------- privacy ledger
    def privacy_budget(self, name: str) -> float:
        """The total epsilon job ``name`` may release."""
        with self.transaction() as s:
            row = self._job_row(s, name)
            return row.privacy_budget if row.privacy_budget is not None else DEFAULT_PRIVACY_BUDGET

    def releases(self, name: str) -> list[Release]:
        """The job's privacy ledger, oldest first."""
        with self.transaction() as s:
            row = self._job_row(s, name)
            return [
                Release(
                    job=name,
                    epsilon=r.epsilon,
                    method=r.method,
                    rows=r.rows,
                    no_dp=r.no_dp,
                    created_at=r.created_at,
                    destination=r.destination,
                )
                for r in s.scalars(
                    select(ReleaseRow).where(ReleaseRow.job_id == row.id).order_by(ReleaseRow.id)
                )
            ]

    def spent_epsilon(self, name: str) -> float:
        """Epsilon spent by the job's differentially private releases so far."""
        return float(sum(r.epsilon or 0.0 for r in self.releases(name) if not r.no_dp))

    def check_budget(self, name: str, epsilon: float) -> None:
        """Raise :class:`BudgetExceededError` if releasing ``epsilon`` would exceed the budget."""
        budget = self.privacy_budget(name)
        spent = self.spent_epsilon(name)
        if spent + epsilon > budget + 1e-12:
            raise BudgetExceededError(
                f"job {name!r}: releasing epsilon={epsilon:g} would spend {spent + epsilon:g} "
                f"of its budget {budget:g} (already spent {spent:g} in "
                f"{len(self.releases(name))} release(s)). Re-releasing is never free: share an "
                "existing package again, or raise the budget with "
                "`jobcast budget --job NAME --epsilon TOTAL` if your policy allows."
            )

    def record_release(
        self,
        name: str,
        *,
        epsilon: float | None,
        method: str,
        rows: int,
        no_dp: bool = False,
        destination: str | None = None,
    ) -> None:
        """Add a release to the ledger, refusing it if it would exceed the budget.

        The check and the insert run in one transaction.
        """
        if not no_dp and (epsilon is None or not epsilon > 0):
            raise InputError(f"a differentially private release needs epsilon > 0, got {epsilon}")
        with self.transaction() as s:
            row = self._job_row(s, name)
            if not no_dp and epsilon is not None:
                budget = (
                    row.privacy_budget if row.privacy_budget is not None else DEFAULT_PRIVACY_BUDGET
                )
                spent = (
                    s.scalar(
                        select(func.coalesce(func.sum(ReleaseRow.epsilon), 0.0)).where(
                            ReleaseRow.job_id == row.id, ReleaseRow.no_dp.is_(False)
                        )
                    )
                    or 0.0
                )
                if spent + epsilon > budget + 1e-12:
                    raise BudgetExceededError(
                        f"job {name!r}: releasing epsilon={epsilon:g} would spend "
                        f"{spent + epsilon:g} of its budget {budget:g} (already spent {spent:g}). "
                        "Re-releasing is never free; raise the budget with "
                        "`jobcast budget --job NAME --epsilon TOTAL` if your policy allows."
                    )
            s.add(
                ReleaseRow(
                    job_id=row.id,
                    epsilon=None if no_dp else epsilon,
                    no_dp=no_dp,
                    method=method,
                    rows=int(rows),
                    destination=destination,
                )
            )

    # ---------------------------------------------------- progress parameters
    def save_progress_parameters(self, name: str, parameters: Mapping[str, Any]) -> None:
        """Store (replace) the trained progress-estimation parameters of job ``name``."""
        with self.transaction() as s:
            row = self._job_row(s, name)
            s.execute(delete(ProgressParametersRow).where(ProgressParametersRow.job_id == row.id))
            s.add(ProgressParametersRow(job_id=row.id, parameters=dict(parameters)))

    def progress_parameters(self, name: str) -> dict[str, Any] | None:
        """The stored progress-estimation parameters of job ``name``, or None."""
        with self.transaction() as s:
            row = self._job_row(s, name)
            p = s.get(ProgressParametersRow, row.id)
            return dict(p.parameters) if p is not None else None

    def delete_job(self, name: str) -> None:
        """Remove a job with all its executions, iterations and ledger."""
        with self.transaction() as s:
            s.delete(self._job_row(s, name))


def summarize(jobs: Sequence[JobSummary]) -> list[dict[str, Any]]:
    """JSON-friendly rendering of job summaries (used by ``jobcast jobs --json``)."""
    return [
        {
            "name": j.name,
            "executions": j.total_executions,
            "by_source": dict(j.executions),
            "iterations": j.iterations,
            "attributes": [{"name": a.name, "kind": str(a.kind)} for a in j.attributes],
        }
        for j in jobs
    ]
