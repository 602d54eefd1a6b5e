"""The xAPI outbox: every statement is stored here in the same transaction as the grade it reports, then sent to
the Learning Record Store by a background sender that retries with backoff — so a statement is never lost when
the LRS is down, and never sent twice (a statement's id is fixed when it is stored; an LRS that already has it
answers 409 or 204 and the row counts as sent)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from simulator.store.schema import Base, JsonType, utcnow

# Seconds to wait after the n-th failed attempt (then the last value, every time)
BACKOFF = (5, 15, 60, 300, 900, 1800)


class OutboxStatement(Base):
    """One xAPI statement, waiting or sent."""

    __tablename__ = "xapi_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statement_id: Mapped[str] = mapped_column(String(36), unique=True)
    session_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    verb: Mapped[str] = mapped_column(String(40))
    statement: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
    # The LRS refused it as invalid (4xx other than 409): kept for a person to look at, not retried
    rejected: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")


def enqueue(s: Session, statement: dict[str, Any], *, session_id: str | None = None) -> OutboxStatement:
    """Store a statement to send."""
    verb = str(statement.get("verb", {}).get("id", "")).rsplit("/", 1)[-1][:40]
    row = OutboxStatement(statement_id=statement["id"], session_id=session_id, verb=verb, statement=statement)
    s.add(row)
    s.flush()
    return row


def due(s: Session, now: datetime, limit: int = 50) -> Sequence[OutboxStatement]:
    """Statements to send now, oldest first."""
    q = select(OutboxStatement).where(
        OutboxStatement.sent_at.is_(None),
        OutboxStatement.rejected.is_(None),
        OutboxStatement.next_attempt_at <= now,
    )
    return s.scalars(q.order_by(OutboxStatement.id).limit(limit)).all()


def mark_failed(row: OutboxStatement, error: str, now: datetime) -> None:
    """Another failed attempt: try again later."""
    row.attempts += 1
    row.last_error = error[:1000]
    row.next_attempt_at = now + timedelta(seconds=BACKOFF[min(row.attempts, len(BACKOFF)) - 1])


def counts(s: Session) -> dict[str, int]:
    """How many statements are sent, waiting and rejected."""
    sent = s.scalar(select(func.count()).where(OutboxStatement.sent_at.is_not(None))) or 0
    rejected = s.scalar(select(func.count()).where(OutboxStatement.rejected.is_not(None))) or 0
    total = s.scalar(select(func.count(OutboxStatement.id))) or 0
    return {"sent": sent, "waiting": total - sent - rejected, "rejected": rejected}
