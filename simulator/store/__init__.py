"""Persistence (SQLAlchemy 2 + Alembic), one module per thing stored: users, groups, sessions with their
append-only turns, grades, assignments; for 质培联动 (revision 0005) imported real chats, analytics facts, jobs,
training plans, coaching notes, report reviews and the xAPI outbox; the database and its migrations."""

from simulator.store.assignments import Assignment
from simulator.store.coaching import CoachingNote
from simulator.store.database import Database, migrate, open_database
from simulator.store.facts import CriterionFact, FindingFact, ScoreFact
from simulator.store.grades import GradeRecord
from simulator.store.groups import Group, GroupMember
from simulator.store.imports import AgentAlias, ImportRecord, RealChat
from simulator.store.jobs import Job
from simulator.store.outbox import OutboxStatement
from simulator.store.plans import PlanMember, TrainingPlan
from simulator.store.reviews import FindingOverride, ReportComment
from simulator.store.schema import Base
from simulator.store.sessions import SessionRecord, TurnRecord
from simulator.store.users import User, UserRole

__all__ = [
    "AgentAlias",
    "Assignment",
    "Base",
    "CoachingNote",
    "CriterionFact",
    "Database",
    "FindingFact",
    "FindingOverride",
    "GradeRecord",
    "Group",
    "GroupMember",
    "ImportRecord",
    "Job",
    "OutboxStatement",
    "PlanMember",
    "RealChat",
    "ReportComment",
    "ScoreFact",
    "SessionRecord",
    "TrainingPlan",
    "TurnRecord",
    "User",
    "UserRole",
    "migrate",
    "open_database",
]
