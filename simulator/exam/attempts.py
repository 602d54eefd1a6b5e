"""Sitting an exam: windows, eligibility (cap, cool-down, practice plan), attempts with per-part timers, written
answers, role-plays played through the engine, auto-submit at the deadline, grading and the verdict.

The rules the pages rely on:

* **The server's clock decides.** Each part's deadline is an absolute time stored with the attempt (its start +
  its minutes, cut at the window's close). Anything that arrives after it is refused (:class:`ExamClosed`), and
  the part is closed — by the next request that touches the attempt, or by :meth:`ExamService.sweep`, which the
  web app runs every few seconds — so a reload or a restart changes nothing.
* **Acknowledged means stored.** An answer is committed before its save is acknowledged; a role-play reply goes
  through :meth:`~simulator.engine.Engine.submit`, which commits it first.
* **One tab answers.** The exam page claims the attempt with a per-tab id; a request from another tab is refused
  (:class:`TabConflict`) and recorded, so two tabs can never both answer.
* **Nothing goes unscored.** A role-play cut off by the deadline is ended as ``timed-out`` and graded as it stands;
  one never reached is opened and ended at once, and scores 0 (the trainee never answered that buyer).
* **Frozen.** The exam definition, the drawn questions, every scenario and its drawn variant are stored with the
  attempt when it starts; grading and re-grading use those, whatever the files say later.
"""

from __future__ import annotations

import logging
import random
import secrets
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from simulator.errors import NotFound, SimulatorError
from simulator.exam.catalogue import ExamCatalogue, pool_candidates
from simulator.exam.certificates import new_code
from simulator.exam.definition import ExamDefinition, ExamPart, PartKind
from simulator.exam.plan import PlanItem, build_plan, plan_done
from simulator.exam.questions import (
    AnswerResult,
    DrawnQuestion,
    Question,
    QuestionBank,
    QuestionKind,
    ShortAnswerChecker,
    draw_questions,
    grade_answer,
    normalise_answer,
    written_score,
)
from simulator.exam.variants import Variant, draw_variant
from simulator.exam.verdict import RolePlayOutcome, Verdict, VerdictStatus, WrittenOutcome, apply_overrides, decide
from simulator.session import SessionKind, as_utc
from simulator.store import certificates as cert_store
from simulator.store import exam_reviews as reviews
from simulator.store import exams as store
from simulator.store.groups import GroupMember
from simulator.store.users import get_user

if TYPE_CHECKING:
    from simulator.engine import Engine
    from simulator.grading.result import Grade
    from simulator.scenario.model import Scenario

log = logging.getLogger("simulator.exam")

IN_PROGRESS = "in-progress"
SUBMITTED = "submitted"
GRADED = "graded"
CLIENT_EVENTS = {"paste", "away", "back"}
MAX_EVENTS = 2000


class ExamError(SimulatorError):
    """Something about an exam a person asked for that cannot be done (says why)."""


class ExamClosed(ExamError):
    """The part's time is up (or the attempt is over): nothing more is accepted."""


class TabConflict(ExamError):
    """The exam is open in another tab or window; only the latest one answers."""


class NotEligible(ExamError):
    """The trainee may not start an attempt now; ``code`` says why (for the page), ``until`` when they may."""

    def __init__(self, code: str, message: str, until: datetime | None = None):
        super().__init__(message)
        self.code = code
        self.until = until


# ---------------------------------------------------------------------------------------------------------
# Views


@dataclass
class PartState:
    """One part of an attempt: its timing and, for role-plays, its conversations."""

    id: str
    kind: str
    started_at: datetime | None
    deadline: datetime | None
    submitted_at: datetime | None
    reason: str | None
    sessions: list[str] = field(default_factory=list)

    @property
    def open(self) -> bool:
        """Started and not yet submitted."""
        return self.started_at is not None and self.submitted_at is None

    def remaining(self, now: datetime) -> float:
        """Seconds left (0 when over or not started)."""
        if self.deadline is None or self.submitted_at is not None:
            return 0.0
        return max(0.0, (self.deadline - now).total_seconds())

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the attempt's ``parts`` column)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "started_at": _iso(self.started_at),
            "deadline": _iso(self.deadline),
            "submitted_at": _iso(self.submitted_at),
            "reason": self.reason,
            "sessions": list(self.sessions),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PartState:
        """The inverse of :meth:`to_dict`."""
        return cls(
            str(data["id"]),
            str(data["kind"]),
            _parse(data.get("started_at")),
            _parse(data.get("deadline")),
            _parse(data.get("submitted_at")),
            data.get("reason"),
            list(data.get("sessions") or []),
        )


@dataclass
class Frozen:
    """What an attempt was taken on, read back from its ``frozen`` column."""

    exam: ExamDefinition
    questions: dict[str, list[DrawnQuestion]]  # part id → drawn questions
    bank_questions: dict[str, tuple[QuestionBank, Question]]  # bank/question → (bank header, question)
    roleplays: dict[str, list[dict[str, Any]]]  # part id → [{scenario, digest, variant}]
    scenarios: dict[str, dict[str, Any]]  # scenario id → {digest, path, scenario}
    window_closes_at: datetime

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Frozen:
        """The attempt's frozen content."""
        banks: dict[str, QuestionBank] = {}
        bq: dict[str, tuple[QuestionBank, Question]] = {}
        for key, entry in (data.get("bank_questions") or {}).items():
            head = entry["bank"]
            q = Question.model_validate(entry["question"])
            if head["id"] not in banks:
                banks[head["id"]] = QuestionBank.model_validate({**head, "questions": [entry["question"]]})
            bq[key] = (banks[head["id"]], q)
        return cls(
            exam=ExamDefinition.model_validate(data["exam"]),
            questions={p: [DrawnQuestion.from_dict(d) for d in qs] for p, qs in (data.get("questions") or {}).items()},
            bank_questions=bq,
            roleplays={p: list(v) for p, v in (data.get("roleplays") or {}).items()},
            scenarios=dict(data.get("scenarios") or {}),
            window_closes_at=_parse(data["window_closes_at"]) or datetime.min,
        )

    def scenario(self, scenario_id: str) -> Scenario:
        """A role-play's scenario as it was when the attempt started."""
        from simulator.scenario.model import Scenario

        return Scenario.model_validate(self.scenarios[scenario_id]["scenario"])


