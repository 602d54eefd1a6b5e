"""Exams: windows scheduled for a trainee or a group, attempts with their frozen definition and per-part deadlines,
written answers, exam-page events, the audit log, overrides of findings, appeals, certificates.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exam_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exam_id", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_exam_windows_created_by_users")),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], name=op.f("fk_exam_windows_group_id_groups")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_exam_windows_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_windows")),
    )
    with op.batch_alter_table("exam_windows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exam_windows_closes_at"), ["closes_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_exam_windows_exam_id"), ["exam_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_exam_windows_group_id"), ["group_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_exam_windows_user_id"), ["user_id"], unique=False)

    op.create_table(
        "exam_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("exam_id", sa.String(length=80), nullable=False),
        sa.Column("window_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("exam_digest", sa.String(length=80), nullable=False),
        sa.Column("frozen", JSON_TYPE, nullable=False),
        sa.Column("parts", JSON_TYPE, nullable=False),
        sa.Column("part_index", sa.Integer(), nullable=False),
        sa.Column("tab", sa.String(length=40), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verdict", JSON_TYPE, nullable=True),
        sa.Column("result", sa.String(length=16), nullable=True),
        sa.Column("overall", sa.Float(), nullable=True),
        sa.Column("grader_version", sa.String(length=40), nullable=True),
        sa.Column("calibration_profile", sa.String(length=80), nullable=True),
        sa.Column("calibration_version", sa.String(length=40), nullable=True),
        sa.Column("plan", JSON_TYPE, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_exam_attempts_user_id_users")),
        sa.ForeignKeyConstraint(
            ["window_id"], ["exam_windows.id"], name=op.f("fk_exam_attempts_window_id_exam_windows")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_attempts")),
        sa.UniqueConstraint("user_id", "exam_id", "number", name="uq_exam_attempts_user_exam_number"),
    )
    with op.batch_alter_table("exam_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exam_attempts_exam_id"), ["exam_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_exam_attempts_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_exam_attempts_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_exam_attempts_window_id"), ["window_id"], unique=False)

    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("exam_id", sa.String(length=80), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("shop", sa.String(length=80), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("overall", sa.Float(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Integer(), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=False),
        sa.Column("renewal_window_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["exam_attempts.id"], name=op.f("fk_certificates_attempt_id_exam_attempts")
        ),
        sa.ForeignKeyConstraint(
            ["renewal_window_id"], ["exam_windows.id"], name=op.f("fk_certificates_renewal_window_id_exam_windows")
        ),
        sa.ForeignKeyConstraint(["revoked_by"], ["users.id"], name=op.f("fk_certificates_revoked_by_users")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_certificates_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint("attempt_id", name=op.f("uq_certificates_attempt_id")),
        sa.UniqueConstraint("code", name=op.f("uq_certificates_code")),
    )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificates_exam_id"), ["exam_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_certificates_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_certificates_user_id"), ["user_id"], unique=False)

    op.create_table(
        "exam_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("part_id", sa.String(length=80), nullable=False),
        sa.Column("question", sa.String(length=160), nullable=False),
        sa.Column("answer", JSON_TYPE, nullable=True),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("result", JSON_TYPE, nullable=True),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["exam_attempts.id"], name=op.f("fk_exam_answers_attempt_id_exam_attempts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_answers")),
        sa.UniqueConstraint("attempt_id", "question", name="uq_exam_answers_attempt_question"),
    )
    with op.batch_alter_table("exam_answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exam_answers_attempt_id"), ["attempt_id"], unique=False)

    op.create_table(
        "exam_appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=True),
        sa.Column("target", sa.String(length=160), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["exam_attempts.id"], name=op.f("fk_exam_appeals_attempt_id_exam_attempts")
        ),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_exam_appeals_decided_by_users")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_exam_appeals_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_appeals")),
    )
    with op.batch_alter_table("exam_appeals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exam_appeals_attempt_id"), ["attempt_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_exam_appeals_status"), ["status"], unique=False)

    op.create_table(
        "exam_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("part_id", sa.String(length=80), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", JSON_TYPE, nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["exam_attempts.id"], name=op.f("fk_exam_events_attempt_id_exam_attempts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_events")),
    )
    with op.batch_alter_table("exam_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exam_events_attempt_id"), ["attempt_id"], unique=False)

    op.create_table(
        "exam_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("exam_id", sa.String(length=80), nullable=True),
        sa.Column("subject_user_id", sa.Integer(), nullable=True),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("window_id", sa.Integer(), nullable=True),
        sa.Column("certificate_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", JSON_TYPE, nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_exam_audit_actor_id_users")),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["exam_attempts.id"], name=op.f("fk_exam_audit_attempt_id_exam_attempts")
        ),
        sa.ForeignKeyConstraint(
            ["certificate_id"], ["certificates.id"], name=op.f("fk_exam_audit_certificate_id_certificates")
        ),
        sa.ForeignKeyConstraint(["subject_user_id"], ["users.id"], name=op.f("fk_exam_audit_subject_user_id_users")),
        sa.ForeignKeyConstraint(["window_id"], ["exam_windows.id"], name=op.f("fk_exam_audit_window_id_exam_windows")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_audit")),
    )
    with op.batch_alter_table("exam_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exam_audit_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_exam_audit_attempt_id"), ["attempt_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_exam_audit_subject_user_id"), ["subject_user_id"], unique=False)

    op.create_table(
        "exam_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=True),
        sa.Column("target", sa.String(length=160), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=True),
        sa.Column("criterion", sa.String(length=120), nullable=False),
        sa.Column("points", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=True),
        sa.Column("grader_version", sa.String(length=40), nullable=True),
        sa.Column("finding", JSON_TYPE, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_exam_overrides_actor_id_users")),
        sa.ForeignKeyConstraint(
            ["appeal_id"], ["exam_appeals.id"], name=op.f("fk_exam_overrides_appeal_id_exam_appeals")
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["exam_attempts.id"], name=op.f("fk_exam_overrides_attempt_id_exam_attempts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_overrides")),
    )
    with op.batch_alter_table("exam_overrides", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exam_overrides_attempt_id"), ["attempt_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("exam_overrides", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exam_overrides_attempt_id"))

    op.drop_table("exam_overrides")
    with op.batch_alter_table("exam_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exam_audit_subject_user_id"))
        batch_op.drop_index(batch_op.f("ix_exam_audit_attempt_id"))
        batch_op.drop_index(batch_op.f("ix_exam_audit_at"))

    op.drop_table("exam_audit")
    with op.batch_alter_table("exam_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exam_events_attempt_id"))

    op.drop_table("exam_events")
    with op.batch_alter_table("exam_appeals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exam_appeals_status"))
        batch_op.drop_index(batch_op.f("ix_exam_appeals_attempt_id"))

    op.drop_table("exam_appeals")
    with op.batch_alter_table("exam_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exam_answers_attempt_id"))

    op.drop_table("exam_answers")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificates_user_id"))
        batch_op.drop_index(batch_op.f("ix_certificates_expires_at"))
        batch_op.drop_index(batch_op.f("ix_certificates_exam_id"))

    op.drop_table("certificates")
    with op.batch_alter_table("exam_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exam_attempts_window_id"))
        batch_op.drop_index(batch_op.f("ix_exam_attempts_user_id"))
        batch_op.drop_index(batch_op.f("ix_exam_attempts_status"))
        batch_op.drop_index(batch_op.f("ix_exam_attempts_exam_id"))

    op.drop_table("exam_attempts")
    with op.batch_alter_table("exam_windows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exam_windows_user_id"))
        batch_op.drop_index(batch_op.f("ix_exam_windows_group_id"))
        batch_op.drop_index(batch_op.f("ix_exam_windows_exam_id"))
        batch_op.drop_index(batch_op.f("ix_exam_windows_closes_at"))

    op.drop_table("exam_windows")
