"""What exam owners do to attempts, kept for audit and for calibration: the audit log (every action, with its
reason), overrides of findings (kept as labelled disagreements with the grader — what calibration learns from) and
appeals that trainees raise on a finding.

Nothing here is ever deleted or changed in place except an appeal's decision fields; an override is undone by a
later override of the same target (``restore``), both logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from simulator.store.schema import Base, JsonType, clean_text, utcnow


class AuditEntry(Base):
    """One action on exams, by a person (or by the system: auto-submit, certificate issue, re-certification)."""

    __tablename__ = "exam_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)  # None = the system
    # schedule | cancel-window | start | auto-submit | graded | override | appeal | appeal-decided | regrade |
    # reopen | certificate-issued | certificate-revoked | recertification-scheduled
    action: Mapped[str] = mapped_column(String(32))
    exam_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    subject_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("exam_attempts.id"), nullable=True, index=True)
    window_id: Mapped[int | None] = mapped_column(ForeignKey("exam_windows.id"), nullable=True)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


class Override(Base):
    """An exam owner's correction of the grader on one finding (or a written answer), with a written reason."""

    __tablename__ = "exam_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("exam_attempts.id"), index=True)
    session_id: Mapped[str | None] = mapped_column(String(36), nullable=True)  # None: a written answer
    # A finding key (simulator.exam.verdict.finding_keys) or "question:<bank>/<id>".
    target: Mapped[str] = mapped_column(String(160))
    # dismiss (the finding is wrong: points back, red line lifted) | restore (undo a dismissal) |
    # accept / reject (a written answer is right / wrong whatever the checker said)
    action: Mapped[str] = mapped_column(String(16))
    dimension: Mapped[str | None] = mapped_column(String(16), nullable=True)
    criterion: Mapped[str] = mapped_column(String(120), default="")
    points: Mapped[float | None] = mapped_column(Float, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("exam_appeals.id"), nullable=True)
    grader_version: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # The finding as the grader reported it (message, evidence, source): the labelled example calibration reads.
    finding: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Appeal(Base):
    """A trainee disputes one finding (or a written answer); an exam owner upholds or rejects it, with a reason."""

    __tablename__ = "exam_appeals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("exam_attempts.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    session_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    target: Mapped[str] = mapped_column(String(160))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open | upheld | rejected
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decision: Mapped[str] = mapped_column(Text, default="")


def audit(
    s: Session,
    action: str,
    *,
    actor_id: int | None = None,
    exam_id: str | None = None,
    subject_user_id: int | None = None,
    attempt_id: int | None = None,
    window_id: int | None = None,
    certificate_id: int | None = None,
    reason: str = "",
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Append an entry to the audit log."""
    row = AuditEntry(
        at=at or utcnow(),
        actor_id=actor_id,
        action=action[:32],
        exam_id=exam_id,
        subject_user_id=subject_user_id,
        attempt_id=attempt_id,
        window_id=window_id,
        certificate_id=certificate_id,
        reason=clean_text(reason),
        detail=detail or {},
    )
    s.add(row)
    s.flush()
    return row


def audit_log(
    s: Session, *, attempt_id: int | None = None, action: str | None = None, limit: int = 500
) -> Sequence[AuditEntry]:
    """Audit entries, newest first."""
    q = select(AuditEntry)
    if attempt_id is not None:
        q = q.where(AuditEntry.attempt_id == attempt_id)
    if action is not None:
        q = q.where(AuditEntry.action == action)
    return s.scalars(q.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)).all()


def reopen_count(s: Session, user_id: int, exam_id: str) -> int:
    """How many extra attempts exam owners granted this trainee for this exam."""
    from sqlalchemy import func

    q = select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "reopen", AuditEntry.subject_user_id == user_id, AuditEntry.exam_id == exam_id
    )
    return s.scalar(q) or 0


def add_override(s: Session, **fields: Any) -> Override:
    """Record an override (see :class:`Override` for the fields)."""
    fields["reason"] = clean_text(fields["reason"])
    row = Override(**fields)
    s.add(row)
    s.flush()
    return row


def overrides_of(s: Session, attempt_id: int) -> Sequence[Override]:
    """An attempt's overrides, oldest first (the last one for a target is in force)."""
    return s.scalars(select(Override).where(Override.attempt_id == attempt_id).order_by(Override.id)).all()


def all_overrides(s: Session, *, limit: int = 10_000) -> Sequence[Override]:
    """Every override, oldest first (calibration's labelled examples)."""
    return s.scalars(select(Override).order_by(Override.id).limit(limit)).all()


def in_force(overrides: Sequence[Override]) -> dict[tuple[str | None, str], Override]:
    """The override in force for each (session, target): the latest."""
    out: dict[tuple[str | None, str], Override] = {}
    for o in overrides:
        out[(o.session_id, o.target)] = o
    return out


def add_appeal(
    s: Session, *, attempt_id: int, user_id: int, session_id: str | None, target: str, text: str, at: datetime
) -> Appeal:
    """A trainee's appeal."""
    row = Appeal(
        attempt_id=attempt_id,
        user_id=user_id,
        session_id=session_id,
        target=target,
        text=clean_text(text),
        status="open",
        created_at=at,
    )
    s.add(row)
    s.flush()
    return row


def appeals_of(s: Session, attempt_id: int) -> Sequence[Appeal]:
    """An attempt's appeals, oldest first."""
    return s.scalars(select(Appeal).where(Appeal.attempt_id == attempt_id).order_by(Appeal.id)).all()


def open_appeals(s: Session, *, limit: int = 200) -> Sequence[Appeal]:
    """Appeals waiting for a decision, oldest first."""
    return s.scalars(select(Appeal).where(Appeal.status == "open").order_by(Appeal.id).limit(limit)).all()


def get_appeal(s: Session, appeal_id: int, *, for_update: bool = False) -> Appeal | None:
    """The appeal with this id."""
    q = select(Appeal).where(Appeal.id == appeal_id)
    if for_update:
        q = q.with_for_update()
    return s.scalar(q)