@dataclass
class AttemptView:
    """An attempt with everything the exam page, the result page and the review page read."""

    row: store.ExamAttempt
    frozen: Frozen
    parts: list[PartState]
    window: store.ExamWindow
    now: datetime

    @property
    def exam(self) -> ExamDefinition:
        """The exam definition it was taken on."""
        return self.frozen.exam

    @property
    def current(self) -> PartState | None:
        """The part being taken (or waiting to be started); None when every part is closed."""
        i = self.row.part_index
        return self.parts[i] if self.row.in_progress and i < len(self.parts) else None

    def definition_of(self, part: PartState) -> ExamPart:
        """The exam's definition of a part."""
        return self.exam.part(part.id)

    @property
    def window_closed(self) -> bool:
        """Results (report cards, right answers, model answers) are shown once the window has closed."""
        return self.now >= as_utc(self.window.closes_at)

    @property
    def verdict(self) -> Verdict | None:
        """The decided verdict, once graded."""
        return Verdict.from_dict(self.row.verdict) if self.row.verdict else None

    @property
    def plan(self) -> list[PlanItem]:
        """The practice plan after a failed attempt."""
        return [PlanItem.from_dict(i) for i in (self.row.plan or {}).get("items", [])]


@dataclass
class Eligibility:
    """Whether a trainee may start (or resume) an attempt in a window now, and if not, why and until when."""

    window: store.ExamWindow
    exam: ExamDefinition | None
    code: str  # ok | resume | not-open | closed | exam-unavailable | cap | cooldown | plan | certified
    attempts_used: int
    attempts_allowed: int
    until: datetime | None = None
    resume_id: int | None = None
    plan: list[PlanItem] = field(default_factory=list)
    plan_done: list[bool] = field(default_factory=list)
    last: store.ExamAttempt | None = None

    @property
    def can_start(self) -> bool:
        """A new attempt may be started, or the one in progress resumed."""
        return self.code in ("ok", "resume")


# ---------------------------------------------------------------------------------------------------------
# The service


