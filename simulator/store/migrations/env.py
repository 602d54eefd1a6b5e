"""Alembic environment: runs against the connection handed over by :func:`simulator.store.database.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

import simulator.store  # noqa: F401  (every table registers itself on Base.metadata)
from simulator.store.schema import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs batch mode for ALTER TABLE
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # `alembic -x url=… upgrade head` from a shell
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("no database URL: run `alembic -x url=sqlite:///path/to/db upgrade head`")
    engine = create_engine(url)
    with engine.begin() as conn:
        _run(conn)
