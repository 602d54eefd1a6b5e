"""A conversation is stored once: the session row keeps the customer's state, not a second copy of the turns.

Until now ``sessions.customer_state`` held the whole engine session as JSON — every turn a second time, rewritten
after each customer turn. It now holds the customer's state alone; ``answered_seq`` says which turns the customer
has answered, ``end_reason`` and ``customer`` moved out of the JSON into columns. ``grades.findings`` (a flattened
copy of what ``grades.detail`` holds) is dropped. Existing rows are converted in place.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("end_reason", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("customer", sa.String(length=16), nullable=False, server_default="scripted"))
        batch_op.add_column(sa.Column("answered_seq", sa.Integer(), nullable=False, server_default="0"))

    bind = op.get_bind()
    sessions = sa.table(
        "sessions",
        sa.column("id", sa.String),
        sa.column("customer_state", JSON_TYPE),
        sa.column("end_reason", sa.String),
        sa.column("customer", sa.String),
        sa.column("answered_seq", sa.Integer),
    )
    for sid, state in bind.execute(sa.select(sessions.c.id, sessions.c.customer_state)).all():
        data = _json(state)
        if not isinstance(data, dict) or "turns" not in data:
            continue  # already the customer's state alone
        bind.execute(
            sessions.update()
            .where(sessions.c.id == sid)
            .values(
                customer_state=data.get("state") or {},
                end_reason=(data.get("end_reason") or None) and str(data["end_reason"])[:40],
                customer=str(data.get("customer") or "scripted")[:16],
                answered_seq=len(data.get("turns") or []),
            )
        )

    with op.batch_alter_table("grades", schema=None) as batch_op:
        batch_op.drop_column("findings")


def downgrade() -> None:
    with op.batch_alter_table("grades", schema=None) as batch_op:
        batch_op.add_column(sa.Column("findings", JSON_TYPE, nullable=False, server_default="[]"))
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("answered_seq")
        batch_op.drop_column("customer")
        batch_op.drop_column("end_reason")
