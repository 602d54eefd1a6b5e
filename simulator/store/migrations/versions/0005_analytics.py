"""质培联动 (issue 12): imported real chats, analytics facts, QA jobs, training plans with assignment status and
retests, coaching notes, report comments and finding overrides, the xAPI outbox.

New tables: imports, real_chats, agent_aliases (real chats and who wrote them); score_facts, criterion_facts,
finding_facts, criteria (what dashboards read); jobs (batch QA that survives a restart); training_plans,
plan_members, coaching_notes; report_comments, finding_overrides (read by grader calibration); xapi_outbox.
``assignments`` gains its plan, kind, criterion, round, availability, status and the attempt that completed it;
existing assignments become ``done`` when a graded attempt at their scenario started after them, ``in-progress``
when one started, ``open`` otherwise.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "criteria",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_criteria")),
    )
    op.create_table(
        "xapi_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=True),
        sa.Column("verb", sa.String(length=40), nullable=False),
        sa.Column("statement", JSON_TYPE, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejected", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_xapi_outbox")),
        sa.UniqueConstraint("statement_id", name=op.f("uq_xapi_outbox_statement_id")),
    )
    with op.batch_alter_table("xapi_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_xapi_outbox_next_attempt_at"), ["next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_xapi_outbox_sent_at"), ["sent_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_xapi_outbox_session_id"), ["session_id"], unique=False)

    op.create_table(
        "agent_aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_agent_aliases_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_aliases")),
        sa.UniqueConstraint("alias", name=op.f("uq_agent_aliases_alias")),
    )
    with op.batch_alter_table("agent_aliases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_aliases_user_id"), ["user_id"], unique=False)

    op.create_table(
        "imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("files", sa.String(length=500), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("shop", sa.String(length=80), nullable=False),
        sa.Column("conversations", sa.Integer(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_imports_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imports")),
    )
    op.create_table(
        "criterion_facts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("shop", sa.String(length=80), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("criterion", sa.String(length=80), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("earned", sa.Float(), nullable=False),
        sa.Column("lost", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_criterion_facts_session_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_criterion_facts")),
    )
    with op.batch_alter_table("criterion_facts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_criterion_facts_day_user", ["day", "user_id", "criterion", "source", "lost"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_criterion_facts_session_id"), ["session_id"], unique=False)
        batch_op.create_index(
            "ix_criterion_facts_user_criterion", ["user_id", "criterion", "day", "source", "lost"], unique=False
        )
        batch_op.create_index(
            "ix_criterion_facts_user_day", ["user_id", "day", "criterion", "source", "lost"], unique=False
        )

    op.create_table(
        "finding_facts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("shop", sa.String(length=80), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("criterion", sa.String(length=80), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("red_line", sa.String(length=80), nullable=True),
        sa.Column("turn", sa.Integer(), nullable=True),
        sa.Column("message", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_finding_facts_session_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding_facts")),
    )
    with op.batch_alter_table("finding_facts", schema=None) as batch_op:
        batch_op.create_index("ix_finding_facts_day_user", ["day", "user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_finding_facts_session_id"), ["session_id"], unique=False)

    op.create_table(
        "finding_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("criterion", sa.String(length=80), nullable=False),
        sa.Column("turn", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("points", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("original_points", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("grader_version", sa.String(length=40), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_finding_overrides_author_id_users")),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_finding_overrides_session_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding_overrides")),
        sa.UniqueConstraint("session_id", "criterion", "turn", "ordinal", name="uq_finding_overrides_finding"),
    )
    with op.batch_alter_table("finding_overrides", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_finding_overrides_session_id"), ["session_id"], unique=False)

    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("params", JSON_TYPE, nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("worker", sa.String(length=120), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_jobs_created_by_users")),
        sa.ForeignKeyConstraint(["import_id"], ["imports.id"], name=op.f("fk_jobs_import_id_imports")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_import_id"), ["import_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_status"), ["status"], unique=False)

    op.create_table(
        "real_chats",
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("shop", sa.String(length=80), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("agent_alias", sa.String(length=80), nullable=False),
        sa.Column("satisfaction", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["import_id"], ["imports.id"], name=op.f("fk_real_chats_import_id_imports")),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_real_chats_session_id_sessions")),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_real_chats")),
        sa.UniqueConstraint("shop", "external_id", name="uq_real_chats_shop_external"),
    )
    with op.batch_alter_table("real_chats", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_real_chats_import_id"), ["import_id"], unique=False)

    op.create_table(
        "report_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("turn", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_report_comments_author_id_users")),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_report_comments_session_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_comments")),
    )
    with op.batch_alter_table("report_comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_comments_session_id"), ["session_id"], unique=False)

    op.create_table(
        "score_facts",
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("shop", sa.String(length=80), nullable=False),
        sa.Column("scenario_id", sa.String(length=80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("overall", sa.Float(), nullable=True),
        sa.Column("service", sa.Float(), nullable=True),
        sa.Column("technique", sa.Float(), nullable=True),
        sa.Column("knowledge", sa.Float(), nullable=True),
        sa.Column("process", sa.Float(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("red_line", sa.Boolean(), nullable=False),
        sa.Column("first_response_s", sa.Float(), nullable=True),
        sa.Column("mean_response_s", sa.Float(), nullable=True),
        sa.Column("reply_ratio", sa.Float(), nullable=True),
        sa.Column("converted", sa.Boolean(), nullable=True),
        sa.Column("satisfaction", sa.Float(), nullable=True),
        sa.Column("findings", sa.Integer(), nullable=False),
        sa.Column("points_lost", sa.Float(), nullable=False),
        sa.Column("reviewed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_score_facts_session_id_sessions")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_score_facts_user_id_users")),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_score_facts")),
    )
    with op.batch_alter_table("score_facts", schema=None) as batch_op:
        batch_op.create_index("ix_score_facts_day_user", ["day", "user_id"], unique=False)
        batch_op.create_index("ix_score_facts_user_day", ["user_id", "day"], unique=False)

    op.create_table(
        "training_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("criterion", sa.String(length=80), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=True),
        sa.Column("problem_type", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=24), nullable=False),
        sa.Column("trainer_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("scenario_ids", JSON_TYPE, nullable=False),
        sa.Column("evidence", JSON_TYPE, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], name=op.f("fk_training_plans_group_id_groups")),
        sa.ForeignKeyConstraint(["trainer_id"], ["users.id"], name=op.f("fk_training_plans_trainer_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_plans")),
    )
    with op.batch_alter_table("training_plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_plans_criterion"), ["criterion"], unique=False)
        batch_op.create_index(batch_op.f("ix_training_plans_trainer_id"), ["trainer_id"], unique=False)

    op.create_table(
        "coaching_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trainee_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("criterion", sa.String(length=80), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_coaching_notes_author_id_users")),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["training_plans.id"], name=op.f("fk_coaching_notes_plan_id_training_plans")
        ),
        sa.ForeignKeyConstraint(["trainee_id"], ["users.id"], name=op.f("fk_coaching_notes_trainee_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coaching_notes")),
    )
    with op.batch_alter_table("coaching_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coaching_notes_plan_id"), ["plan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_coaching_notes_trainee_id"), ["trainee_id"], unique=False)

    op.create_table(
        "plan_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("focus", sa.Boolean(), nullable=False),
        sa.Column("before_n", sa.Integer(), nullable=False),
        sa.Column("before_lost", sa.Integer(), nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["training_plans.id"], name=op.f("fk_plan_members_plan_id_training_plans")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_plan_members_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_members")),
        sa.UniqueConstraint("plan_id", "user_id", name="uq_plan_members_plan_user"),
    )
    with op.batch_alter_table("plan_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_members_plan_id"), ["plan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_plan_members_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plan_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("kind", sa.String(length=16), server_default="practice", nullable=False))
        batch_op.add_column(sa.Column("criterion", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("round", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("available_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("status", sa.String(length=16), server_default="open", nullable=False))
        batch_op.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("session_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("criterion_kept", sa.Boolean(), nullable=True))
        batch_op.create_index(batch_op.f("ix_assignments_plan_id"), ["plan_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_assignments_plan_id_training_plans"), "training_plans", ["plan_id"], ["id"]
        )

    _assignment_status()


def downgrade() -> None:
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_assignments_plan_id_training_plans"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_assignments_plan_id"))
        batch_op.drop_column("criterion_kept")
        batch_op.drop_column("score")
        batch_op.drop_column("session_id")
        batch_op.drop_column("completed_at")
        batch_op.drop_column("started_at")
        batch_op.drop_column("status")
        batch_op.drop_column("available_at")
        batch_op.drop_column("round")
        batch_op.drop_column("criterion")
        batch_op.drop_column("kind")
        batch_op.drop_column("plan_id")

    with op.batch_alter_table("plan_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_members_user_id"))
        batch_op.drop_index(batch_op.f("ix_plan_members_plan_id"))

    op.drop_table("plan_members")
    with op.batch_alter_table("coaching_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coaching_notes_trainee_id"))
        batch_op.drop_index(batch_op.f("ix_coaching_notes_plan_id"))

    op.drop_table("coaching_notes")
    with op.batch_alter_table("training_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_plans_trainer_id"))
        batch_op.drop_index(batch_op.f("ix_training_plans_criterion"))

    op.drop_table("training_plans")
    with op.batch_alter_table("score_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_score_facts_user_day")
        batch_op.drop_index("ix_score_facts_day_user")

    op.drop_table("score_facts")
    with op.batch_alter_table("report_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_comments_session_id"))

    op.drop_table("report_comments")
    with op.batch_alter_table("real_chats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_real_chats_import_id"))

    op.drop_table("real_chats")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_status"))
        batch_op.drop_index(batch_op.f("ix_jobs_import_id"))

    op.drop_table("jobs")
    with op.batch_alter_table("finding_overrides", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_finding_overrides_session_id"))

    op.drop_table("finding_overrides")
    with op.batch_alter_table("finding_facts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_finding_facts_session_id"))
        batch_op.drop_index("ix_finding_facts_day_user")

    op.drop_table("finding_facts")
    with op.batch_alter_table("criterion_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_criterion_facts_user_day")
        batch_op.drop_index("ix_criterion_facts_user_criterion")
        batch_op.drop_index(batch_op.f("ix_criterion_facts_session_id"))
        batch_op.drop_index("ix_criterion_facts_day_user")

    op.drop_table("criterion_facts")
    op.drop_table("imports")
    with op.batch_alter_table("agent_aliases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_aliases_user_id"))

    op.drop_table("agent_aliases")
    with op.batch_alter_table("xapi_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_xapi_outbox_session_id"))
        batch_op.drop_index(batch_op.f("ix_xapi_outbox_sent_at"))
        batch_op.drop_index(batch_op.f("ix_xapi_outbox_next_attempt_at"))

    op.drop_table("xapi_outbox")
    op.drop_table("criteria")


def _assignment_status() -> None:
    """Existing assignments: done / in progress from the attempts their trainee made since they were given."""
    sessions = sa.table(
        "sessions",
        sa.column("id", sa.String),
        sa.column("user_id", sa.Integer),
        sa.column("scenario_id", sa.String),
        sa.column("kind", sa.String),
        sa.column("started_at", sa.DateTime(timezone=True)),
    )
    grades = sa.table(
        "grades",
        sa.column("session_id", sa.String),
        sa.column("overall", sa.Float),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    assignments = sa.table(
        "assignments",
        sa.column("id", sa.Integer),
        sa.column("trainee_id", sa.Integer),
        sa.column("scenario_id", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("status", sa.String),
        sa.column("started_at", sa.DateTime(timezone=True)),
        sa.column("completed_at", sa.DateTime(timezone=True)),
        sa.column("session_id", sa.String),
        sa.column("score", sa.Float),
    )
    bind = op.get_bind()
    for aid, trainee, scenario, created in bind.execute(
        sa.select(assignments.c.id, assignments.c.trainee_id, assignments.c.scenario_id, assignments.c.created_at)
    ).all():
        attempts = bind.execute(
            sa.select(sessions.c.id, sessions.c.started_at, grades.c.overall, grades.c.created_at)
            .outerjoin(grades, grades.c.session_id == sessions.c.id)
            .where(
                sessions.c.user_id == trainee,
                sessions.c.scenario_id == scenario,
                sessions.c.kind.in_(["practice", "exam"]),
                sessions.c.started_at >= created,
            )
            .order_by(sessions.c.started_at)
        ).all()
        graded = [a for a in attempts if a.created_at is not None]
        if graded:
            first = graded[0]
            values = {
                "status": "done",
                "started_at": first.started_at,
                "completed_at": first.created_at,
                "session_id": first.id,
                "score": first.overall,
            }
        elif attempts:
            values = {"status": "in-progress", "started_at": attempts[0].started_at}
        else:
            continue
        bind.execute(assignments.update().where(assignments.c.id == aid).values(**values))
