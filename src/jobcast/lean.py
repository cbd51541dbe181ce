"""Lean reads of the history with the DB-API driver (sqlite3, psycopg): no SQLAlchemy, no ORM.

The fast path of pure-read commands (``jobcast jobs``). It lives outside
:mod:`jobcast.history` because importing that package loads SQLAlchemy's ORM, which
costs more than the whole command may. It only reads a database that is at every
migration head; for anything else (a URL form it does not know, a file that does not
exist, a schema to migrate, a foreign database, any driver error) it answers None and the
caller opens the full repository, which creates, migrates or explains the problem.
The SQL of the job listing is defined here once; the repository runs the same statements.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "ENV_VAR",
    "JOB_LISTING",
    "JobRows",
    "assemble_jobs",
    "default_url",
    "migration_heads",
    "read_jobs",
    "resolve_url",
]

logger = logging.getLogger(__name__)

#: Environment variable naming the history database URL.
ENV_VAR = "JOBCAST_DB"

_VERSIONS = Path(__file__).with_name("history") / "migrations" / "versions"
_REVISION = re.compile(r"^revision\b[^=]*=\s*[\"']([^\"']+)[\"']", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\b[^=]*=(.*)$", re.MULTILINE)

#: The statements of the job listing, in the order :func:`assemble_jobs` takes their rows:
#: jobs by name; attributes in declared order; executions by job and source; iterations
#: by job.
JOB_LISTING: tuple[str, str, str, str] = (
    "SELECT id, name FROM jobs ORDER BY name",
    "SELECT job_id, name, kind, numeric FROM job_attributes ORDER BY job_id, position",
    "SELECT job_id, source, count(*) FROM executions GROUP BY job_id, source "
    "ORDER BY job_id, source",
    "SELECT executions.job_id, count(iterations.id) FROM executions "
    "JOIN iterations ON iterations.execution_id = executions.id GROUP BY executions.job_id",
)

#: One job of the listing: name, attributes ``(name, kind, numeric)`` in declared order,
#: executions by source, iteration count.
JobRows = tuple[str, list[tuple[str, str, bool]], dict[str, int], int]


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


@cache
def migration_heads() -> frozenset[str] | None:
    """The head revisions of the migration scripts, read without loading Alembic.

    None when a script does not state its revisions plainly: then Alembic decides.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in _VERSIONS.glob("[!_]*.py"):
        source = script.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN.search(source)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        parents.update(re.findall(r"[\"']([^\"']+)[\"']", down.group(1)))
    return frozenset(revisions - parents) if revisions else None


def assemble_jobs(
    jobs: Iterable[Sequence[Any]],
    attributes: Iterable[Sequence[Any]],
    executions: Iterable[Sequence[Any]],
    iterations: Iterable[Sequence[Any]],
) -> list[JobRows]:
    """Put the rows of the four :data:`JOB_LISTING` statements together, one entry a job."""
    attrs: dict[int, list[tuple[str, str, bool]]] = {}
    for job_id, name, kind, numeric in attributes:
        attrs.setdefault(job_id, []).append((name, kind, bool(numeric)))
    counts: dict[int, dict[str, int]] = {}
    for job_id, source, n in executions:
        counts.setdefault(job_id, {})[source] = int(n)
    iters = {job_id: int(n) for job_id, n in iterations}
    return [
        (name, attrs.get(job_id, []), counts.get(job_id, {}), iters.get(job_id, 0))
        for job_id, name in jobs
    ]


def _sqlite(url: str) -> Any:
    import sqlite3

    path = url.removeprefix("sqlite:///")
    if url == path or "?" in path or not path or path == ":memory:":
        return None
    file = Path(path).resolve()
    if not file.is_file():
        return None  # the full repository creates and migrates it
    # mode=rw: never creates a file; the busy timeout is the repository's
    return sqlite3.connect(f"{file.as_uri()}?mode=rw", uri=True, timeout=30)


def _postgresql(url: str) -> Any:
    scheme, rest = url.split("://", 1)
    if scheme not in ("postgresql", "postgresql+psycopg", "postgres"):
        return None
    import psycopg

    return psycopg.connect(f"postgresql://{rest}", connect_timeout=10)


def _query(connection: Any) -> Callable[[str], list[Any]]:
    def run(sql: str) -> list[Any]:
        with closing(connection.cursor()) as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall())

    return run


def read_jobs(url: str | None = None) -> list[JobRows] | None:
    """Every job of the history at ``url`` as :data:`JobRows`, or None to take the full path.

    None when the URL is not a plain SQLite file or PostgreSQL URL, the SQLite file does not
    exist, the schema is not at every migration head (or the database is not jobcast's),
    or the driver raises anything: opening the full repository then migrates, or raises
    the error that names the problem.
    """
    resolved = resolve_url(url)
    heads = migration_heads()
    if heads is None or not urlsplit(resolved).scheme:
        return None
    opener = _sqlite if resolved.startswith("sqlite") else _postgresql
    try:
        connection = opener(resolved)
        if connection is None:
            return None
        with closing(connection):
            run = _query(connection)
            if {row[0] for row in run("SELECT version_num FROM alembic_version")} != heads:
                return None
            return assemble_jobs(*(run(sql) for sql in JOB_LISTING))
    except Exception:  # any failure: the full path reads the database or explains it
        # at DEBUG, so that a fast path broken for good (a bug, a changed schema) is seen
        logger.debug("the fast job listing failed; the full repository reads it", exc_info=True)
        return None
