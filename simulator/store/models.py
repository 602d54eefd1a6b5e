"""SQLAlchemy 2 models: users, assignments, practice/exam sessions, their turns, and grades.

The schema is designed for what comes next, not only for practice:

* ``sessions.kind`` is ``practice`` | ``exam`` | ``playtest`` and ``sessions.exam_attempt_id`` links an exam
  attempt (its own table arrives with exams); ``seed`` + ``variables`` + ``scenario_digest`` make every
  attempt reproducible even after the scenario file changes.
* ``turns`` are append-only (a trigger refuses UPDATE and DELETE): analytics and LMS export read the exact
  transcript the trainee saw, with server-measured response times.
* Several simultaneous buyers on one workbench are several sessions of one user, each with its own state.
* Only portable column types: the same migrations run on SQLite (default) and PostgreSQL (multi-instance).

Change the schema only through a new Alembic revision in ``simulator/store/migrations/versions``; a test
fails when these models and the migrations disagree.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names so migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    """Timezone-aware now in UTC (every timestamp is stored in UTC)."""
    return datetime.now(UTC)


def clean_text(text: str) -> str:
    """Text as every backend stores it: without NUL characters, which PostgreSQL text columns refuse (and which
    no one means to type — a pasted or scripted message may carry them)."""
    return text.replace("\x00", "")


def new_uuid() -> str:
    """A random session id (unguessable: it appears in URLs)."""
    return str(uuid.uuid4())


class Role(StrEnum):
    """What a user may do. Each role includes the ones before it."""

    TRAINEE = "trainee"
    TRAINER = "trainer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """0 trainee, 1 trainer, 2 admin."""
        return list(Role).index(self)


class SessionKind(StrEnum):
    """Why a conversation exists."""

    PRACTICE = "practice"
    EXAM = "exam"
    PLAYTEST = "playtest"


class SessionStatus(StrEnum):
    """Life cycle of a conversation."""

    ACTIVE = "active"
    FINISHED = "finished"
    ABANDONED = "abandoned"


class TurnRole(StrEnum):
    """Who produced a turn."""

    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"


class TurnKind(StrEnum):
    """A chat message, a notice shown to the trainee (e.g. "the customer left"), or a workbench action."""

    MESSAGE = "message"
    NOTICE = "notice"
    ACTION = "action"


class Base(DeclarativeBase):
    """Declarative base with the naming convention."""

    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    """A person who logs in."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(16), default=Role.TRAINEE.value)
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(8), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on password reset / deactivation: every cookie carrying an older value stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def role_enum(self) -> Role:
        """The role as an enum."""
        return Role(self.role)


class Assignment(Base):
    """A trainer asks a trainee to practise a scenario (by a due date)."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trainer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    scenario_id: Mapped[str] = mapped_column(String(80))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PracticeSession(Base):
    """One conversation with a simulated customer: practice, exam attempt or trainer play-test."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    kind: Mapped[str] = mapped_column(String(16), default=SessionKind.PRACTICE.value)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scenario_id: Mapped[str] = mapped_column(String(80))
    scenario_digest: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int] = mapped_column(Integer)
    variables: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    locale: Mapped[str] = mapped_column(String(8), default="zh-CN")
    status: Mapped[str] = mapped_column(String(16), default=SessionStatus.ACTIVE.value)
    outcome: Mapped[str | None] = mapped_column(String(24), nullable=True)
    # The engine's resumable state (customer mood, patience, fired beats …) after the last committed turn.
    customer_state: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    exam_attempt_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    turns: Mapped[list[Turn]] = relationship(
        back_populates="session", order_by="Turn.seq", lazy="raise", cascade="save-update"
    )

    __table_args__ = (
        Index("ix_sessions_user_scenario", "user_id", "scenario_id"),
        Index("ix_sessions_status", "status"),
    )


class Turn(Base):
    """One message, notice or action in a session. Append-only; ``seq`` is 1, 2, 3 … within the session."""

    __tablename__ = "turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16), default=TurnKind.MESSAGE.value)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Agent turns: milliseconds since the customer's previous message, measured by the server.
    response_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    meta: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)

    session: Mapped[PracticeSession] = relationship(back_populates="turns")

    __table_args__ = (UniqueConstraint("session_id", "seq", name="uq_turns_session_seq"),)


class Grade(Base):
    """The grader's result for a finished session. ``None`` in a dimension means unscored, never 0."""

    __tablename__ = "grades"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), unique=True)
    overall: Mapped[float | None] = mapped_column(Float, nullable=True)
    service: Mapped[float | None] = mapped_column(Float, nullable=True)
    technique: Mapped[float | None] = mapped_column(Float, nullable=True)
    knowledge: Mapped[float | None] = mapped_column(Float, nullable=True)
    process: Mapped[float | None] = mapped_column(Float, nullable=True)
    red_line: Mapped[bool] = mapped_column(Boolean, default=False)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    # The grader's full result (metrics such as 答问比, per-criterion detail) for the report card and exports.
    detail: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    grader_version: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
