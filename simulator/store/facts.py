"""Analytics facts: what dashboards read, so no page ever parses a grade's JSON.

One :class:`ScoreFact` per graded conversation (practice, exam or imported real chat) with its scores and KPIs,
one :class:`CriterionFact` per criterion the grader scored in it, and one :class:`FindingFact` per finding that
lost points (and per red line crossed). Each row carries who (``user_id``), where (``shop``), what kind of
conversation (``source``) and when (``day``, the shop's local date) so the figures filter without joins.

The rows of a conversation are replaced as a whole (:func:`replace_facts`) whenever its grade is stored or a
trainer's review changes it; :mod:`simulator.analytics.attempts` builds them from the typed
:class:`~simulator.grading.result.Grade`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from simulator.store.schema import Base


class ScoreFact(Base):
    """One graded conversation: scores and KPIs."""

    __tablename__ = "score_facts"

    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # practice | exam | real
    source: Mapped[str] = mapped_column(String(16))
    shop: Mapped[str] = mapped_column(String(80), default="")
    scenario_id: Mapped[str] = mapped_column(String(80), default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    day: Mapped[date] = mapped_column(Date)
    overall: Mapped[float | None] = mapped_column(Float, nullable=True)
    service: Mapped[float | None] = mapped_column(Float, nullable=True)
    technique: Mapped[float | None] = mapped_column(Float, nullable=True)
    knowledge: Mapped[float | None] = mapped_column(Float, nullable=True)
    process: Mapped[float | None] = mapped_column(Float, nullable=True)
    passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    red_line: Mapped[bool] = mapped_column(Boolean, default=False)
    first_response_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    mean_response_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    reply_ratio: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Pre-sales conversations only: did the buyer pay (None = not a sale, or not known)
    converted: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # 0–1: the buyer's rating (real chats) or final mood (practice); None = not known
    satisfaction: Mapped[float | None] = mapped_column(Float, nullable=True)
    findings: Mapped[int] = mapped_column(Integer, default=0)
    points_lost: Mapped[float] = mapped_column(Float, default=0.0)
    # True once a trainer's review (finding overrides) changed this conversation's figures
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        Index("ix_score_facts_day_user", "day", "user_id"),
        Index("ix_score_facts_user_day", "user_id", "day"),
    )


class CriterionFact(Base):
    """One scored criterion of one graded conversation (unscored criteria have no row: they are no evidence)."""

    __tablename__ = "criterion_facts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    user_id: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))
    shop: Mapped[str] = mapped_column(String(80), default="")
    day: Mapped[date] = mapped_column(Date)
    criterion: Mapped[str] = mapped_column(String(80))
    dimension: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(120), default="")
    points: Mapped[float] = mapped_column(Float)
    earned: Mapped[float] = mapped_column(Float)
    # Lost points on it (partial or failed)
    lost: Mapped[bool] = mapped_column(Boolean)

    # Covering indexes for the dashboard's counts (lost per agent and criterion): a day range over everyone, a day
    # range over a team, one criterion of some people (improvement, 多发) — each answered from the index alone.
    __table_args__ = (
        Index("ix_criterion_facts_day_user", "day", "user_id", "criterion", "source", "lost"),
        Index("ix_criterion_facts_user_day", "user_id", "day", "criterion", "source", "lost"),
        Index("ix_criterion_facts_user_criterion", "user_id", "criterion", "day", "source", "lost"),
    )


class FindingFact(Base):
    """One finding that lost points, or one red line crossed (``red_line`` = its id)."""

    __tablename__ = "finding_facts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    user_id: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))
    shop: Mapped[str] = mapped_column(String(80), default="")
    day: Mapped[date] = mapped_column(Date)
    criterion: Mapped[str] = mapped_column(String(80))
    dimension: Mapped[str] = mapped_column(String(16))
    points: Mapped[float] = mapped_column(Float)
    red_line: Mapped[str | None] = mapped_column(String(80), nullable=True)
    turn: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message: Mapped[str] = mapped_column(String(300), default="")

    __table_args__ = (Index("ix_finding_facts_day_user", "day", "user_id"),)


class CriterionInfo(Base):
    """What a criterion id is called and which dimension it belongs to (one row per id the grader has used), so a
    page names criteria without scanning the facts."""

    __tablename__ = "criteria"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(120), default="")


_KNOWN: dict[tuple[str, str], tuple[str, str]] = {}  # (database, criterion id) → (dimension, title)


def remember_criteria(s: Session, rows: Sequence[CriterionFact]) -> None:
    """Record criterion ids not seen before (their dimension and the grader's title)."""
    bind = s.get_bind()
    db = str(bind.engine.url)  # an Engine is its own .engine; a Connection has one
    fresh = {
        r.criterion: (r.dimension, r.title) for r in rows if _KNOWN.get((db, r.criterion)) != (r.dimension, r.title)
    }
    if not fresh:
        return
    have = {c.id: c for c in s.scalars(select(CriterionInfo).where(CriterionInfo.id.in_(list(fresh))))}
    for cid, (dim, title) in fresh.items():
        row = have.get(cid)
        if row is None:
            s.add(CriterionInfo(id=cid, dimension=dim, title=title))
        elif (row.dimension, row.title) != (dim, title):
            row.dimension, row.title = dim, title
    s.flush()
    # Only after the flush: a rolled-back transaction forgets nothing it did not store (the next one retries).
    _KNOWN.update({(db, cid): v for cid, v in fresh.items()})


def criterion_info(s: Session, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """criterion id → (dimension, title)."""
    if not ids:
        return {}
    q = select(CriterionInfo.id, CriterionInfo.dimension, CriterionInfo.title).where(CriterionInfo.id.in_(list(ids)))
    return {c: (d, t or c) for c, d, t in s.execute(q).all()}


def replace_facts(
    s: Session,
    session_id: str,
    score: ScoreFact,
    criteria: Sequence[CriterionFact],
    findings: Sequence[FindingFact],
) -> None:
    """Replace every fact row of one conversation (its grade was stored, or a review changed it)."""
    delete_facts(s, [session_id])
    remember_criteria(s, criteria)
    s.add(score)
    s.add_all(criteria)
    s.add_all(findings)
    s.flush()


def delete_facts(s: Session, session_ids: Sequence[str]) -> None:
    """Remove the fact rows of these conversations."""
    ids = list(session_ids)
    for table in (FindingFact, CriterionFact, ScoreFact):
        s.execute(delete(table).where(table.session_id.in_(ids)))
