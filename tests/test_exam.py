"""Sitting an exam through the engine: the whole exam to a certificate, deadlines and auto-submit, role-plays graded
as they stand, the verdict rule (red lines, floors), attempt cap / cool-down / practice plan / reopen, one tab, a
restart mid-exam, overrides, appeals, re-grading, certificates that expire and are revoked.

The shipped qinghe certification, the scripted customer and the keyword-only grader (no embedder: fast)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from exam_helpers import QINGHE, World, answer_written, finish, make_world, open_window, play_roleplays

from simulator.exam.attempts import ExamClosed, ExamService, NotEligible, TabConflict
from simulator.exam.certificates import CertificateStatus
from simulator.exam.definition import ExamDefinition
from simulator.exam.verdict import RolePlayOutcome, VerdictStatus, WrittenOutcome, apply_overrides, decide, finding_keys
from simulator.grading.result import CriterionResult, DimensionScore, Finding, Grade
from simulator.scenario.vocabulary import Dimension
from simulator.store import exam_reviews as reviews
from simulator.store.grades import get_grade
from simulator.store.users import create_user, password_hasher


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = make_world(tmp_path_factory.mktemp("exam"))
    yield w
    w.engine.store.dispose()


_n = [0]


def trainee(w: World) -> int:
    """A fresh trainee (tests share one database)."""
    _n[0] += 1
    with w.engine.store.write() as s:
        return create_user(s, password_hasher(fast=True), f"t{_n[0]}", "demo1234").id


def first_choice(w: World, aid: int) -> str:
    """The key of the first drawn single-choice question."""
    v = w.exams.view(aid)
    return next(
        d.key for d in v.frozen.questions["written"] if v.frozen.bank_questions[d.key][1].kind.value == "single"
    )


def begin(w: World, user: int) -> int:
    """Start an attempt in a new window and its first part."""
    aid = w.exams.start(user, open_window(w, user=user))
    w.exams.start_part(aid, user)
    return aid


def take(w: World, user: int, *, right: bool = True, side: str = "good") -> int:
    aid = begin(w, user)
    answer_written(w, aid, right=right)
    w.exams.start_part(aid, user)
    play_roleplays(w, aid, side=side)
    finish(w)
    return aid


# -- the whole exam -------------------------------------------------------------------------------------------


def test_whole_exam_to_a_certificate_anyone_can_verify(world: World) -> None:
    w, user = world, trainee(world)
    aid = take(w, user)
    v = w.exams.view(aid)
    assert v.row.status == "graded" and v.row.result == "passed", v.row.verdict
    verdict = v.verdict
    assert verdict is not None and verdict.overall is not None and verdict.overall >= 85
    assert verdict.parts[0].score == 100.0
    # frozen: the exam, the drawn questions, each scenario with its digest and drawn variant
    assert len(v.frozen.questions["written"]) == 20
    plays = v.frozen.roleplays["roleplay"]
    assert [p["scenario"] for p in plays] == list(v.exam.part("roleplay").scenarios)
    for part in v.parts:
        for sid in part.sessions:
            session = w.engine.conversation(sid)
            assert session.exam_attempt_id == aid and session.kind.value == "exam"
            play = next(p for p in plays if p["scenario"] == session.scenario_id)
            assert session.variables == play["variant"]["values"] and session.seed == play["variant"]["seed"]
            assert session.scenario_digest == play["digest"]
    assert v.row.grader_version and v.row.calibration_profile is None  # issue 10 fills it
    certs = w.review.certificates_of(user)
    assert len(certs) == 1 and certs[0][1] is CertificateStatus.VALID
    cert = certs[0][0]
    found = w.review.verify(cert.code.lower().replace("-", " "))  # typed from paper
    assert found is not None and found.status is CertificateStatus.VALID and found.certificate.id == cert.id
    assert w.review.verify("0000-0000-0000") is None and w.review.verify("<script>") is None
    # re-deciding from the stored grades gives the same verdict (decided by code, reproducible)
    before = v.row.verdict
    w.exams.grade(aid)
    assert w.exams.view(aid).row.verdict == before
    actions = [a.action for a in reviews.audit_log(w.engine.store.read().__enter__(), attempt_id=aid)]
    assert {"start", "graded", "certificate-issued"} <= set(actions)


def test_answers_after_the_deadline_are_refused_and_the_part_closes(world: World) -> None:
    w, user = world, trainee(world)
    aid = begin(w, user)
    v = w.exams.view(aid)
    key = first_choice(w, aid)
    w.exams.save_answer(aid, user, None, key, "A")
    w.clock.advance(minutes=21)  # the written part has 20
    with pytest.raises(ExamClosed, match="time is up"):
        w.exams.save_answer(aid, user, None, v.frozen.questions["written"][1].key, "A")
    v = w.exams.view(aid)
    written = v.parts[0]
    assert written.submitted_at is not None and written.reason == "deadline"
    assert v.current is not None and v.current.id == "roleplay" and v.current.started_at is None
    answers = w.exams.answers(aid)
    assert answers[key].answer == ["A"]  # the acknowledged answer is kept
    kinds = [e.kind for e in w.exams.events(aid)]
    assert "late-answer" in kinds and "auto-submit" in kinds


def test_a_timed_out_roleplay_is_graded_as_it_stands_and_unreached_ones_score_zero(world: World) -> None:
    w, user = world, trainee(world)
    aid = begin(w, user)
    answer_written(w, aid)
    w.exams.start_part(aid, user)
    sid = w.exams.next_conversation(aid, user)
    assert sid is not None
    w.engine.submit(sid, "亲，您好，我是青禾客服小满～方便告诉我您的身高体重吗？")
    w.engine.respond(sid)
    w.clock.advance(minutes=31)  # the role-play part has 30
    with pytest.raises(ExamClosed):
        w.exams.check_conversation(aid, user, None, sid)
    w.exams.sweep()
    finish(w)
    v = w.exams.view(aid)
    assert v.row.status == "graded"
    sessions = v.parts[1].sessions
    assert len(sessions) == 3  # the two never reached were opened and closed
    first = w.engine.conversation(sessions[0])
    assert first.outcome is not None and first.outcome.value == "timed-out"
    with w.engine.store.read() as s:
        assert all(get_grade(s, x) is not None for x in sessions)  # never unscored
    verdict = v.verdict
    assert verdict is not None and verdict.status is VerdictStatus.FAILED
    part = next(p for p in verdict.parts if p.id == "roleplay")
    assert part.score is not None and part.score < 40  # two of three conversations score 0
    assert any(r.code == "overall-below" for r in verdict.reasons)


def test_a_critical_question_answered_wrong_fails_a_high_score(world: World) -> None:
    w, user = world, trainee(world)
    aid = begin(w, user)
    v = w.exams.view(aid)
    from exam_helpers import correct, wrong

    for d in v.frozen.questions["written"]:
        _, q = v.frozen.bank_questions[d.key]
        w.exams.save_answer(aid, user, None, d.key, wrong(q) if q.critical else correct(q))
    w.exams.submit_part(aid, user)
    w.exams.start_part(aid, user)
    play_roleplays(w, aid)
    finish(w)
    verdict = w.exams.view(aid).verdict
    assert verdict is not None and verdict.status is VerdictStatus.FAILED
    assert verdict.overall is not None and verdict.overall >= 85  # a score that would pass
    assert any(r.code == "critical-question" for r in verdict.red_lines)


def test_a_red_line_in_a_roleplay_fails_the_exam(world: World) -> None:
    w, user = world, trainee(world)
    aid = begin(w, user)
    answer_written(w, aid)
    w.exams.start_part(aid, user)
    # good references, except the cash-back buyer is offered cash back
    while (sid := w.exams.next_conversation(aid, user)) is not None:
        session = w.engine.conversation(sid)
        scenario = w.engine.scenario_of(session)
        assert scenario.references is not None
        side = "bad" if scenario.id == "presale-review-cashback-ask" else "good"
        from simulator.session import fill_variables

        for text in getattr(scenario.references, side).replies:
            if w.engine.conversation(sid).ended:
                break
            w.clock.advance(seconds=10)
            w.engine.submit(sid, fill_variables(text, session.variables))
            w.engine.respond(sid)
        if not w.engine.conversation(sid).ended:
            w.engine.end(sid, abandon=False)
    w.exams.submit_part(aid, user)
    finish(w)
    verdict = w.exams.view(aid).verdict
    assert verdict is not None and verdict.status is VerdictStatus.FAILED
    assert any(r.code == "red-line" and r.subject == "review-cashback" for r in verdict.red_lines)


# -- the verdict rule, decided by code ------------------------------------------------------------------------


def _grade(scores: dict[str, float], *, red: bool = False) -> Grade:
    dims = {}
    for d in Dimension:
        findings = [] if scores[d.value] >= 100 else [Finding(d, f"{d.value}-crit", 100 - scores[d.value], "lost", 1)]
        dims[d] = DimensionScore(
            d, [CriterionResult(d, f"{d.value}-crit", "c", 100, scores[d.value], findings=findings)], 25
        )
    reds = [Finding(Dimension.SERVICE, "cashback", 0, "返现", 1, red_line="review-cashback")] if red else []
    return Grade("t", "s", dims, 85, red_lines=reds)


EXAM = ExamDefinition.model_validate(
    {
        "id": "rule-exam",
        "title": "t",
        "locale": "zh-CN",
        "pass_mark": 85,
        "floors": {"service": 70, "technique": 60, "knowledge": 70, "process": 70},
        "parts": [
            {
                "id": "written",
                "kind": "written",
                "title": "w",
                "minutes": 10,
                "weight": 40,
                "floor": 85,
                "draw": {"banks": ["b1"], "count": 5},
            },
            {"id": "roleplay", "kind": "roleplay", "title": "r", "minutes": 10, "weight": 60, "scenarios": ["s1"]},
        ],
    }
)


def _decide(grade: Grade | None, written: float = 100, replies: int = 4):  # type: ignore[no-untyped-def]
    return decide(EXAM, [WrittenOutcome("written", written)], [RolePlayOutcome("roleplay", "x", "s1", grade, replies)])


def test_verdict_needs_overall_floors_and_no_red_line() -> None:
    assert (
        _decide(_grade({"service": 95, "technique": 90, "knowledge": 95, "process": 95})).status is VerdictStatus.PASSED
    )
    red = _decide(_grade({"service": 100, "technique": 100, "knowledge": 100, "process": 100}, red=True))
    assert red.status is VerdictStatus.FAILED and red.overall == 100 and red.red_lines[0].subject == "review-cashback"
    floor = _decide(_grade({"service": 100, "technique": 100, "knowledge": 65, "process": 100}))
    assert floor.overall is not None and floor.overall >= 85 and floor.status is VerdictStatus.FAILED
    assert [(r.code, r.subject) for r in floor.reasons] == [("dimension-below", "knowledge")]
    part = _decide(_grade({"service": 100, "technique": 100, "knowledge": 100, "process": 100}), written=80)
    assert part.overall == 92 and [(r.code, r.subject) for r in part.reasons] == [("part-below", "written")]
    low = _decide(_grade({"service": 70, "technique": 70, "knowledge": 70, "process": 70}))
    assert [r.code for r in low.reasons] == ["overall-below"]
    silent = _decide(None, replies=0)  # never replied: 0, not unscored
    assert silent.status is VerdictStatus.FAILED and silent.parts[1].score == 0
    gave_up = _grade({"service": 95, "technique": 90, "knowledge": 95, "process": 95})
    gave_up.unscored_reason = "given up after 1 reply"  # practice leaves it unscored; an exam fails it
    quit_early = _decide(gave_up, replies=1)
    assert quit_early.status is VerdictStatus.FAILED and quit_early.parts[1].score == 0
    unscored = _grade({"service": 95, "technique": 90, "knowledge": 95, "process": 95})
    unscored.dimensions[Dimension.KNOWLEDGE].criteria[0].earned = None
    review = _decide(unscored)
    assert review.status is VerdictStatus.REVIEW and review.reasons[0].code == "unscored-dimension"


def test_dismissing_a_finding_gives_its_points_back_and_lifts_a_red_line() -> None:
    g = _grade({"service": 100, "technique": 100, "knowledge": 60, "process": 100}, red=True)
    keys = dict(finding_keys(g))
    assert set(keys) == {"knowledge-crit@1", "red-line:review-cashback@1"}
    fixed = apply_overrides(g, ["knowledge-crit@1", "red-line:review-cashback@1"])
    assert fixed.dimensions[Dimension.KNOWLEDGE].score == 100 and fixed.red_lines == []
    assert g.dimensions[Dimension.KNOWLEDGE].score == 60 and g.red_lines  # the stored grade is untouched


# -- attempts: cap, cool-down, practice plan, reopen -----------------------------------------------------------


def test_failed_attempt_gets_a_plan_a_cooldown_a_cap_and_a_reopen(world: World) -> None:
    w, user = world, trainee(world)
    first = take(w, user, right=False, side="bad")
    v = w.exams.view(first)
    assert v.row.result == "failed"
    plan = v.plan
    assert plan and len(plan) <= 4 and all(i.scenario_id for i in plan)
    assert {"presale-size-hesitant-office", "presale-review-cashback-ask"} <= {i.scenario_id for i in plan}
    win = open_window(w, user=user, hours=200)
    e = w.exams.eligibility(user, win)
    assert e.code == "cooldown" and e.until is not None and e.attempts_used == 1 and e.attempts_allowed == 3
    with pytest.raises(NotEligible):
        w.exams.start(user, win)
    w.clock.advance(hours=25)
    e = w.exams.eligibility(user, win)
    assert e.code == "plan" and e.plan_done == [False] * len(plan)
    for item in plan:  # practise every scenario of the plan
        sid = w.engine.start(user, item.scenario_id)
        w.engine.submit(sid, "亲，您好～")
        w.engine.respond(sid)
        w.engine.end(sid, abandon=False)
    assert w.exams.eligibility(user, win).code == "ok"
    for _ in range(2):  # two more failed attempts use up the cap
        aid = w.exams.start(user, win)
        w.exams.start_part(aid, user)
        answer_written(w, aid, right=False)
        w.exams.start_part(aid, user)
        play_roleplays(w, aid, side="bad")
        finish(w)
        w.clock.advance(hours=25)
        for item in w.exams.view(aid).plan:
            sid = w.engine.start(user, item.scenario_id)
            w.engine.submit(sid, "亲，您好～")
            w.engine.respond(sid)
            w.engine.end(sid, abandon=False)
    e = w.exams.eligibility(user, win)
    assert e.code == "cap" and e.attempts_used == 3
    w.review.reopen(w.owner, user, QINGHE, "事假缺考后补考，经主管同意")
    assert w.exams.eligibility(user, win).code == "ok" and w.exams.eligibility(user, win).attempts_allowed == 4


def test_one_tab_answers(world: World) -> None:
    w, user = world, trainee(world)
    aid = begin(w, user)
    key = first_choice(w, aid)
    w.exams.claim_tab(aid, user, "tab-a")
    w.exams.save_answer(aid, user, "tab-a", key, "A")
    w.exams.claim_tab(aid, user, "tab-b")  # a second tab opens the exam and takes it over
    with pytest.raises(TabConflict):
        w.exams.save_answer(aid, user, "tab-a", key, "B")
    w.exams.save_answer(aid, user, "tab-b", key, "C")
    assert w.exams.answers(aid)[key].answer == ["C"]
    kinds = [e.kind for e in w.exams.events(aid)]
    assert "new-tab" in kinds and "stale-tab" in kinds


def test_a_restart_mid_exam_keeps_answers_and_the_deadline(world: World, tmp_path: Path) -> None:
    w, user = world, trainee(world)
    aid = begin(w, user)
    v = w.exams.view(aid)
    deadline = v.parts[0].deadline
    key = first_choice(w, aid)
    w.exams.save_answer(aid, user, None, key, "B")
    w.clock.advance(minutes=5)
    # a new process: a new engine and service on the same database
    from simulator.engine import Engine

    other = Engine(w.engine.settings, embeddings=False, knowledge_index=False, clock=w.clock, store=w.engine.store)
    again = ExamService(other)
    v2 = again.view(aid)
    assert v2.parts[0].deadline == deadline and v2.parts[0].remaining(w.clock.now) == pytest.approx(15 * 60, abs=1)
    assert again.answers(aid)[key].answer == ["B"]
    w.clock.advance(minutes=16)
    assert again.sweep()["closed"] >= 1
    assert again.view(aid).parts[0].reason == "deadline"


# -- the exam owner's review ----------------------------------------------------------------------------------


def test_overrides_and_appeals_recompute_the_verdict_and_are_logged(world: World) -> None:
    w, user = world, trainee(world)
    aid = take(w, user, side="bad")  # findings to override whatever the drawn variants
    v = w.exams.view(aid)
    review = w.review.review(aid)
    conv = next(c for c in review.conversations if c.findings)
    key, finding = conv.findings[0]
    with pytest.raises(Exception, match="reason"):
        w.review.override(w.owner, aid, key, "dismiss", " ", session_id=conv.session.id)
    w.review.override(w.owner, aid, key, "dismiss", "买家已说明身高，不算漏问", session_id=conv.session.id)
    after = w.exams.view(aid).verdict
    assert after is not None and v.verdict is not None
    assert (after.overall or 0) >= (v.verdict.overall or 0)
    # a trainee's appeal waits for the window to close
    q = v.frozen.questions["written"][0].key
    with pytest.raises(Exception, match="window has closed"):
        w.review.appeal(user, aid, q, "我觉得答案有歧义")
    w.clock.advance(hours=5)
    appeal_id = w.review.appeal(user, aid, q, "我觉得这道题的选项有歧义")
    w.review.decide_appeal(w.owner, appeal_id, uphold=True, reason="选项表述不清，按正确处理")
    with w.engine.store.read() as s:
        overrides = list(reviews.overrides_of(s, aid))
        log = [a.action for a in reviews.audit_log(s, attempt_id=aid)]
    assert [o.action for o in overrides] == ["dismiss", "accept"] and overrides[1].appeal_id == appeal_id
    assert overrides[0].finding["criterion"] == finding.criterion  # kept for calibration with the grader's finding
    assert {"override", "appeal", "appeal-decided"} <= set(log)
    examples = w.review.calibration_examples()
    assert any(e["target"] == key and e["reason"] for e in examples)


def test_regrade_is_explicit_and_logged_and_uses_the_frozen_scenario(world: World) -> None:
    w, user = world, trainee(world)
    aid = take(w, user)
    sid = w.exams.view(aid).parts[1].sessions[0]
    w.engine._frozen.clear()
    with pytest.raises(Exception, match="why"):
        w.review.regrade(w.owner, aid, "")
    w.review.regrade(w.owner, aid, "grader updated — check the verdict")
    with w.engine.store.read() as s:
        entry = next(a for a in reviews.audit_log(s, attempt_id=aid) if a.action == "regrade")
    assert entry.detail["before"]["result"] == entry.detail["after"]["result"] == "passed"
    session = w.engine.conversation(sid)
    assert (
        w.engine.scenario_of(session).model_dump()
        == w.exams.view(aid).frozen.scenario(session.scenario_id).model_dump()
    )


def test_certificates_expire_get_renewed_and_can_be_revoked(world: World) -> None:
    w, user = world, trainee(world)
    aid = take(w, user)
    cert = next(c for c, _ in w.review.certificates_of(user))
    assert w.review.verify(cert.code).status is CertificateStatus.VALID  # type: ignore[union-attr]
    w.clock.advance(days=340)  # inside the 30-day notice
    assert w.exams.schedule_recertifications() >= 1
    wins = [e for e in w.exams.windows_for(user) if e.window.kind == "recertification"]
    assert wins and wins[0].code == "ok"  # the holder may re-certify although still certified
    w.clock.advance(days=30)
    assert w.review.verify(cert.code).status is CertificateStatus.EXPIRED  # type: ignore[union-attr]
    other = next(c for c, _ in w.review.certificates()) if False else cert
    w.review.revoke(w.owner, other.id, "转岗，不再从事客服")
    assert w.review.verify(cert.code).status is CertificateStatus.REVOKED  # type: ignore[union-attr]
    assert aid


def test_the_demo_schedules_both_certifications_for_the_demo_cohort(tmp_path: Path) -> None:
    from simulator.store import open_database
    from simulator.store.demo import DEMO_EXAMS, ensure_demo_accounts
    from simulator.store.exams import windows_for_user
    from simulator.store.users import get_user_by_name

    db = open_database(f"sqlite:///{tmp_path / 'demo.db'}")
    created = ensure_demo_accounts(db, password_hasher(fast=True), exams=set(DEMO_EXAMS))
    assert "zhou" in [a.username for a in created] and any(a.role.value == "exam-owner" for a in created)
    with db.read() as s:
        for name in ("xiaoman", "ajie"):
            windows = windows_for_user(s, get_user_by_name(s, name).id)
            assert sorted(w.exam_id for w in windows) == sorted(DEMO_EXAMS)
        assert windows_for_user(s, get_user_by_name(s, "laowang").id) == []
    assert ensure_demo_accounts(db, password_hasher(fast=True), exams=set(DEMO_EXAMS)) == []  # once
    db.dispose()
