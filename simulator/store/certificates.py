"""Certificates earned by passing an exam: the verification code anyone can check, expiry and revocation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from simulator.store.schema import Base, utcnow


class Certificate(Base):
    """Proof that a trainee passed an exam; what it says is copied at issue so it never changes afterwards."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    exam_id: Mapped[str] = mapped_column(String(80), index=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("exam_attempts.id"), unique=True)
    holder: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(120))
    shop: Mapped[str] = mapped_column(String(80), default="")
    locale: Mapped[str] = mapped_column(String(8), default="zh-CN")
    overall: Mapped[float | None] = mapped_column(Float, nullable=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    revoke_reason: Mapped[str] = mapped_column(Text, default="")
    # The re-certification window scheduled before it lapses (None until then).
    renewal_window_id: Mapped[int | None] = mapped_column(ForeignKey("exam_windows.id"), nullable=True)


def by_code(s: Session, code: str) -> Certificate | None:
    """The certificate with this verification code."""
    return s.scalar(select(Certificate).where(Certificate.code == code))


def of_attempt(s: Session, attempt_id: int) -> Certificate | None:
    """The certificate an attempt earned."""
    return s.scalar(select(Certificate).where(Certificate.attempt_id == attempt_id))


def of_user(s: Session, user_id: int) -> Sequence[Certificate]:
    """A person's certificates, newest first."""
    return s.scalars(
        select(Certificate).where(Certificate.user_id == user_id).order_by(Certificate.issued_at.desc())
    ).all()


def list_certificates(s: Session, *, limit: int = 500) -> Sequence[Certificate]:
    """Every certificate, newest first."""
    return s.scalars(select(Certificate).order_by(Certificate.issued_at.desc()).limit(limit)).all()


def due_for_renewal(s: Session, before: datetime) -> Sequence[Certificate]:
    """Unrevoked certificates expiring before ``before`` with no re-certification scheduled yet."""
    q = select(Certificate).where(
        Certificate.revoked_at.is_(None), Certificate.renewal_window_id.is_(None), Certificate.expires_at <= before
    )
    return s.scalars(q.order_by(Certificate.expires_at)).all()
