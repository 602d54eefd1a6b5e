"""Persistence (SQLAlchemy 2 + Alembic), one module per thing stored: users, groups, sessions with their
append-only turns, grades, assignments; the database and its migrations."""

from simulator.store.assignments import Assignment
from simulator.store.database import Database, migrate, open_database
from simulator.store.grades import GradeRecord
from simulator.store.groups import Group, GroupMember
from simulator.store.schema import Base
from simulator.store.sessions import SessionRecord, TurnRecord
from simulator.store.users import User, UserRole

__all__ = [
    "Assignment",
    "Base",
    "Database",
    "GradeRecord",
    "Group",
    "GroupMember",
    "SessionRecord",
    "TurnRecord",
    "User",
    "UserRole",
    "migrate",
    "open_database",
]
