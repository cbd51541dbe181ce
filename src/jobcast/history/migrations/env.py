"""Alembic environment: runs jobcast's migrations on the connection jobcast hands over."""

from alembic import context
from sqlalchemy import Connection, engine_from_config, pool

from jobcast.history.schema import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_on(connection: Connection) -> None:
    # SQLite alters tables by copying them ("batch" mode)
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations_on(connection)
        return
    engine = engine_from_config(
        config.get_section(config.config_ini_section) or {},
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as conn:
        run_migrations_on(conn)


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
