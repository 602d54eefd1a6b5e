"""What exam owners do after an attempt: review it turn by turn, override a finding with a written reason, decide
the appeals trainees raise, re-grade explicitly, reopen a trainee's attempts, revoke a certificate — every action
in the audit log, the verdict recomputed by code after each.

Overrides are labelled disagreements with the grader (the finding as the grader reported it, the grader version,
the owner's decision and reason); :meth:`ExamReview.calibration_examples` exports them for calibration (issue 10).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from simulator.errors import NotFound
from simulator.exam.attempts import GRADED, AttemptView, ExamError, ExamService
from simulator.exam.certificates import CertificateStatus, normalise_code, status_of
from simulator.exam.verdict import finding_keys
from simulator.grading.result import Finding, Grade
from simulator.session import Session, as_utc
from simulator.store import certificates as cert_store
from simulator.store import exam_reviews as reviews
from simulator.store import exams as store
from simulator.store.grades import get_grade

APPEAL_DAYS = 14  # appeals may be raised for two weeks after the window closes
MIN_REASON = 4


@dataclass
class ReviewedConversation:
    """One role-play as the reviewer sees it: the conversation, the grade as stored, its findings by key."""

    session: Session
    grade: Grade | None
    findings: list[tuple[str, Finding]] = field(default_factory=list)
    dismissed: set[str] = field(default_factory=set)


@dataclass
class Review:
    """Everything the review page shows about one attempt."""

    view: AttemptView
    conversations: list[ReviewedConversation]
    answers: dict[str, store.ExamAnswer]
    events: list[store.ExamEvent]
    overrides: list[reviews.Override]
    appeals: list[reviews.Appeal]
    audit: list[reviews.AuditEntry]
    certificate: cert_store.Certificate | None
    in_force: dict[tuple[str | None, str], reviews.Override]


@dataclass
class Verification:
    """What ``/verify/{code}`` shows."""

    certificate: cert_store.Certificate
    status: CertificateStatus


class ExamReview:
    """The exam owner's actions on attempts and certificates.

    Args:
        exams: The exam service (its engine, store and verdict).
    """

    def __init__(self, exams: ExamService):
        self.exams = exams
        self.engine = exams.engine

    # -- reading ---------------------------------------------------------------------------------------------

    def review(self, attempt_id: int) -> Review:
        """The attempt with its conversations, answers, page events, overrides, appeals and audit trail."""
        v = self.exams.view(attempt_id)
        convs: list[ReviewedConversation] = []
        with self.engine.store.read() as s:
            overrides = list(reviews.overrides_of(s, attempt_id))
            forced = reviews.in_force(overrides)
            for part in v.parts:
                for sid in part.sessions:
                    stored = get_grade(s, sid)
                    grade = stored.grade if stored is not None else None
                    keyed = finding_keys(grade) if grade is not None else []
                    dismissed = {t for (ssid, t), o in forced.items() if ssid == sid and o.action == "dismiss"}
                    convs.append(ReviewedConversation(self.engine.conversation(sid), grade, keyed, dismissed))
            return Review(
                view=v,
                conversations=convs,
                answers=store.answers_of(s, attempt_id),
                events=list(store.events_of(s, attempt_id)),
                overrides=overrides,
                appeals=list(reviews.appeals_of(s, attempt_id)),
                audit=list(reviews.audit_log(s, attempt_id=attempt_id)),
                certificate=cert_store.of_attempt(s, attempt_id),
                in_force=forced,
            )

    def open_appeals(self) -> list[reviews.Appeal]:
        """Appeals waiting for a decision."""
        with self.engine.store.read() as s:
            return list(reviews.open_appeals(s))

    def audit_log(self, *, limit: int = 500) -> list[reviews.AuditEntry]:
        """The audit log, newest first."""
        with self.engine.store.read() as s:
            return list(reviews.audit_log(s, limit=limit))

    def calibration_examples(self) -> list[dict[str, Any]]:
        """Every override as a labelled example: the finding, the grader version, the decision and the reason."""
        with self.engine.store.read() as s:
            return [
                {
                    "id": o.id,
                    "attempt": o.attempt_id,
                    "session": o.session_id,
                    "target": o.target,
                    "action": o.action,
                    "dimension": o.dimension,
                    "criterion": o.criterion,
                    "points": o.points,
                    "reason": o.reason,
                    "appeal": o.appeal_id,
                    "grader_version": o.grader_version,
                    "finding": o.finding,
                    "at": as_utc(o.created_at).isoformat(),
                }
                for o in reviews.all_overrides(s)
            ]

    # -- overrides -------------------------------------------------------------------------------------------

    def override(
        self,
        actor_id: int,
        attempt_id: int,
        target: str,
        action: str,
        reason: str,
        *,
        session_id: str | None = None,
        appeal_id: int | None = None,
    ) -> None:
        """Override one finding (``dismiss`` / ``restore``) or one written answer (``accept`` / ``reject``), with a
        written reason; logged, kept for calibration, and the verdict recomputed.

        Raises:
            ExamError: no reason, an unknown finding or question, or an action that does not fit it.
        """
        reason = reason.strip()
        if len(reason) < MIN_REASON:
            raise ExamError("write the reason for the override (it is kept in the audit log)")
        v = self.exams.view(attempt_id)
        if v.row.status != GRADED:
            raise ExamError("the attempt is not graded yet — wait for its verdict")
        finding: dict[str, Any] = {}
        dimension = None
        criterion = ""
        points = None
        if session_id is None:
            key = target.removeprefix("question:")
            if action not in ("accept", "reject") or key not in v.frozen.bank_questions:
                raise ExamError("unknown question, or not an action for a written answer (accept or reject)")
            _, q = v.frozen.bank_questions[key]
            criterion, points = q.id, q.points
            finding = {"question": key, "prompt": q.prompt, "topic": q.topic}
            with self.engine.store.read() as s:
                a = store.answers_of(s, attempt_id).get(key)
                if a is not None:
                    finding.update({"answer": a.answer, "result": a.result})
            target = f"question:{key}"
        else:
            if action not in ("dismiss", "restore"):
                raise ExamError("a finding is dismissed or restored")
            if not any(session_id in p.sessions for p in v.parts):
                raise NotFound("no such conversation in this attempt")
            with self.engine.store.read() as s:
                stored = get_grade(s, session_id)
            if stored is None:
                raise ExamError("this conversation has not been graded")
            keyed = dict(finding_keys(stored.grade))
            if target not in keyed:
                raise ExamError("no such finding in this conversation's grade")
            f = keyed[target]
            finding = f.to_dict()
            dimension, criterion, points = f.dimension.value, f.criterion, f.points
        with self.engine.store.write() as s:
            o = reviews.add_override(
                s,
                attempt_id=attempt_id,
                session_id=session_id,
                target=target,
                action=action,
                dimension=dimension,
                criterion=criterion,
                points=points,
                reason=reason,
                actor_id=actor_id,
                appeal_id=appeal_id,
                grader_version=v.row.grader_version,
                finding=finding,
                created_at=self.exams.now(),
            )
            reviews.audit(
                s,
                "override",
                actor_id=actor_id,
                exam_id=v.row.exam_id,
                subject_user_id=v.row.user_id,
                attempt_id=attempt_id,
                reason=reason,
                detail={"override": o.id, "target": target, "action": action, "session": session_id},
                at=self.exams.now(),
            )
        self.exams.grade(attempt_id)

    # -- appeals ---------------------------------------------------------------------------------------------

    def appeal(self, user_id: int, attempt_id: int, target: str, text: str, *, session_id: str | None = None) -> int:
        """A trainee disputes a finding or a written answer of their own attempt, once its results are shown."""
        text = text.strip()
        if len(text) < MIN_REASON:
            raise ExamError("say why you think the finding is wrong")
        v = self.exams.own(attempt_id, user_id)
        if v.row.status != GRADED or not v.window_closed:
            raise ExamError("appeals open when the exam window has closed and the results are shown")
        if self.exams.now() > as_utc(v.window.closes_at) + timedelta(days=APPEAL_DAYS):
            raise ExamError(f"appeals close {APPEAL_DAYS} days after the exam window")
        if session_id is None:
            if target.removeprefix("question:") not in v.frozen.bank_questions:
                raise ExamError("no such question in your exam")
            target = "question:" + target.removeprefix("question:")
        else:
            if not any(session_id in p.sessions for p in v.parts):
                raise NotFound("no such conversation in this attempt")
            with self.engine.store.read() as s:
                stored = get_grade(s, session_id)
            if stored is None or target not in dict(finding_keys(stored.grade)):
                raise ExamError("no such finding in this conversation")
        with self.engine.store.write() as s:
            if any(
                a.target == target and a.session_id == session_id and a.status == "open"
                for a in reviews.appeals_of(s, attempt_id)
            ):
                raise ExamError("you have already appealed this — wait for the decision")
            row = reviews.add_appeal(
                s,
                attempt_id=attempt_id,
                user_id=user_id,
                session_id=session_id,
                target=target,
                text=text[:2000],
                at=self.exams.now(),
            )
            reviews.audit(
                s,
                "appeal",
                actor_id=user_id,
                exam_id=v.row.exam_id,
                subject_user_id=user_id,
                attempt_id=attempt_id,
                reason=text[:2000],
                detail={"appeal": row.id, "target": target, "session": session_id},
                at=self.exams.now(),
            )
            return row.id

    def decide_appeal(self, actor_id: int, appeal_id: int, *, uphold: bool, reason: str) -> None:
        """Uphold (the finding is dismissed / the answer accepted, as an override) or reject an appeal, with a
        written reason; logged."""
        reason = reason.strip()
        if len(reason) < MIN_REASON:
            raise ExamError("write the reason for the decision (the trainee reads it)")
        with self.engine.store.write() as s:
            a = reviews.get_appeal(s, appeal_id, for_update=True)
            if a is None:
                raise NotFound("no such appeal")
            if a.status != "open":
                raise ExamError("this appeal has been decided already")
            a.status = "upheld" if uphold else "rejected"
            a.decided_by = actor_id
            a.decided_at = self.exams.now()
            a.decision = reason[:2000]
            attempt_id, session_id, target = a.attempt_id, a.session_id, a.target
            row = store.get_attempt(s, attempt_id)
            assert row is not None
            reviews.audit(
                s,
                "appeal-decided",
                actor_id=actor_id,
                exam_id=row.exam_id,
                subject_user_id=row.user_id,
                attempt_id=attempt_id,
                reason=reason,
                detail={"appeal": appeal_id, "decision": a.status},
                at=self.exams.now(),
            )
        if uphold:
            action = "accept" if session_id is None else "dismiss"
            self.override(actor_id, attempt_id, target, action, reason, session_id=session_id, appeal_id=appeal_id)

    # -- re-grading, reopening, revoking ---------------------------------------------------------------------

    def regrade(self, actor_id: int, attempt_id: int, reason: str) -> None:
        """Grade every part of the attempt again with today's grader (the frozen scenarios and questions), then
        decide again — only by this explicit action, logged with the versions and verdicts before and after."""
        reason = reason.strip()
        if len(reason) < MIN_REASON:
            raise ExamError("write why the attempt is re-graded")
        v = self.exams.view(attempt_id)
        if v.row.status != GRADED:
            raise ExamError("the attempt is not graded yet")
        before = {"result": v.row.result, "overall": v.row.overall, "grader_version": v.row.grader_version}
        self.exams.grade(attempt_id, regrade=True)
        after = self.exams.view(attempt_id, enforce=False).row
        with self.engine.store.write() as s:
            reviews.audit(
                s,
                "regrade",
                actor_id=actor_id,
                exam_id=after.exam_id,
                subject_user_id=after.user_id,
                attempt_id=attempt_id,
                reason=reason,
                detail={
                    "before": before,
                    "after": {"result": after.result, "overall": after.overall, "grader_version": after.grader_version},
                },
                at=self.exams.now(),
            )

    def reopen(self, actor_id: int, user_id: int, exam_id: str, reason: str) -> None:
        """Grant a trainee one more attempt at an exam after their last allowed one (logged)."""
        reason = reason.strip()
        if len(reason) < MIN_REASON:
            raise ExamError("write why the exam is reopened for this trainee")
        with self.engine.store.write() as s:
            reviews.audit(
                s,
                "reopen",
                actor_id=actor_id,
                exam_id=exam_id,
                subject_user_id=user_id,
                reason=reason,
                at=self.exams.now(),
            )

    def revoke(self, actor_id: int, certificate_id: int, reason: str) -> None:
        """Revoke a certificate (``/verify`` then says revoked); logged."""
        reason = reason.strip()
        if len(reason) < MIN_REASON:
            raise ExamError("write why the certificate is revoked")
        with self.engine.store.write() as s:
            c = s.get(cert_store.Certificate, certificate_id)
            if c is None:
                raise NotFound("no such certificate")
            if c.revoked_at is not None:
                return
            c.revoked_at = self.exams.now()
            c.revoked_by = actor_id
            c.revoke_reason = reason[:2000]
            reviews.audit(
                s,
                "certificate-revoked",
                actor_id=actor_id,
                exam_id=c.exam_id,
                subject_user_id=c.user_id,
                attempt_id=c.attempt_id,
                certificate_id=c.id,
                reason=reason,
                at=self.exams.now(),
            )

    # -- certificates ----------------------------------------------------------------------------------------

    def verify(self, code: str) -> Verification | None:
        """The certificate with this code and its status now (None for a code that is no certificate's)."""
        clean = normalise_code(code)
        if not clean:
            return None
        with self.engine.store.read() as s:
            c = cert_store.by_code(s, clean)
        if c is None:
            return None
        return Verification(c, status_of(as_utc(c.expires_at), c.revoked_at, self.exams.now()))

    def certificates(self) -> list[tuple[cert_store.Certificate, CertificateStatus]]:
        """Every certificate with its status."""
        now = self.exams.now()
        with self.engine.store.read() as s:
            return [(c, status_of(as_utc(c.expires_at), c.revoked_at, now)) for c in cert_store.list_certificates(s)]

    def certificates_of(self, user_id: int) -> list[tuple[cert_store.Certificate, CertificateStatus]]:
        """A person's certificates with their status."""
        now = self.exams.now()
        with self.engine.store.read() as s:
            return [(c, status_of(as_utc(c.expires_at), c.revoked_at, now)) for c in cert_store.of_user(s, user_id)]


def now_utc(at: datetime) -> datetime:
    """``at`` in UTC (for templates comparing stored times)."""
    return as_utc(at)
