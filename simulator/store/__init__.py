"""Persistence: users, assignments, sessions with append-only turns, and grades (SQLAlchemy 2 + Alembic)."""

from simulator.store.database import Database, migrate, open_database
from simulator.store.models import (
    Assignment,
    Grade,
    PracticeSession,
    Role,
    SessionKind,
    SessionStatus,
    Turn,
    TurnKind,
    TurnRole,
    User,
)

__all__ = [
    "Assignment",
    "Database",
    "Grade",
    "PracticeSession",
    "Role",
    "SessionKind",
    "SessionStatus",
    "Turn",
    "TurnKind",
    "TurnRole",
    "User",
    "migrate",
    "open_database",
]
