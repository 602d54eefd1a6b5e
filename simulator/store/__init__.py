"""Persistence (SQLAlchemy 2 + Alembic), one module per thing stored: users, groups, sessions with their
append-only turns, grades, assignments, exams (windows, attempts, answers, events), their reviews (audit log,
overrides, appeals) and certificates; for 质培联动 imported real chats, analytics facts, jobs, training plans, coaching
notes, report reviews and the xAPI outbox; the database and its migrations."""

from simulator.store.assignments import Assignment
from simulator.store.certificates import Certificate
from simulator.store.coaching import CoachingNote
from simulator.store.database import Database, migrate, open_database
from simulator.store.exam_reviews import Appeal, AuditEntry, Override
from simulator.store.exams import ExamAnswer, ExamAttempt, ExamEvent, ExamWindow
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
    "Appeal",
    "Assignment",
    "AuditEntry",
    "Base",
    "Certificate",
    "CoachingNote",
    "CriterionFact",
    "Database",
    "ExamAnswer",
    "ExamAttempt",
    "ExamEvent",
    "ExamWindow",
    "FindingFact",
    "FindingOverride",
    "GradeRecord",
    "Group",
    "GroupMember",
    "ImportRecord",
    "Job",
    "OutboxStatement",
    "Override",
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
