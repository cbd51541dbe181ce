"""Holding a database's write lock until the transaction ends (PostgreSQL and SQLite)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, text

__all__ = ["begin_immediate", "hold_write_lock"]


def begin_immediate(conn: Connection) -> None:
    """Open ``conn``'s SQLite transaction with ``BEGIN IMMEDIATE`` (its write lock at once)."""
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def hold_write_lock(
    conn: Connection,
    *,
    key: int,
    table: str | None = None,
    column: str = "id",
    begin: Callable[[Connection], object] | None = None,
    on_wait: Callable[[], object] | None = None,
) -> None:
    """Take the database's write lock for ``conn``'s transaction, held until it ends.

    Whoever takes the same lock next waits until this transaction commits or rolls
    back, so a check made under the lock still holds when the transaction writes.

    Parameters
    ----------
    conn
        The connection of the transaction (a session's ``s.connection()``).
    key
        PostgreSQL: the transaction-level advisory lock taken (one fixed number per
        kind of writer; writers with the same key queue behind each other).
    table, column
        SQLite: a no-op ``UPDATE table SET column = column WHERE 1 = 0`` takes the
        database's write lock (SQLite takes it at a transaction's first write, even one
        changing no row). Without ``table`` nothing is done when ``begin`` does not apply.
        Both are our own constant names, never user input (they are not quoted).
    begin
        SQLite: when given and the driver's connection has no transaction open yet, it is
        called with ``conn`` to open one holding the write lock (e.g.
        :func:`begin_immediate`), instead of the ``UPDATE``.
    on_wait
        PostgreSQL: when given, the lock is tried first and ``on_wait`` called before
        waiting for it (to say why a command pauses); without it, the lock is waited for.

    Notes
    -----
    Other dialects take no lock.
    """
    dialect = conn.dialect.name
    if dialect == "postgresql":
        k = {"k": key}
        if on_wait is not None:
            if conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), k).scalar():
                return
            on_wait()
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), k)
    elif dialect == "sqlite":
        raw = conn.connection.driver_connection
        if begin is not None and raw is not None and not raw.in_transaction:
            begin(conn)
        elif table is not None:
            conn.execute(text(f"UPDATE {table} SET {column} = {column} WHERE 1 = 0"))
