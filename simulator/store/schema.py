"""What every table shares: the declarative base with stable constraint names, the JSON type, UTC time, text
as every backend stores it.

The tables live with the queries about them (:mod:`~simulator.store.users`, :mod:`~simulator.store.sessions`,
:mod:`~simulator.store.grades`, :mod:`~simulator.store.assignments`). Only portable column types: the same
migrations run on SQLite (default) and PostgreSQL (multi-instance). Change the schema only through a new
Alembic revision in ``simulator/store/migrations/versions``; a test fails when the tables and the migrations
disagree.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import JSON, MetaData
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names so migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Declarative base with the naming convention."""

    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    """Timezone-aware now in UTC (every timestamp is stored in UTC)."""
    return datetime.now(UTC)


def clean_text(text: str) -> str:
    """Text as every backend stores it: without NUL characters, which PostgreSQL text columns refuse (and which
    no one means to type — a pasted or scripted message may carry them)."""
    return text.replace("\x00", "")


def new_uuid() -> str:
    """A random id (unguessable: it appears in URLs)."""
    return str(uuid.uuid4())
