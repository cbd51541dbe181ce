"""SQLAlchemy tables of the job history (the Alembic migrations create them)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Base",
    "UTCDateTime",
    "CreatedAt",
    "JobRow",
    "AttributeRow",
    "ImportRow",
    "ExecutionRow",
    "IterationRow",
    "HardwareSampleRow",
    "HARDWARE_RATES",
    "LedgerEntryRow",
    "LedgerFingerprintRow",
    "BudgetChangeRow",
    "ShareImportRow",
    "ProgressParametersRow",
    "OrganizationRow",
    "TokenRow",
    "HubShareRow",
]


def _now() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A time zone-aware timestamp read back in UTC on every database.

    PostgreSQL keeps the zone (``timestamptz``); SQLite stores the text without it and
    would give naive times back. Values are converted to UTC when written (a naive one is
    taken as UTC) and read as aware UTC times, so both databases answer alike. The column
    type is ``DateTime(timezone=True)`` underneath: no migration.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """A time as written: in UTC (a naive one taken as UTC)."""
        if not isinstance(value, datetime):  # None, or what the driver takes as it is
            return value
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """A time as read: aware, in UTC (SQLite's come back naive, meaning UTC)."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every jobcast table."""


class CreatedAt:
    """Mixin of the tables whose rows keep when they were created (``created_at``)."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)


class JobRow(CreatedAt, Base):
    """A recurring job."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    runtime_column: Mapped[str | None] = mapped_column(String(200))
    scale_out_column: Mapped[str | None] = mapped_column(String(200))
    machine_type_column: Mapped[str | None] = mapped_column(String(200))
    privacy_budget: Mapped[float | None] = mapped_column(Float)

    attributes: Mapped[list[AttributeRow]] = relationship(
        back_populates="job", order_by="AttributeRow.position", cascade="all, delete-orphan"
    )


class AttributeRow(Base):
    """A context attribute of a job and its kind."""

    __tablename__ = "job_attributes"
    __table_args__ = (UniqueConstraint("job_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    numeric: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer)

    job: Mapped[JobRow] = relationship(back_populates="attributes")


class ImportRow(CreatedAt, Base):
    """One import (file, live run, share): the unit of a transaction."""

    __tablename__ = "imports"
    # the same file imported twice is recognised by its hash (migration 0003)
    __table_args__ = (Index("ix_imports_content_hash", "job_id", "content_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(20))
    origin: Mapped[str] = mapped_column(Text)
    epsilon: Mapped[float | None] = mapped_column(Float)
    executions: Mapped[int] = mapped_column(Integer, default=0)
    content_hash: Mapped[str | None] = mapped_column(String(64))


class ExecutionRow(Base):
    """One run of a job."""

    __tablename__ = "executions"
    # collector reports name executions by external id alone (index of migration 0003)
    __table_args__ = (
        UniqueConstraint("job_id", "external_id"),
        Index("ix_executions_external_id", "external_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id", ondelete="CASCADE"))
    external_id: Mapped[str | None] = mapped_column(String(300))
    scale_out: Mapped[int | None] = mapped_column(Integer)
    machine_type: Mapped[str | None] = mapped_column(String(100))
    gross_runtime: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(20))
    origin: Mapped[str | None] = mapped_column(Text)
    share_epsilon: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str | None] = mapped_column(String(20))


class IterationRow(Base):
    """One iteration (Spark job or job group) of an execution."""

    __tablename__ = "iterations"
    __table_args__ = (UniqueConstraint("execution_id", "index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    execution_id: Mapped[int] = mapped_column(
        ForeignKey("executions.id", ondelete="CASCADE"), index=True
    )
    index: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_s: Mapped[float | None] = mapped_column(Float)
    scale_out: Mapped[int | None] = mapped_column(Integer)
    records: Mapped[float | None] = mapped_column(Float)
    cpu: Mapped[float | None] = mapped_column(Float)
    disk: Mapped[float | None] = mapped_column(Float)
    net: Mapped[float | None] = mapped_column(Float)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class HardwareSampleRow(Base):
    """A resource-usage sample of one node during an execution."""

    __tablename__ = "hardware_samples"
    __table_args__ = (Index("ix_hardware_samples_node_time", "execution_id", "node", "timestamp"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    execution_id: Mapped[int] = mapped_column(
        ForeignKey("executions.id", ondelete="CASCADE"), index=True
    )
    node: Mapped[str] = mapped_column(String(200))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())
    cpu_percent: Mapped[float | None] = mapped_column(Float)
    disk_read_bps: Mapped[float | None] = mapped_column(Float)
    disk_write_bps: Mapped[float | None] = mapped_column(Float)
    net_rx_bps: Mapped[float | None] = mapped_column(Float)
    net_tx_bps: Mapped[float | None] = mapped_column(Float)


#: The :class:`HardwareSampleRow` attribute holding each rate column of the hardware
#: frames (:data:`~jobcast.history.records.HARDWARE_COLUMNS`).
HARDWARE_RATES: Mapping[str, str] = MappingProxyType(
    {
        "cpu": "cpu_percent",
        "disk_read": "disk_read_bps",
        "disk_write": "disk_write_bps",
        "net_rx": "net_rx_bps",
        "net_tx": "net_tx_bps",
    }
)


class LedgerEntryRow(CreatedAt, Base):
    """A privacy release: the budget ledger, kept by job name and data (no job foreign key).

    The ledger outlives its job (``delete_job`` leaves it), and the fingerprints of the
    executions a release used tie it to the data whatever job later holds them.
    """

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_name: Mapped[str] = mapped_column(String(200), index=True)
    epsilon: Mapped[float | None] = mapped_column(Float)
    no_dp: Mapped[bool] = mapped_column(Boolean, default=False)
    method: Mapped[str] = mapped_column(String(100))
    rows: Mapped[int] = mapped_column(Integer)
    destination: Mapped[str | None] = mapped_column(Text)
    released_by: Mapped[str | None] = mapped_column(String(200))
    digest: Mapped[str | None] = mapped_column(String(64))


class LedgerFingerprintRow(Base):
    """The fingerprint of one execution a release used (see :mod:`jobcast.history.ledger`)."""

    __tablename__ = "ledger_fingerprints"

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_entries.id", ondelete="CASCADE"), primary_key=True
    )
    fingerprint: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)


class BudgetChangeRow(Base):
    """A change of a job's privacy budget: who, when, from, to."""

    __tablename__ = "budget_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_name: Mapped[str] = mapped_column(String(200), index=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    changed_by: Mapped[str | None] = mapped_column(String(200))
    from_epsilon: Mapped[float] = mapped_column(Float)
    to_epsilon: Mapped[float] = mapped_column(Float)


class ShareImportRow(Base):
    """A share package being imported, by its digest: two imports of it cannot race."""

    __tablename__ = "share_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    job_name: Mapped[str] = mapped_column(String(200))
    origin: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)


class ProgressParametersRow(Base):
    """Trained progress-estimation parameters of a job."""

    __tablename__ = "progress_parameters"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)


class OrganizationRow(CreatedAt, Base):
    """An organization of a service: owns tokens and the shares it publishes to the hub."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class TokenRow(CreatedAt, Base):
    """A bearer token of the service, stored as the SHA-256 of its secret."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(20))
    org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    create_jobs: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class HubShareRow(Base):
    """A share package published to the hub by an organization (synthetic rows only)."""

    __tablename__ = "hub_shares"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    job: Mapped[str] = mapped_column(String(200), index=True)
    epsilon: Mapped[float] = mapped_column(Float)
    rows: Mapped[int] = mapped_column(Integer)
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON)
    rows_csv: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
