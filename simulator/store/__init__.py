"""Persistence (SQLAlchemy 2 + Alembic), one module per thing stored: users, groups, sessions with their
append-only turns, grades, assignments, exams (windows, attempts, answers, events), their reviews (audit log,
overrides, appeals) and certificates; the database and its migrations."""

from simulator.store.assignments import Assignment
from simulator.store.certificates import Certificate
from simulator.store.database import Database, migrate, open_database
from simulator.store.exam_reviews import Appeal, AuditEntry, Override
from simulator.store.exams import ExamAnswer, ExamAttempt, ExamEvent, ExamWindow
from simulator.store.grades import GradeRecord
from simulator.store.groups import Group, GroupMember
from simulator.store.schema import Base
from simulator.store.sessions import SessionRecord, TurnRecord
from simulator.store.users import User, UserRole

__all__ = [
    "Appeal",
    "Assignment",
    "AuditEntry",
    "Base",
    "Certificate",
    "Database",
    "ExamAnswer",
    "ExamAttempt",
    "ExamEvent",
    "ExamWindow",
    "GradeRecord",
    "Group",
    "GroupMember",
    "Override",
    "SessionRecord",
    "TurnRecord",
    "User",
    "UserRole",
    "migrate",
    "open_database",
]
