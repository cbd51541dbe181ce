"""The SQL of the live writer, built once per dialect: reports are many and small."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from jobcast.history.schema import (
    AttributeRow,
    ExecutionRow,
    HardwareSampleRow,
    IterationRow,
    JobRow,
)

__all__ = ["ITERATION_FIELDS", "LiveStatements", "live_statements"]

_E: Table = ExecutionRow.__table__  # type: ignore[assignment]
_J: Table = JobRow.__table__  # type: ignore[assignment]
_A: Table = AttributeRow.__table__  # type: ignore[assignment]
_I: Table = IterationRow.__table__  # type: ignore[assignment]
_H: Table = HardwareSampleRow.__table__  # type: ignore[assignment]


def _upsert(conn: Connection, table: Table) -> Any:
    """An INSERT that can skip rows clashing with a unique key (get-or-create under races)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


ITERATION_FIELDS = (
    "started_at",
    "finished_at",
    "duration_s",
    "scale_out",
    "records",
    "cpu",
    "disk",
    "net",
)


class LiveStatements:
    """Statements built once per dialect: reports are many and small, building is the cost."""

    def __init__(self, conn: Connection) -> None:
        b = bindparam
        self.job_id = select(_J.c.id).where(_J.c.name == b("name"))
        self.job_insert = (
            _upsert(conn, _J)
            .values(name=b("name"), created_at=b("created_at"))
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(_J.c.id)
        )
        self.attribute_insert = _A.insert()
        self.hardware_insert = _H.insert()
        self.attributes = (
            select(_A.c.name, _A.c.numeric)
            .where(_A.c.job_id == b("job_id"))
            .order_by(_A.c.position)
        )
        self.named = (
            select(
                _E.c.id,
                _J.c.name,
                _E.c.job_id,
                _E.c.started_at,
                _E.c.finished_at,
                _E.c.status,
                _E.c.scale_out,
                _E.c.attributes,
                _E.c.origin,
            )
            .join(_J, _J.c.id == _E.c.job_id)
            .where(_E.c.external_id == b("ext"))
        )
        #: ``named`` for a list of external ids (``exts``); each row ends with its id
        self.named_in = (
            select(*self.named.selected_columns, _E.c.external_id)
            .select_from(_E.join(_J, _J.c.id == _E.c.job_id))
            .where(_E.c.external_id.in_(b("exts", expanding=True)))
        )
        self.execution_insert = (
            _upsert(conn, _E)
            .values(
                {
                    c: b(c)
                    for c in (
                        "job_id",
                        "external_id",
                        "scale_out",
                        "machine_type",
                        "started_at",
                        "attributes",
                        "source",
                        "origin",
                        "status",
                    )
                }
            )
            .on_conflict_do_nothing(index_elements=["job_id", "external_id"])
            .returning(_E.c.id)
        )
        self.last_iteration_end = select(func.max(_I.c.finished_at)).where(
            _I.c.execution_id == b("eid")
        )
        self.finish = (
            update(_E)
            .where(_E.c.id == b("eid"), _E.c.finished_at.is_(None))
            .values(finished_at=b("fin"), gross_runtime=b("runtime"), status=b("st"))
            .returning(_E.c.id)
        )
        self.iteration = select(*(_I.c[k] for k in ITERATION_FIELDS)).where(
            _I.c.execution_id == b("eid"), _I.c.index == b("idx")
        )
        self.iteration_insert = (
            _upsert(conn, _I)
            .values(execution_id=b("eid"), index=b("idx"), **{k: b(k) for k in ITERATION_FIELDS})
            .on_conflict_do_nothing(index_elements=["execution_id", "index"])
            .returning(_I.c.id)
        )
        self.iteration_update = (
            update(_I)
            .where(
                _I.c.execution_id == b("eid"),
                _I.c.index == b("idx"),
                # only where no stored value differs: another process (a second service
                # on the database) may have stored the field since the caller's cache
                # was filled, and a row not matched is a conflict, never a silent no-op
                *(
                    or_(c.is_(None), c == func.coalesce(b(c.key, type_=c.type), c))
                    for c in (_I.c[k] for k in ITERATION_FIELDS)
                ),
            )
            # fill what is missing, never overwrite
            .values({k: func.coalesce(_I.c[k], b(k)) for k in ITERATION_FIELDS})
        )
        self.running_between = select(_E.c.id, _E.c.started_at, _E.c.finished_at).where(
            _E.c.status.is_not(None),
            _E.c.started_at <= b("last"),
            (_E.c.finished_at.is_(None)) | (_E.c.finished_at >= b("first")),
        )


_BUILT: dict[str, LiveStatements] = {}


def live_statements(conn: Connection) -> LiveStatements:
    """The statements for ``conn``'s dialect, built on first use."""
    name = conn.dialect.name
    if name not in _BUILT:
        _BUILT[name] = LiveStatements(conn)
    return _BUILT[name]
