"""Groups of people: a new-hire cohort, a shop's team. Trainers own the groups they lead; exams are scheduled
for a group, analytics filter by it, and a trainer sees the people of their own groups (admins see all)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from simulator.errors import SimulatorError
from simulator.store.schema import Base, clean_text, utcnow
from simulator.store.users import User


class GroupError(SimulatorError):
    """A group that cannot be created or changed as asked (says which rule it breaks)."""


class Group(Base):
    """A named set of people led by a trainer."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    # "cohort" (a new-hire intake) or "team" (a standing team); free text for anything else a shop uses.
    kind: Mapped[str] = mapped_column(String(16), default="cohort")
    trainer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GroupMember(Base):
    """One person in one group (a person may be in several)."""

    __tablename__ = "group_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("group_id", "user_id", name="uq_group_members_group_user"),)


def create_group(s: Session, name: str, *, trainer_id: int | None = None, kind: str = "cohort") -> Group:
    """A new group; raises :class:`GroupError` for an empty or taken name."""
    clean = clean_text(name).strip()[:80]
    if not clean:
        raise GroupError("a group needs a name — e.g. 2026-12 新人班")
    if s.scalar(select(Group.id).where(Group.name == clean)) is not None:
        raise GroupError(f"a group named '{clean}' exists already — pick another name or add people to it")
    group = Group(name=clean, kind=clean_text(kind).strip()[:16] or "cohort", trainer_id=trainer_id)
    s.add(group)
    s.flush()
    return group


def add_members(s: Session, group_id: int, user_ids: Sequence[int]) -> int:
    """Add people to a group (those already in it are skipped); returns how many were added."""
    present = set(s.scalars(select(GroupMember.user_id).where(GroupMember.group_id == group_id)))
    added = 0
    for uid in dict.fromkeys(user_ids):
        if uid not in present:
            s.add(GroupMember(group_id=group_id, user_id=uid))
            added += 1
    s.flush()
    return added


def members(s: Session, group_id: int) -> Sequence[User]:
    """The people of a group, by user name."""
    q = select(User).join(GroupMember, GroupMember.user_id == User.id).where(GroupMember.group_id == group_id)
    return s.scalars(q.order_by(User.username)).all()


def groups_led_by(s: Session, trainer_id: int) -> Sequence[Group]:
    """The groups a trainer leads, by name."""
    return s.scalars(select(Group).where(Group.trainer_id == trainer_id).order_by(Group.name)).all()


def list_groups(s: Session) -> Sequence[Group]:
    """Every group, by name."""
    return s.scalars(select(Group).order_by(Group.name)).all()
