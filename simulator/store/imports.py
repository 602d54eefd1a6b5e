"""Imported real chats: the import batches, each imported conversation's origin, and the agent names in the logs
mapped to accounts.

An imported conversation is stored like any other — a ``sessions`` row of kind ``real`` owned by the agent's
account, its messages as append-only ``turns`` — so the report card, grades and analytics treat it like a practice
attempt. :class:`RealChat` keeps where it came from: the import, the shop, the id it had in the shop's system
(re-importing the same file skips what is there) and the agent's name as the log wrote it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from simulator.store.schema import Base, clean_text, utcnow
from simulator.store.users import User


class ImportRecord(Base):
    """One import: a set of files brought in together."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    files: Mapped[str] = mapped_column(String(500), default="")
    format: Mapped[str] = mapped_column(String(16))
    shop: Mapped[str] = mapped_column(String(80), default="")
    conversations: Mapped[int] = mapped_column(Integer, default=0)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    # Already imported before (same shop and conversation id), or nothing to grade (no agent or buyer message)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    # The first and last message time of the chats it brought in
    first_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RealChat(Base):
    """Where an imported conversation came from."""

    __tablename__ = "real_chats"

    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id"), index=True)
    shop: Mapped[str] = mapped_column(String(80), default="")
    external_id: Mapped[str] = mapped_column(String(200))
    agent_alias: Mapped[str] = mapped_column(String(80))
    # The buyer's rating from the shop's system, 0–1 (None = not in the file)
    satisfaction: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (UniqueConstraint("shop", "external_id", name="uq_real_chats_shop_external"),)


class AgentAlias(Base):
    """An agent's name as the shop's logs write it (e.g. ``青禾旗舰店:小满``), mapped to an account."""

    __tablename__ = "agent_aliases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alias: Mapped[str] = mapped_column(String(80), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def alias_map(s: Session) -> dict[str, int]:
    """Every known alias → user id."""
    return {a: u for a, u in s.execute(select(AgentAlias.alias, AgentAlias.user_id)).all()}


def set_alias(s: Session, alias: str, user_id: int) -> AgentAlias:
    """Map ``alias`` to the account (replacing an earlier mapping)."""
    clean = clean_text(alias).strip()[:80]
    row = s.scalar(select(AgentAlias).where(AgentAlias.alias == clean))
    if row is None:
        row = AgentAlias(alias=clean, user_id=user_id)
        s.add(row)
    else:
        row.user_id = user_id
    s.flush()
    return row


def list_aliases(s: Session) -> list[tuple[AgentAlias, User]]:
    """Every alias with its account, by alias."""
    q = select(AgentAlias, User).join(User, User.id == AgentAlias.user_id).order_by(AgentAlias.alias)
    return [(a, u) for a, u in s.execute(q).all()]


def existing_external_ids(s: Session, shop: str, ids: Iterable[str]) -> set[str]:
    """Which of these conversation ids this shop has imported before."""
    wanted = list(dict.fromkeys(ids))
    found: set[str] = set()
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        q = select(RealChat.external_id).where(RealChat.shop == shop, RealChat.external_id.in_(chunk))
        found.update(s.scalars(q))
    return found


def list_imports(s: Session, limit: int = 50) -> Sequence[ImportRecord]:
    """The latest imports first."""
    return s.scalars(select(ImportRecord).order_by(ImportRecord.id.desc()).limit(limit)).all()


def import_sessions(s: Session, import_id: int) -> list[str]:
    """The conversation ids an import brought in, in the order they were stored."""
    q = select(RealChat.session_id).where(RealChat.import_id == import_id).order_by(RealChat.session_id)
    return list(s.scalars(q))
