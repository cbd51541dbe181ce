"""Opening the history database: URL resolution, engine set-up and automatic migrations."""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError

from jobcast.errors import DatabaseError
from jobcast.history.locks import begin_immediate, hold_write_lock

# the one URL resolution: the fast path of `jobcast jobs` reads it without SQLAlchemy
from jobcast.lean import ENV_VAR, default_url, resolve_url

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "ENV_VAR",
    "default_url",
    "resolve_url",
    "create_history_engine",
    "discard_if_empty",
    "new_sqlite_file",
    "migrate",
    "explain_write_error",
]

logger = logging.getLogger(__name__)

_MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (a `jobcast watch`, the service) work while an import writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_history_engine(url: str) -> Engine:
    """Create an engine for ``url``, creating the SQLite file's folder when needed.

    Raises
    ------
    DatabaseError
        When the URL is malformed or its driver is missing.
    """
    kwargs: dict[str, Any] = {"future": True}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(url, **kwargs)
    except (SQLAlchemyError, ImportError, ValueError) as e:
        raise DatabaseError(
            f"cannot use database URL {url!r}: {e}. Use sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST:PORT/DB"
        ) from e
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def new_sqlite_file(url: str) -> Path | None:
    """The file a SQLite ``url`` names when it does not exist yet (opening creates it)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1]
    if not path or path == ":memory:" or "?" in path or path.startswith("file:"):
        return None
    file = Path(path)
    return None if file.exists() else file


def discard_if_empty(file: Path) -> bool:
    """Remove a SQLite history (with its -wal, -shm) that holds no rows; whether it did.

    For a history that a command created and then failed in: left behind, the empty
    file would make later commands report an unknown job instead of a missing database.
    A file that holds any row (beyond the schema's version), that another connection
    has open, or that cannot be read, is kept.
    """
    try:
        with closing(sqlite3.connect(file, timeout=0, isolation_level=None)) as conn:
            # leaving WAL needs the only connection: another process using it keeps it
            conn.execute("PRAGMA journal_mode=DELETE").fetchone()
            conn.execute("BEGIN EXCLUSIVE")
            tables = [
                name
                for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
                if name != "alembic_version" and not name.startswith("sqlite_")
            ]
            for name in tables:
                quoted = name.replace('"', '""')
                if conn.execute(f'SELECT 1 FROM "{quoted}" LIMIT 1').fetchone():
                    return False
            conn.execute("ROLLBACK")
    except sqlite3.Error:
        return False
    for suffix in ("", "-wal", "-shm", "-journal"):
        file.with_name(file.name + suffix).unlink(missing_ok=True)
    return True


def _alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


_KNOWN_ERRORS = (
    (
        ("database is locked", "database table is locked"),
        "the history database is busy: another import or the service held its write lock "
        "for over 30 s. Nothing was stored; run the command again when that write is done",
    ),
    (
        ("could not serialize", "deadlock detected"),
        "another writer changed the same rows at the same time. Nothing was stored; run "
        "the command again",
    ),
    (
        ("jobs.name", "jobs_name_key"),
        "another import created this job at the same time. Nothing was stored; run the "
        "command again (it then imports into the job the other one created)",
    ),
    (
        ("out of range", "too large", "overflow"),
        "a number is too large for the database. Nothing was stored; check the values",
    ),
    (
        ("value too long",),
        "a name or text value is longer than the database allows. Nothing was stored; "
        "shorten it (names: at most 200 characters)",
    ),
    (
        ("nul", "0x00"),
        "a text value holds a NUL byte. Nothing was stored; remove it from the file",
    ),
    (
        ("unique constraint", "duplicate key"),
        "the rows clash with rows the history holds already (stored by another import "
        "at the same time?). Nothing was stored; check with `jobcast jobs` and run again",
    ),
)


def explain_write_error(error: BaseException) -> str:
    """A message for a database error during a write: what happened and what to do.

    Never includes SQL or parameters (they can be large and say nothing to the user);
    only the driver's error class is named for errors it does not know.
    """
    cause = getattr(error, "orig", None) or error
    text = str(cause).lower()
    for needles, message in _KNOWN_ERRORS:
        if any(n in text for n in needles):
            return message
    return (
        f"the database refused the write ({type(cause).__name__}). Nothing was stored; "
        "check the input values and that the database is reachable"
    )


#: Key of the PostgreSQL advisory lock that serialises migrations (any fixed number).
_PG_SCHEMA_LOCK = 0x6A736368  # "jsch" (the ledger's lock is "jobc")


def _lock_schema(conn: Connection) -> None:
    """Hold the database's schema lock until ``conn``'s transaction ends.

    Two processes opening a new database at once (a team's first imports, two service
    replicas) would otherwise both find no schema and both create it; the second waits
    here and then finds the schema current.
    """
    # no UPDATE on SQLite: a new database has no table yet
    hold_write_lock(conn, key=_PG_SCHEMA_LOCK, begin=begin_immediate)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it is current).

    Raises
    ------
    DatabaseError
        When the database cannot be reached or migrated, or is at a schema revision
        this jobcast does not know (written by a newer one).
    """
    # Alembic is imported here only: it costs more than the rest of opening the history
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    cfg = _alembic_config()
    # Several heads are allowed: features that add tables independently each branch
    # from the revision they need, and "heads" applies all of them.
    heads = set(ScriptDirectory.from_config(cfg).get_heads())
    current: set[str] = set()
    try:
        with engine.connect() as conn:  # the common case: current, no lock needed
            current = set(MigrationContext.configure(conn).get_current_heads())
        if current == heads:
            return
        with engine.begin() as conn:
            _lock_schema(conn)
            current = set(MigrationContext.configure(conn).get_current_heads())
            if current == heads:
                return
            logger.info("migrating %s from %s to %s", engine.url, sorted(current), sorted(heads))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")
    except SQLAlchemyError as e:
        cause = getattr(e, "orig", None) or e
        raise DatabaseError(
            f"cannot open the history database {engine.url.render_as_string()}: {cause}. "
            "Check the --db URL / $JOBCAST_DB and that the server is running."
        ) from e
    except CommandError as e:
        unknown = ", ".join(repr(r) for r in sorted(current - heads)) or "unknown"
        raise DatabaseError(
            f"the history database {engine.url.render_as_string()} is at schema revision "
            f"{unknown}, which this jobcast does not know ({e}): written by a newer jobcast? "
            "Upgrade jobcast, or use another --db (or $JOBCAST_DB)."
        ) from e
