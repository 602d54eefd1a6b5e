"""Who sees whose analytics, and the filters every analytics page shares.

* An **admin** sees everyone.
* A **trainer** sees the people of the groups they lead, plus the people who are in no group yet (a fresh
  install, or agents just imported and not yet put in a team) — never the members of another trainer's groups.
* A **trainee** sees only their own figures.

:class:`Filters` are what the dashboard's filter bar sends: a group, a shop, a period and which conversations
(practice, exam, real chats). :func:`people_in_scope` turns the viewer and the filters into the user ids a query
may read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from simulator.store.groups import Group, GroupMember
from simulator.store.users import User, UserRole

PERIODS = (7, 14, 30, 90, 365)
SOURCES = ("practice", "exam", "real")


@dataclass(frozen=True)
class Viewer:
    """Who is asking (the engine's view: an id and a role)."""

    id: int
    role: UserRole

    @property
    def is_admin(self) -> bool:
        """Sees everyone."""
        return self.role is UserRole.ADMIN

    @property
    def is_trainer(self) -> bool:
        """Trainer or admin."""
        return self.role in (UserRole.TRAINER, UserRole.ADMIN)


@dataclass(frozen=True)
class Filters:
    """The dashboard's filter bar."""

    group_id: int | None = None
    shop: str | None = None
    days: int = 30
    end: date | None = None  # default: today in the shop's time zone
    sources: tuple[str, ...] = SOURCES

    def period(self, tz: str) -> tuple[date, date]:
        """First and last day (inclusive) of the period."""
        last = self.end or today(tz)
        return last - timedelta(days=self.days - 1), last

    def with_days(self, days: int) -> Filters:
        """The same filters over another number of days."""
        return replace(self, days=days)


def today(tz: str) -> date:
    """Today's date in the shop's time zone."""
    return datetime.now(ZoneInfo(tz)).date()


def local_day(at: datetime, tz: str) -> date:
    """The shop's local date of a moment."""
    return at.astimezone(ZoneInfo(tz)).date()


def grouped_people(s: Session) -> set[int]:
    """Everyone who is in at least one group."""
    return set(s.scalars(select(GroupMember.user_id).distinct()))


def visible_groups(s: Session, viewer: Viewer) -> list[Group]:
    """The groups a viewer may filter by: all for an admin, their own for a trainer."""
    q = select(Group).order_by(Group.name)
    if not viewer.is_admin:
        q = q.where(Group.trainer_id == viewer.id)
    return list(s.scalars(q))


def people_in_scope(s: Session, viewer: Viewer, group_id: int | None = None) -> list[int]:
    """The user ids whose analytics ``viewer`` may read (narrowed to one group when given; a group the viewer may
    not see gives nobody)."""
    if not viewer.is_trainer:
        return [viewer.id]
    if group_id is not None:
        group = s.get(Group, group_id)
        if group is None or (not viewer.is_admin and group.trainer_id != viewer.id):
            return []
        return list(s.scalars(select(GroupMember.user_id).where(GroupMember.group_id == group_id)))
    if viewer.is_admin:
        return list(s.scalars(select(User.id).where(User.role == UserRole.TRAINEE.value)))
    own = set(
        s.scalars(
            select(GroupMember.user_id)
            .join(Group, Group.id == GroupMember.group_id)
            .where(Group.trainer_id == viewer.id)
        )
    )
    ungrouped = set(s.scalars(select(User.id).where(User.role == UserRole.TRAINEE.value))) - grouped_people(s)
    return sorted(own | ungrouped)


def may_see(s: Session, viewer: Viewer, user_id: int) -> bool:
    """May ``viewer`` read this person's reports and figures."""
    if viewer.id == user_id or viewer.is_admin:
        return True
    if not viewer.is_trainer:
        return False
    return user_id in set(people_in_scope(s, viewer))
