"""The repository's foundation: engine, transactions and the jobs table."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from jobcast.errors import (
    DatabaseError,
    JobConflictError,
    UnknownJobError,
)
from jobcast.history.checks import check_new_job_name
from jobcast.history.database import (
    create_history_engine,
    discard_if_empty,
    explain_write_error,
    migrate,
    new_sqlite_file,
    resolve_url,
)
from jobcast.history.locks import hold_write_lock
from jobcast.history.records import Attribute, AttributeKind, JobSpec, JobSummary
from jobcast.history.schema import AttributeRow, JobRow
from jobcast.lean import JOB_LISTING, assemble_jobs, migration_heads

logger = logging.getLogger(__name__)

__all__ = ["RepositoryBase"]


def _schema_current(engine: Engine) -> bool:
    """Whether the database is at every migration head (so Alembic need not even load).

    Importing Alembic costs more than the rest of ``jobcast jobs``; it is loaded only
    when there is something to migrate (or the database cannot be read here).
    """
    heads = migration_heads()
    if heads is None:
        return False
    try:
        with engine.connect() as conn:
            current = {
                row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))
            }
    except SQLAlchemyError:
        return False
    return current == set(heads)


class RepositoryBase:
    """Engine, transactions and job rows, shared by every part of the repository."""

    def __init__(self, url: str | None = None) -> None:
        self.url = resolve_url(url)
        #: the SQLite file this object created, if any: removed again by a failed `with`
        self._created = new_sqlite_file(self.url)
        self.engine: Engine = create_history_engine(self.url)
        try:
            if not _schema_current(self.engine):
                migrate(self.engine)
        except BaseException:
            self._discard_created()
            raise
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> RepositoryBase:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        """Close; a SQLite file this object created is removed when the block failed.

        A failed import stores nothing; the empty file it would leave behind made later
        commands say "unknown job" instead of "no history database". A file that existed
        before, or that holds any row, is never removed.
        """
        if exc_type is not None:
            self._discard_created()
        else:
            self.close()

    def _discard_created(self) -> None:
        self.engine.dispose()
        if self._created is not None and discard_if_empty(self._created):
            logger.debug("removed %s: created by a command that failed", self._created)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except SQLAlchemyError as e:
            session.rollback()
            raise DatabaseError(explain_write_error(e)) from e
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
            rows = assemble_jobs(*(s.execute(text(sql)).all() for sql in JOB_LISTING))
        return [
            JobSummary(
                name=name,
                attributes=tuple(Attribute(a, AttributeKind(k), n) for a, k, n in attributes),
                executions=counts,
                iterations=iterations,
            )
            for name, attributes, counts, iterations in rows
        ]

    def _ensure_job(self, s: Session, spec: JobSpec) -> tuple[JobRow, bool]:
        row = s.scalar(select(JobRow).where(JobRow.name == spec.name))
        if row is None:
            # two imports creating one job at once: the second waits for the first to
            # commit and then imports into the job it created (was: a unique-name error)
            hold_write_lock(s.connection(), key=_job_lock_key(spec.name), table="jobs")
            row = s.scalar(select(JobRow).where(JobRow.name == spec.name))
        if row is None:
            check_new_job_name(spec.name)
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

    def delete_job(self, name: str) -> None:
        """Remove a job with all its executions, iterations and ledger."""
        with self.transaction() as s:
            s.delete(self._job_row(s, name))


#: PostgreSQL advisory locks of job creation: this prefix, then the name's CRC-32.
_PG_JOB_LOCK = 0x6A6A6F62  # "jjob" (the ledger's lock is "jobc")


def _job_lock_key(name: str) -> int:
    """The advisory lock key of creating job ``name`` (other jobs' creations do not wait)."""
    return (_PG_JOB_LOCK << 32) | zlib.crc32(name.encode("utf-8"))
