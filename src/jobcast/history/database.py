"""Opening the history database: URL resolution, engine set-up and automatic migrations."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError

from jobcast.errors import DatabaseError

__all__ = ["ENV_VAR", "default_url", "resolve_url", "create_history_engine", "migrate"]

logger = logging.getLogger(__name__)

#: Environment variable naming the history database URL.
ENV_VAR = "JOBCAST_DB"

_MIGRATIONS = Path(__file__).with_name("migrations")


def default_url() -> str:
    """Return the URL of the default SQLite file in the user's data directory."""
    from platformdirs import user_data_dir

    directory = Path(user_data_dir("jobcast", appauthor=False))
    return f"sqlite:///{directory / 'history.db'}"


def resolve_url(url: str | None = None) -> str:
    """Choose the database URL: the argument, then ``$JOBCAST_DB``, then the default.

    A plain file path is accepted and taken as a SQLite file.
    """
    chosen = url or os.environ.get(ENV_VAR) or default_url()
    if "://" not in chosen:
        chosen = f"sqlite:///{Path(chosen).expanduser().resolve()}"
    return chosen


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


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it is current).

    Raises
    ------
    DatabaseError
        When the database cannot be reached or migrated.
    """
    cfg = _alembic_config()
    # Several heads are allowed: features that add tables independently each branch
    # from the revision they need, and "heads" applies all of them.
    heads = set(ScriptDirectory.from_config(cfg).get_heads())
    try:
        with engine.begin() as conn:
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