class ExamService:
    """Exams on top of the engine: the flow of an attempt for the trainee, the clock, grading and verdicts.

    Args:
        engine: The engine (its store, scenarios, customers and grader).
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        self._locks: dict[int, threading.RLock] = {}
        self._guard = threading.Lock()

    @cached_property
    def catalogue(self) -> ExamCatalogue:
        """Every exam and question bank (reloaded on change)."""
        return ExamCatalogue(self.engine.settings, self.engine.scenarios)

    def now(self) -> datetime:
        """The server's clock (UTC)."""
        return as_utc(self.engine.clock())

    @cached_property
    def checker(self) -> ShortAnswerChecker:
        """Grades short answers with the grader's knowledge checker."""
        from simulator.grading.lexicon import lexicon_for

        rules = self.engine.settings.rules_dir
        return ShortAnswerChecker(
            self.engine.detector(),
            self.engine.embedder(),
            {"zh-CN": lexicon_for(rules, "zh-CN"), "en": lexicon_for(rules, "en")},
        )

    def _lock(self, attempt_id: int) -> threading.RLock:
        # Re-entrant: starting a role-play part opens its first conversation under the same lock.
        with self._guard:
            if len(self._locks) > 10_000:
                self._locks = {}
            return self._locks.setdefault(attempt_id, threading.RLock())

    # -- windows ---------------------------------------------------------------------------------------------

    def schedule(
        self,
        actor_id: int | None,
        exam_id: str,
        *,
        opens_at: datetime,
        closes_at: datetime,
        user_id: int | None = None,
        group_id: int | None = None,
        note: str = "",
        kind: str = "scheduled",
    ) -> int:
        """Schedule a window for one trainee or one group (logged); returns its id."""
        self.catalogue.get(exam_id)  # NotFound for an unusable exam
        if (user_id is None) == (group_id is None):
            raise ExamError("schedule the exam for one trainee or one group")
        opens_at, closes_at = as_utc(opens_at), as_utc(closes_at)
        if closes_at <= opens_at:
            raise ExamError("the window must close after it opens")
        if closes_at <= self.now():
            raise ExamError("the window would already be closed — choose a later closing time")
        with self.engine.store.write() as s:
            if user_id is not None and get_user(s, user_id) is None:
                raise NotFound("no such trainee")
            row = store.create_window(
                s,
                exam_id=exam_id,
                opens_at=opens_at,
                closes_at=closes_at,
                user_id=user_id,
                group_id=group_id,
                created_by=actor_id,
                kind=kind,
                note=note[:500],
            )
            reviews.audit(
                s,
                "schedule",
                actor_id=actor_id,
                exam_id=exam_id,
                subject_user_id=user_id,
                window_id=row.id,
                reason=note[:500],
                detail={"group_id": group_id, "opens_at": _iso(opens_at), "closes_at": _iso(closes_at), "kind": kind},
                at=self.now(),
            )
            return row.id

    def cancel_window(self, actor_id: int, window_id: int, reason: str) -> None:
        """Cancel a window (attempts already started keep their own deadlines); logged."""
        with self.engine.store.write() as s:
            w = store.get_window(s, window_id)
            if w is None:
                raise NotFound("no such window")
            w.cancelled_at = self.now()
            reviews.audit(
                s, "cancel-window", actor_id=actor_id, exam_id=w.exam_id, window_id=w.id, reason=reason, at=self.now()
            )

    def in_window(self, s: Any, window: store.ExamWindow, user_id: int) -> bool:
        """Whether ``user_id`` is one of the window's trainees."""
        if window.user_id is not None:
            return window.user_id == user_id
        from sqlalchemy import select

        q = select(GroupMember.id).where(GroupMember.group_id == window.group_id, GroupMember.user_id == user_id)
        return s.scalar(q) is not None

    def windows_for(self, user_id: int) -> list[Eligibility]:
        """The trainee's windows (open, upcoming and recently closed), each with whether they may start now."""
        now = self.now()
        with self.engine.store.read() as s:
            windows = [w for w in store.windows_for_user(s, user_id) if as_utc(w.closes_at) > now - timedelta(days=30)]
            return [self._eligibility(s, w, user_id, now) for w in windows]

    def eligibility(self, user_id: int, window_id: int) -> Eligibility:
        """Whether the trainee may start an attempt in this window now."""
        with self.engine.store.read() as s:
            w = store.get_window(s, window_id)
            if w is None or w.cancelled_at is not None or not self.in_window(s, w, user_id):
                raise NotFound("no such exam window")
            return self._eligibility(s, w, user_id, self.now())

    def _eligibility(self, s: Any, w: store.ExamWindow, user_id: int, now: datetime) -> Eligibility:
        try:
            exam: ExamDefinition | None = self.catalogue.get(w.exam_id).exam
        except NotFound:
            exam = None
        attempts = list(store.attempts_of(s, user_id, w.exam_id))
        certs = [c for c in cert_store.of_user(s, user_id) if c.exam_id == w.exam_id]
        cycle_start = max((as_utc(c.issued_at) for c in certs), default=None)
        cycle = [a for a in attempts if cycle_start is None or as_utc(a.started_at) > cycle_start]
        allowed = (exam.attempts.max if exam else 0) + reviews.reopen_count(s, user_id, w.exam_id)
        e = Eligibility(w, exam, "ok", len(cycle), allowed, last=cycle[-1] if cycle else None)
        running = next((a for a in attempts if a.status == IN_PROGRESS), None)
        if running is not None:
            e.code, e.resume_id = "resume", running.id
            return e
        if now < as_utc(w.opens_at):
            e.code, e.until = "not-open", as_utc(w.opens_at)
            return e
        if now >= as_utc(w.closes_at):
            e.code = "closed"
            return e
        if exam is None:
            e.code = "exam-unavailable"
            return e
        valid = [c for c in certs if c.revoked_at is None and as_utc(c.expires_at) > now]
        if valid and w.kind != "recertification":
            e.code = "certified"
            return e
        if len(cycle) >= allowed:
            e.code = "cap"
            return e
        last = e.last
        if last is not None and last.result == VerdictStatus.FAILED.value:
            decided = as_utc(last.graded_at or last.submitted_at or last.started_at)
            until = decided + timedelta(hours=exam.attempts.cooldown_hours)
            if now < until:
                e.code, e.until = "cooldown", until
            if exam.attempts.practice_before_retry:
                items = [PlanItem.from_dict(i) for i in (last.plan or {}).get("items", [])]
                done = plan_done(items, self._practised(s, user_id), decided)
                e.plan, e.plan_done = items, done
                if not all(done) and e.code == "ok":
                    e.code = "plan"
        elif last is not None and last.status == SUBMITTED:
            e.code = "cooldown"  # the last attempt is still being graded
        return e

    def _practised(self, s: Any, user_id: int) -> dict[str, datetime]:
        """Scenario id → when the trainee last finished (not abandoned) a practice conversation of it."""
        from sqlalchemy import func, select

        from simulator.store.sessions import SessionRecord

        q = (
            select(SessionRecord.scenario_id, func.max(SessionRecord.ended_at))
            .where(
                SessionRecord.user_id == user_id,
                SessionRecord.kind == SessionKind.PRACTICE.value,
                SessionRecord.status == "finished",
            )
            .group_by(SessionRecord.scenario_id)
        )
        return {sid: as_utc(at) for sid, at in s.execute(q).all() if at is not None}

    # -- starting --------------------------------------------------------------------------------------------

    def start(self, user_id: int, window_id: int) -> int:
        """Start an attempt (or return the one in progress): draw the questions and role-play variants with a new
        seed and freeze everything. The first part's timer starts with :meth:`start_part`, when the trainee has
        read its instructions. Returns the attempt id.

        Raises:
            NotEligible: the trainee may not start now (says why).
        """
        e = self.eligibility(user_id, window_id)
        if e.code == "resume" and e.resume_id is not None:
            return e.resume_id
        if not e.can_start or e.exam is None:
            raise NotEligible(e.code, f"you cannot start this exam now ({e.code})", e.until)
        loaded = self.catalogue.get(e.window.exam_id)
        exam = loaded.exam
        seed = secrets.randbelow(2**31)
        now = self.now()
        frozen = self._freeze(exam, seed, now, as_utc(e.window.closes_at))
        frozen["exam_path"] = loaded.path
        parts = [PartState(p.id, p.kind.value, None, None, None, None) for p in exam.parts]
        with self.engine.store.write() as s:
            w = store.get_window(s, window_id)
            assert w is not None
            # Two clicks at once: the second finds the first's attempt (the number is unique per trainee and exam).
            running = next((a for a in store.attempts_of(s, user_id, exam.id) if a.status == IN_PROGRESS), None)
            if running is not None:
                return running.id
            number = len(store.attempts_of(s, user_id, exam.id)) + 1
            row = store.ExamAttempt(
                user_id=user_id,
                exam_id=exam.id,
                window_id=window_id,
                number=number,
                status=IN_PROGRESS,
                seed=seed,
                exam_digest=loaded.digest,
                frozen=frozen,
                parts=[p.to_dict() for p in parts],
                part_index=0,
                started_at=now,
                updated_at=now,
            )
            s.add(row)
            s.flush()
            reviews.audit(
                s,
                "start",
                actor_id=user_id,
                exam_id=exam.id,
                subject_user_id=user_id,
                attempt_id=row.id,
                window_id=window_id,
                detail={"number": number, "seed": seed},
                at=now,
            )
            return row.id

    def _freeze(self, exam: ExamDefinition, seed: int, now: datetime, closes_at: datetime) -> dict[str, Any]:
        """Draw and copy everything the attempt needs into one JSON document."""
        rng = random.Random(f"exam:{seed}")
        questions: dict[str, list[dict[str, Any]]] = {}
        bank_questions: dict[str, dict[str, Any]] = {}
        roleplays: dict[str, list[dict[str, Any]]] = {}
        scenarios: dict[str, dict[str, Any]] = {}
        entries = {e.scenario.id: e for e in self.engine.scenarios.entries()}
        for part in exam.parts:
            if part.kind is PartKind.WRITTEN:
                assert part.draw is not None
                banks = {b: self.catalogue.bank(b).bank for b in part.draw.banks}
                drawn = draw_questions(banks, part.draw, rng.randrange(2**31))
                questions[part.id] = [d.to_dict() for d in drawn]
                for d in drawn:
                    bank = banks[d.bank]
                    bank_questions[d.key] = {
                        "bank": {"id": bank.id, "title": bank.title, "locale": bank.locale.value, "shop": bank.shop},
                        "question": bank.question(d.id).model_dump(mode="json"),
                    }
                continue
            if part.pool is not None:
                candidates = pool_candidates(
                    exam, part.pool, {k: e.scenario for k, e in entries.items()}, part.edge_cases
                )
                ids = rng.sample(candidates, part.pool.count)
            else:
                ids = list(part.scenarios)
            plays = []
            for sid in ids:
                entry = self.engine.scenarios.get(sid)
                variant = draw_variant(entry.scenario, rng.randrange(2**31), day=now.date(), edge_cases=part.edge_cases)
                plays.append({"scenario": sid, "digest": entry.digest, "variant": variant.to_dict()})
                scenarios[sid] = {
                    "digest": entry.digest,
                    "path": entry.path,
                    "scenario": entry.scenario.model_dump(mode="json"),
                }
            roleplays[part.id] = plays
        return {
            "exam": exam.model_dump(mode="json"),
            "questions": questions,
            "bank_questions": bank_questions,
            "roleplays": roleplays,
            "scenarios": scenarios,
            "window_closes_at": _iso(closes_at),
        }

    # -- reading ---------------------------------------------------------------------------------------------

    def view(self, attempt_id: int, *, enforce: bool = True) -> AttemptView:
        """The attempt, after closing any part whose deadline has passed (unless ``enforce`` is False)."""
        if enforce:
            self.enforce_deadline(attempt_id)
        with self.engine.store.read() as s:
            row = store.get_attempt(s, attempt_id)
            if row is None:
                raise NotFound("no such exam attempt")
            w = store.get_window(s, row.window_id)
            assert w is not None
        return AttemptView(
            row, Frozen.from_dict(row.frozen), [PartState.from_dict(p) for p in row.parts], w, self.now()
        )

    def own(self, attempt_id: int, user_id: int) -> AttemptView:
        """The trainee's own attempt (another's is "not found", never "forbidden")."""
        v = self.view(attempt_id)
        if v.row.user_id != user_id:
            raise NotFound("no such exam attempt")
        return v

    def answers(self, attempt_id: int) -> dict[str, store.ExamAnswer]:
        """The attempt's stored answers by question key."""
        with self.engine.store.read() as s:
            return store.answers_of(s, attempt_id)

    def events(self, attempt_id: int) -> list[store.ExamEvent]:
        """What happened on the exam page, in order."""
        with self.engine.store.read() as s:
            return list(store.events_of(s, attempt_id))

    def in_progress(self) -> list[tuple[store.ExamAttempt, dict[str, int]]]:
        """Attempts being taken now, with their event counts (the exam owner's live view)."""
        for a in self._running():
            self.enforce_deadline(a)
        with self.engine.store.read() as s:
            rows = list(store.list_attempts(s, status=IN_PROGRESS))
            counts = store.event_counts(s, [r.id for r in rows])
        return [(r, counts.get(r.id, {})) for r in rows]

    def _running(self) -> list[int]:
        from sqlalchemy import select

        with self.engine.store.read() as s:
            return list(s.scalars(select(store.ExamAttempt.id).where(store.ExamAttempt.status == IN_PROGRESS)))

    # -- the tab ---------------------------------------------------------------------------------------------

    def claim_tab(self, attempt_id: int, user_id: int, tab: str) -> None:
        """Make ``tab`` the one tab that may answer (the exam page calls this when it opens); a different tab
        taking over is recorded."""
        tab = tab[:40]
        if not tab:
            raise TabConflict("the exam page did not identify its tab — reload the page")
        with self.engine.store.write() as s:
            row = store.get_attempt(s, attempt_id, for_update=True)
            if row is None or row.user_id != user_id:
                raise NotFound("no such exam attempt")
            if not row.in_progress or row.tab == tab:
                return
            if row.tab is not None:
                store.add_event(s, row.id, "new-tab", at=self.now(), part_id=_current_id(row))
            row.tab = tab
            row.updated_at = self.now()

    def _check_tab(self, s: Any, row: store.ExamAttempt, tab: str | None) -> None:
        if row.tab is not None and tab != row.tab:
            raise _Refused(
                "stale-tab",
                _current_id(row),
                {},
                TabConflict("this exam is open in another tab or window — continue there, or take it over here"),
            )

    @contextmanager
    def _refusals(self, attempt_id: int) -> Iterator[None]:
        """Turn a refusal into its error, after recording it in a transaction of its own (the refused one rolls
        back)."""
        try:
            yield
        except _Refused as r:
            with self.engine.store.write() as s:
                store.add_event(s, attempt_id, r.kind, at=self.now(), part_id=r.part_id, detail=r.detail)
            raise r.error from None

    # -- parts -----------------------------------------------------------------------------------------------

    def start_part(self, attempt_id: int, user_id: int, tab: str | None = None) -> None:
        """Start the current part's timer (idempotent); a role-play part opens its first conversation."""
        first_play: tuple[int, str] | None = None
        with self._lock(attempt_id), self._refusals(attempt_id), self.engine.store.write() as s:
            row = store.get_attempt(s, attempt_id, for_update=True)
            if row is None or row.user_id != user_id:
                raise NotFound("no such exam attempt")
            if not row.in_progress:
                raise ExamClosed("this attempt is over")
            if tab is not None:
                self._check_tab(s, row, tab)
            parts = [PartState.from_dict(p) for p in row.parts]
            part = parts[row.part_index]
            if part.started_at is not None:
                return
            now = self.now()
            frozen = Frozen.from_dict(row.frozen)
            minutes = frozen.exam.part(part.id).minutes
            part.started_at = now
            part.deadline = min(now + timedelta(minutes=minutes), frozen.window_closes_at)
            row.parts = [p.to_dict() for p in parts]
            row.updated_at = now
            store.add_event(s, row.id, "part-start", at=now, part_id=part.id, detail={"deadline": _iso(part.deadline)})
            if part.kind == PartKind.ROLEPLAY.value:
                first_play = (row.part_index, part.id)
        if first_play is not None:
            self.next_conversation(attempt_id, user_id, tab)

    def next_conversation(self, attempt_id: int, user_id: int, tab: str | None = None) -> str | None:
        """Open the current role-play part's next conversation once the previous one has ended; returns the
        conversation to show (the running one, the new one, or None when all are done)."""
        with self._lock(attempt_id):
            v = self.view(attempt_id)
            if v.row.user_id != user_id:
                raise NotFound("no such exam attempt")
            part = v.current
            if part is None or part.kind != PartKind.ROLEPLAY.value or part.started_at is None:
                return None
            for sid in part.sessions:
                if not self.engine.conversation(sid).ended:
                    return sid
            plays = v.frozen.roleplays.get(part.id, [])
            if len(part.sessions) >= len(plays):
                return None
            if part.remaining(self.now()) <= 0:
                raise ExamClosed("time is up for this part")
            if tab is not None:
                with self.engine.store.read() as s:
                    row = store.get_attempt(s, attempt_id)
                    assert row is not None
                    if row.tab is not None and row.tab != tab:
                        raise TabConflict("this exam is open in another tab or window")
            return self._open_play(v, part, plays[len(part.sessions)], len(part.sessions))

    def _open_play(self, v: AttemptView, part: PartState, play: Mapping[str, Any], index: int) -> str:
        """Open role-play ``index`` of ``part``; if another process opened it meanwhile, keep theirs (ours is
        closed at once and never counted)."""
        variant = Variant.from_dict(play["variant"])
        scenario = v.frozen.scenario(play["scenario"])
        sid = self.engine.start_exam(
            v.row.user_id,
            scenario,
            attempt_id=v.row.id,
            digest=play["digest"],
            seed=variant.seed,
            variables=variant.values,
        )
        with self.engine.store.write() as s:
            row = store.get_attempt(s, v.row.id, for_update=True)
            assert row is not None
            parts = [PartState.from_dict(p) for p in row.parts]
            target = next(p for p in parts if p.id == part.id)
            if len(target.sessions) > index:
                winner = target.sessions[index]
            else:
                target.sessions.append(sid)
                row.parts = [p.to_dict() for p in parts]
                row.updated_at = self.now()
                winner = sid
        if winner != sid:
            self.engine.end_timed_out(sid)
        return winner

    def submit_part(
        self, attempt_id: int, user_id: int | None, tab: str | None = None, *, reason: str = "trainee"
    ) -> None:
        """Close the current part (the trainee submits it, or its deadline passed): its running conversation ends
        as it stands; the next part waits to be started; after the last, the attempt is graded."""
        with self._lock(attempt_id):
            self._close_parts(attempt_id, user_id, tab, reason=reason, all_parts=False)

    def enforce_deadline(self, attempt_id: int) -> bool:
        """Close the parts whose deadline has passed (and every part once the window has closed); True when
        something was closed. Idempotent; any request or the sweeper may call it."""
        with self.engine.store.read() as s:
            row = store.get_attempt(s, attempt_id)
            if row is None or not row.in_progress:
                return False
            parts = [PartState.from_dict(p) for p in row.parts]
            closes = _parse(row.frozen.get("window_closes_at"))
        now = self.now()
        part = parts[row.part_index] if row.part_index < len(parts) else None
        window_over = closes is not None and now >= closes
        due = part is not None and part.deadline is not None and now >= part.deadline
        if not (due or window_over):
            return False
        with self._lock(attempt_id):
            self._close_parts(
                attempt_id,
                None,
                None,
                reason="window" if window_over and not due else "deadline",
                all_parts=window_over,
            )
        return True

    def _close_parts(
        self, attempt_id: int, user_id: int | None, tab: str | None, *, reason: str, all_parts: bool
    ) -> None:
        v = self.view(attempt_id, enforce=False)
        if user_id is not None and v.row.user_id != user_id:
            raise NotFound("no such exam attempt")
        if not v.row.in_progress:
            return
        if tab is not None:
            with self._refusals(attempt_id), self.engine.store.write() as s:
                row = store.get_attempt(s, attempt_id, for_update=True)
                assert row is not None
                self._check_tab(s, row, tab)
        closing = v.parts[v.row.part_index :] if all_parts else [v.parts[v.row.part_index]]
        now = self.now()
        for part in closing:
            if part.kind == PartKind.ROLEPLAY.value:
                # End what is running as it stands; open and end what was never reached (it scores 0).
                for sid in part.sessions:
                    self.engine.end_timed_out(sid)
                plays = v.frozen.roleplays.get(part.id, [])
                for index in range(len(part.sessions), len(plays)):
                    sid = self._open_play(v, part, plays[index], index)
                    part.sessions.append(sid)
                    self.engine.end_timed_out(sid)
        with self.engine.store.write() as s:
            row = store.get_attempt(s, attempt_id, for_update=True)
            assert row is not None
            if not row.in_progress:
                return
            parts = [PartState.from_dict(p) for p in row.parts]  # with the conversations opened above
            closed_ids = {p.id for p in closing}
            closed_now = []
            for p in parts:
                if p.id in closed_ids and p.submitted_at is None:
                    closed_now.append(p.id)
                    p.submitted_at = now
                    p.reason = reason if p.started_at is not None else "not-started"
                    store.add_event(
                        s,
                        row.id,
                        "auto-submit" if reason != "trainee" else "part-submit",
                        at=now,
                        part_id=p.id,
                        detail={"reason": p.reason},
                    )
            row.part_index = max(row.part_index, max(i for i, p in enumerate(parts) if p.id in closed_ids) + 1)
            row.parts = [p.to_dict() for p in parts]
            row.updated_at = now
            if not closed_now:
                return  # another request or process closed them first
            if reason != "trainee":
                reviews.audit(
                    s,
                    "auto-submit",
                    exam_id=row.exam_id,
                    subject_user_id=row.user_id,
                    attempt_id=row.id,
                    detail={"parts": closed_now, "reason": reason},
                    at=now,
                )
            finished = row.part_index >= len(parts)
            if finished:
                row.status = SUBMITTED
                row.submitted_at = now
        if finished:
            self.engine.background(lambda: self.grade(attempt_id))

    # -- the written part ------------------------------------------------------------------------------------

    def save_answer(self, attempt_id: int, user_id: int, tab: str | None, question_key: str, raw: Any) -> datetime:
        """Store one answer (committed before this returns); returns when it was saved.

        Raises:
            ExamClosed: the part's time is up, or it is not the written part being taken.
            TabConflict: another tab holds the exam.
            ExamError: not a valid answer to this question.
        """
        self.enforce_deadline(attempt_id)
        now = self.now()
        late = ExamClosed("time is up for this part — answers after the deadline are not accepted")
        with self._refusals(attempt_id), self.engine.store.write() as s:
            row = store.get_attempt(s, attempt_id, for_update=True)
            if row is None or row.user_id != user_id:
                raise NotFound("no such exam attempt")
            parts = [PartState.from_dict(p) for p in row.parts]
            part = parts[row.part_index] if row.in_progress and row.part_index < len(parts) else None
            if part is None or part.kind != PartKind.WRITTEN.value or not part.open:
                raise _Refused("late-answer", None, {"question": question_key[:160]}, late)
            if part.deadline is not None and now >= part.deadline:
                raise _Refused("late-answer", part.id, {"question": question_key[:160]}, late)
            self._check_tab(s, row, tab)
            frozen = Frozen.from_dict(row.frozen)
            drawn = {d.key for d in frozen.questions.get(part.id, [])}
            if question_key not in drawn:
                raise ExamError("this question is not part of your exam")
            _, question = frozen.bank_questions[question_key]
            try:
                answer = normalise_answer(question, raw)
            except ValueError as exc:
                raise ExamError(str(exc)) from None
            if isinstance(answer, str) and len(answer) > 2000:
                raise ExamError("the answer is too long (at most 2,000 characters)")
            store.save_answer(s, row.id, part.id, question_key, answer, now)
            row.updated_at = now
        return now

    # -- role-plays ------------------------------------------------------------------------------------------

    def check_conversation(self, attempt_id: int, user_id: int, tab: str | None, session_id: str) -> AttemptView:
        """Before a role-play reply or end: the conversation is this attempt's current part's, time is left and
        this tab holds the exam."""
        v = self.own(attempt_id, user_id)
        part = v.current
        if part is None or part.kind != PartKind.ROLEPLAY.value or session_id not in part.sessions:
            with self.engine.store.write() as s:
                store.add_event(s, attempt_id, "late-answer", at=self.now(), detail={"session": session_id})
            raise ExamClosed("time is up for this part — replies after the deadline are not accepted")
        if part.remaining(self.now()) <= 0:
            raise ExamClosed("time is up for this part — replies after the deadline are not accepted")
        if tab is not None or v.row.tab is not None:
            with self._refusals(attempt_id), self.engine.store.write() as s:
                row = store.get_attempt(s, attempt_id, for_update=True)
                assert row is not None
                self._check_tab(s, row, tab)
        return v

    def record(self, attempt_id: int, user_id: int, kind: str, detail: Mapping[str, Any] | None = None) -> None:
        """Record what the page saw (a paste, leaving the page, coming back) — never blocked, only recorded."""
        if kind not in CLIENT_EVENTS:
            raise ExamError("unknown event")
        clean = {
            str(k)[:20]: (v if isinstance(v, int | float | bool) else str(v)[:200])
            for k, v in list((detail or {}).items())[:8]
        }
        with self.engine.store.write() as s:
            row = store.get_attempt(s, attempt_id)
            if row is None or row.user_id != user_id:
                raise NotFound("no such exam attempt")
            if not row.in_progress:
                return
            if sum(store.event_counts(s, [row.id]).get(row.id, {}).values()) >= MAX_EVENTS:
                return
            store.add_event(s, row.id, kind, at=self.now(), part_id=_current_id(row), detail=clean)

    def knowledge_allowed(self, user_id: int) -> bool:
        """False while the trainee is taking an exam that does not allow the knowledge panel."""
        from sqlalchemy import select

        with self.engine.store.read() as s:
            rows = s.scalars(
                select(store.ExamAttempt).where(
                    store.ExamAttempt.user_id == user_id, store.ExamAttempt.status == IN_PROGRESS
                )
            ).all()
            return all(bool((r.frozen.get("exam") or {}).get("knowledge_panel", True)) for r in rows)

    # -- the clock's sweep -----------------------------------------------------------------------------------

    def sweep(self) -> dict[str, int]:
        """Close parts past their deadline, grade submitted attempts that were not graded (a crash), schedule
        re-certification for certificates about to lapse. Safe to run from every process at once."""
        closed = sum(1 for a in self._running() if self.enforce_deadline(a))
        from sqlalchemy import select

        with self.engine.store.read() as s:
            stale = list(s.scalars(select(store.ExamAttempt.id).where(store.ExamAttempt.status == SUBMITTED)))
        graded = sum(1 for a in stale if self.grade(a))
        renewed = self.schedule_recertifications()
        return {"closed": closed, "graded": graded, "recertifications": renewed}

    def schedule_recertifications(self) -> int:
        """A re-certification window for every holder whose certificate lapses within its exam's notice period."""
        now = self.now()
        made = 0
        with self.engine.store.write() as s:
            for c in cert_store.due_for_renewal(s, now + timedelta(days=365)):
                try:
                    exam = self.catalogue.get(c.exam_id).exam
                except NotFound:
                    continue
                if as_utc(c.expires_at) - timedelta(days=exam.certificate.renew_before_days) > now:
                    continue
                closes = max(as_utc(c.expires_at), now + timedelta(days=exam.certificate.renew_window_days))
                w = store.create_window(
                    s,
                    exam_id=c.exam_id,
                    opens_at=now,
                    closes_at=closes,
                    user_id=c.user_id,
                    kind="recertification",
                    note=f"re-certification before {c.code} lapses",
                )
                c.renewal_window_id = w.id
                reviews.audit(
                    s,
                    "recertification-scheduled",
                    exam_id=c.exam_id,
                    subject_user_id=c.user_id,
                    window_id=w.id,
                    certificate_id=c.id,
                    at=now,
                )
                made += 1
        return made

    # -- grading and the verdict -----------------------------------------------------------------------------

    def grade(self, attempt_id: int, *, regrade: bool = False) -> bool:
        """Grade a submitted attempt (or recompute a graded one's verdict) and store the verdict; issue the
        certificate on a pass, the practice plan on a fail. Returns True when a verdict was stored."""
        with self._lock(attempt_id):
            v = self.view(attempt_id, enforce=False)
            if v.row.status not in (SUBMITTED, GRADED):
                return False
            return self._decide(v, regrade=regrade)

    def _decide(self, v: AttemptView, *, regrade: bool) -> bool:
        from simulator.store.grades import get_grade

        now = self.now()
        with self.engine.store.read() as s:
            answers = store.answers_of(s, v.row.id)
            forced = reviews.in_force(reviews.overrides_of(s, v.row.id))
        written: list[WrittenOutcome] = []
        answer_results: dict[str, AnswerResult] = {}
        missed: dict[str, list[str]] = {}
        for part in v.parts:
            if part.kind != PartKind.WRITTEN.value:
                continue
            results = []
            critical_wrong = []
            for d in v.frozen.questions.get(part.id, []):
                bank, q = v.frozen.bank_questions[d.key]
                stored = answers.get(d.key)
                if stored is not None and stored.result is not None and not regrade:
                    r = AnswerResult.from_dict(stored.result)
                else:
                    r = grade_answer(
                        bank,
                        q,
                        stored.answer if stored else None,
                        self.checker if q.kind is QuestionKind.SHORT else None,
                    )
                answer_results[d.key] = r
                o = forced.get((None, f"question:{d.key}"))
                final = r
                if o is not None and o.action == "accept":
                    final = AnswerResult(q.points, q.points, True, [], [])
                elif o is not None and o.action == "reject":
                    final = AnswerResult(0.0, q.points, False, r.missing, r.wrong)
                results.append(final)
                if final.correct is not True:
                    missed.setdefault(q.source, []).append(q.topic)
                    if q.critical and final.correct is False:
                        critical_wrong.append(d.key)
            written.append(WrittenOutcome(part.id, written_score(results), critical_wrong))
        roleplays: list[RolePlayOutcome] = []
        for part in v.parts:
            if part.kind != PartKind.ROLEPLAY.value:
                continue
            for sid in part.sessions:
                if regrade:
                    self.engine.grade_session(sid, force=True)
                else:
                    self.engine.grade_quietly(sid)
                session = self.engine.conversation(sid)
                with self.engine.store.read() as s:
                    stored_grade = get_grade(s, sid)
                grade: Grade | None = stored_grade.grade if stored_grade is not None else None
                if grade is not None:
                    dismissed = [t for (ssid, t), o in forced.items() if ssid == sid and o.action == "dismiss"]
                    grade = apply_overrides(grade, dismissed)
                replies = len([t for t in session.messages() if t.role.value == "agent"])
                roleplays.append(RolePlayOutcome(part.id, sid, session.scenario_id, grade, replies))
        verdict = decide(v.exam, written, roleplays)
        grader = self.engine.grader()
        profile = getattr(grader, "calibration_profile", None)
        profile_version = getattr(grader, "calibration_version", None)
        plan: list[PlanItem] = []
        if verdict.status is VerdictStatus.FAILED:
            scenarios = {e.scenario.id: e.scenario for e in self.engine.scenarios.entries()}
            plan = build_plan(roleplays, missed, scenarios, locale=v.exam.locale.value, pass_mark=v.exam.pass_mark)
        with self.engine.store.write() as s:
            row = store.get_attempt(s, v.row.id, for_update=True)
            assert row is not None
            before = row.result
            for key, r in answer_results.items():
                a = answers.get(key)
                if a is not None:
                    stored_answer = s.get(store.ExamAnswer, a.id)
                    assert stored_answer is not None
                else:  # unanswered: a row records how it scored (0), with no answer
                    part_id = next(p for p, qs in v.frozen.questions.items() if any(d.key == key for d in qs))
                    stored_answer = store.save_answer(s, row.id, part_id, key, None, as_utc(row.submitted_at or now))
                    stored_answer.changes = 0
                stored_answer.result = r.to_dict()
            row.verdict = verdict.to_dict()
            row.result = verdict.status.value
            row.overall = verdict.overall
            row.grader_version = grader.version[:40]
            row.calibration_profile = profile
            row.calibration_version = profile_version
            row.status = GRADED
            row.graded_at = row.graded_at or now
            row.updated_at = now
            if verdict.status is VerdictStatus.FAILED:
                row.plan = {"items": [i.to_dict() for i in plan]}
            elif before == VerdictStatus.FAILED.value:
                row.plan = None
            if before != row.result:
                reviews.audit(
                    s,
                    "graded" if before is None else "verdict-changed",
                    exam_id=row.exam_id,
                    subject_user_id=row.user_id,
                    attempt_id=row.id,
                    detail={
                        "from": before,
                        "to": row.result,
                        "overall": verdict.overall,
                        "grader_version": row.grader_version,
                    },
                    at=now,
                )
            self._certificate(s, row, v, verdict, now)
        return True

    def _certificate(self, s: Any, row: store.ExamAttempt, v: AttemptView, verdict: Verdict, now: datetime) -> None:
        existing = cert_store.of_attempt(s, row.id)
        if verdict.status is VerdictStatus.PASSED and existing is None:
            user = get_user(s, row.user_id)
            cert = cert_store.Certificate(
                code=_unique_code(s),
                user_id=row.user_id,
                exam_id=row.exam_id,
                attempt_id=row.id,
                holder=(user.display_name if user else str(row.user_id))[:80],
                title=v.exam.certificate_title[:120],
                shop=v.exam.shop[:80],
                locale=v.exam.locale.value,
                overall=verdict.overall,
                issued_at=now,
                expires_at=now + timedelta(days=v.exam.certificate.valid_days),
            )
            s.add(cert)
            s.flush()
            reviews.audit(
                s,
                "certificate-issued",
                exam_id=row.exam_id,
                subject_user_id=row.user_id,
                attempt_id=row.id,
                certificate_id=cert.id,
                detail={"code": cert.code},
                at=now,
            )
        elif verdict.status is not VerdictStatus.PASSED and existing is not None and existing.revoked_at is None:
            existing.revoked_at = now
            existing.revoke_reason = "the verdict changed after a review"
            reviews.audit(
                s,
                "certificate-revoked",
                exam_id=row.exam_id,
                subject_user_id=row.user_id,
                attempt_id=row.id,
                certificate_id=existing.id,
                reason=existing.revoke_reason,
                at=now,
            )


# ---------------------------------------------------------------------------------------------------------


class _Refused(Exception):
    """A request the exam refuses; :meth:`ExamService._refusals` records it (kind, part, detail) and raises
    ``error``."""

    def __init__(self, kind: str, part_id: str | None, detail: dict[str, Any], error: ExamError):
        super().__init__(str(error))
        self.kind, self.part_id, self.detail, self.error = kind, part_id, detail, error


def _unique_code(s: Any) -> str:
    for _ in range(10):
        code = new_code()
        if cert_store.by_code(s, code) is None:
            return code
    raise ExamError("could not draw a unique certificate code")  # 2^60 codes: never in practice


def _current_id(row: store.ExamAttempt) -> str | None:
    parts = row.parts or []
    return parts[row.part_index]["id"] if row.part_index < len(parts) else None


def _iso(at: datetime | None) -> str | None:
    return None if at is None else as_utc(at).isoformat()


def _parse(value: Any) -> datetime | None:
    if not value:
        return None
    return as_utc(datetime.fromisoformat(str(value)))
