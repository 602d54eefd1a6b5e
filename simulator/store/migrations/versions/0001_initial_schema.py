"""Initial schema: users, assignments, sessions, append-only turns, grades.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("display_name", sa.String(length=80), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trainer_id", sa.Integer(), nullable=False),
        sa.Column("trainee_id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.String(length=80), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["trainee_id"], ["users.id"], name=op.f("fk_assignments_trainee_id_users")),
        sa.ForeignKeyConstraint(["trainer_id"], ["users.id"], name=op.f("fk_assignments_trainer_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
    )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assignments_trainee_id"), ["trainee_id"], unique=False)

    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.String(length=80), nullable=False),
        sa.Column("scenario_digest", sa.String(length=64), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("variables", JSON_TYPE, nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("customer_state", JSON_TYPE, nullable=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("exam_attempt_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sessions_exam_attempt_id"), ["exam_attempt_id"], unique=False)
        batch_op.create_index("ix_sessions_status", ["status"], unique=False)
        batch_op.create_index("ix_sessions_user_scenario", ["user_id", "scenario_id"], unique=False)

    op.create_table(
        "grades",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("overall", sa.Float(), nullable=True),
        sa.Column("service", sa.Float(), nullable=True),
        sa.Column("technique", sa.Float(), nullable=True),
        sa.Column("knowledge", sa.Float(), nullable=True),
        sa.Column("process", sa.Float(), nullable=True),
        sa.Column("red_line", sa.Boolean(), nullable=False),
        sa.Column("findings", JSON_TYPE, nullable=False),
        sa.Column("detail", JSON_TYPE, nullable=False),
        sa.Column("grader_version", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_grades_session_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grades")),
        sa.UniqueConstraint("session_id", name=op.f("uq_grades_session_id")),
    )
    op.create_table(
        "turns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("response_ms", sa.Integer(), nullable=True),
        sa.Column("meta", JSON_TYPE, nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_turns_session_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_turns")),
        sa.UniqueConstraint("session_id", "seq", name="uq_turns_session_seq"),
    )
    _append_only_turns()


def downgrade() -> None:
    _drop_append_only_turns()
    op.drop_table("turns")
    op.drop_table("grades")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_user_scenario")
        batch_op.drop_index("ix_sessions_status")
        batch_op.drop_index(batch_op.f("ix_sessions_exam_attempt_id"))

    op.drop_table("sessions")
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignments_trainee_id"))

    op.drop_table("assignments")
    op.drop_table("users")


def _append_only_turns() -> None:
    """Refuse UPDATE and DELETE on turns in the database itself, whatever code runs against it."""
    if op.get_context().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER turns_no_{action.lower()} BEFORE {action} ON turns "
                "BEGIN SELECT RAISE(ABORT, 'turns are append-only'); END"
            )
    elif op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION turns_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'turns are append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER turns_append_only BEFORE UPDATE OR DELETE ON turns "
            "FOR EACH ROW EXECUTE FUNCTION turns_append_only()"
        )


def _drop_append_only_turns() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS turns_no_update")
        op.execute("DROP TRIGGER IF EXISTS turns_no_delete")
    elif op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS turns_append_only ON turns")
        op.execute("DROP FUNCTION IF EXISTS turns_append_only()")
