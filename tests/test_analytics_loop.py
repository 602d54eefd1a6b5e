"""The loop on the engine: every grade lands in the analytics; problems classified into 个体/共性/多发/突发 with
their training modes; a plan in one action; assignment status as trainees play; spaced retests; improvement;
reviews (finding overrides); CSV export; who may see what."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fakes import FakeCustomer, FakeGrader, write_scenarios

from simulator.analytics import export
from simulator.analytics.attempts import refresh_facts
from simulator.analytics.improvement import of_plan, team_change
from simulator.analytics.plans import PlanRequest, create_plan, progress, scenarios_for
from simulator.analytics.problems import Count, Mode, ProblemType, classify
from simulator.analytics.reviews import effective_grade, keyed_findings
from simulator.analytics.scope import Filters, Viewer, may_see, people_in_scope
from simulator.analytics.thresholds import Thresholds
from simulator.engine import Engine
from simulator.settings import Settings
from simulator.store.assignments import Assignment, AssignmentStatus, assignments_for, create_assignment
from simulator.store.facts import CriterionFact, FindingFact, ScoreFact, remember_criteria
from simulator.store.grades import get_grade
from simulator.store.groups import add_members, create_group
from simulator.store.outbox import OutboxStatement
from simulator.store.plans import PlanMember
from simulator.store.reviews import FindingOverride, OverrideAction, save_override
from simulator.store.schema import new_uuid
from simulator.store.sessions import SessionRecord
from simulator.store.users import UserRole, create_user, get_user_by_name, password_hasher

TZ = "Asia/Shanghai"
HASHER = password_hasher(fast=True)
SCENARIO = "presale-size-hesitant-office"


class Clock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def engine(tmp_path: Path, clock: Clock):  # type: ignore[no-untyped-def]
    settings = Settings(
        data_dir=tmp_path / "data", scenarios_dir=write_scenarios(tmp_path), embedder="fake", _env_file=None
    )  # type: ignore[call-arg]
    engine = Engine(settings, customers=FakeCustomer, grader=FakeGrader(), knowledge_index=False, clock=clock)
    with engine.store.write() as s:
        for name in ("xiaoman", "ajie", "a3", "a4"):
            create_user(s, HASHER, name, "demo1234", display_name=name)
        create_user(s, HASHER, "laowang", "demo1234", role="trainer", display_name="老王")
        create_user(s, HASHER, "other", "demo1234", role="trainer", display_name="别的主管")
    yield engine
    engine.store.dispose()


def uid(engine: Engine, name: str) -> int:
    with engine.store.read() as s:
        return get_user_by_name(s, name).id


def play(engine: Engine, user: int, scenario: str = SCENARIO, *, abandon: bool = False) -> str:
    sid = engine.start(user, scenario)
    if abandon:
        engine.end(sid, abandon=True)
    else:
        engine.submit(sid, "买")
        engine.respond(sid)
    assert engine._grading.submit(lambda: None).result(timeout=10) is None  # the background grade is done
    return sid


def fact(engine: Engine, user: int, criterion: str, day: date, lost: bool, source: str = "real") -> None:
    """One graded conversation scoring one criterion (straight into the facts)."""
    with engine.store.write() as s:
        sid = new_uuid()
        s.add(
            SessionRecord(
                id=sid, kind=source, user_id=user, scenario_id="", scenario_digest="", seed=0, status="finished"
            )
        )
        s.flush()
        row = CriterionFact(
            session_id=sid,
            user_id=user,
            source=source,
            shop="qinghe",
            day=day,
            criterion=criterion,
            dimension="service",
            title=f"{criterion} title",
            points=10,
            earned=0 if lost else 10,
            lost=lost,
        )
        remember_criteria(s, [row])
        s.add(row)


def series(engine: Engine, user: str, criterion: str, end: date, lost: int, total: int, *, offset: int = 0) -> None:
    for i in range(total):
        fact(engine, uid(engine, user), criterion, end - timedelta(days=offset + i % 10), i < lost)


ADMIN = Viewer(0, UserRole.ADMIN)


def problems(engine: Engine, thresholds: Thresholds | None = None, **kw):  # type: ignore[no-untyped-def]
    with engine.store.read() as s:
        return classify(s, None, Filters(**kw), thresholds or Thresholds(), TZ)


# -- every grade lands in the analytics ----------------------------------------------------------------------


def test_a_practice_attempt_becomes_facts_xapi_and_assignment_progress(engine: Engine, clock: Clock) -> None:
    me = uid(engine, "xiaoman")
    with engine.store.write() as s:
        a = create_assignment(s, trainer_id=uid(engine, "laowang"), trainee_id=me, scenario_id=SCENARIO)
        a.created_at = clock.at - timedelta(hours=1)
    sid = engine.start(me, SCENARIO)
    with engine.store.read() as s:
        assert s.get(Assignment, a.id).status == "in-progress"  # type: ignore[union-attr]
    engine.submit(sid, "买")
    engine.respond(sid)
    engine._grading.submit(lambda: None).result(timeout=10)
    with engine.store.read() as s:
        done = s.get(Assignment, a.id)
        assert done is not None and done.status == "done" and done.session_id == sid and done.score == 72.5
        f = s.get(ScoreFact, sid)
        assert f is not None and (f.source, f.shop, f.overall, f.passed) == ("practice", "qinghe", 72.5, False)
        assert f.converted is True  # a pre-sales scenario the fake customer bought in
        crits = {c.criterion: c.lost for c in s.query(CriterionFact).filter_by(session_id=sid)}
        assert crits == {"greeting": True, "needs": True, "steps": True}  # "facts" was unscored: no row
        assert [x.criterion for x in s.query(FindingFact).filter_by(session_id=sid)] == ["greeting"]
        verbs = [o.verb for o in s.query(OutboxStatement).order_by(OutboxStatement.id)]
        assert verbs == ["attempted", "completed", "failed", "scored"]
    # grading it again adds no second statement and no second fact row
    engine.grade_session(sid, force=True)
    with engine.store.read() as s:
        assert s.query(OutboxStatement).count() == 4 and s.query(ScoreFact).count() == 1


def test_playtests_leave_no_trace_and_abandoned_attempts_do_not_complete(engine: Engine) -> None:
    trainer = uid(engine, "laowang")
    from simulator.session import SessionKind

    sid = engine.start(trainer, SCENARIO, kind=SessionKind.PLAYTEST)
    engine.end(sid, abandon=False)
    me = uid(engine, "xiaoman")
    with engine.store.write() as s:
        a = create_assignment(s, trainer_id=trainer, trainee_id=me, scenario_id=SCENARIO)
        a.created_at -= timedelta(minutes=5)
    gone = play(engine, me, abandon=True)
    with engine.store.read() as s:
        assert s.get(ScoreFact, sid) is None
        assert s.get(Assignment, a.id).status == "in-progress"  # type: ignore[union-attr]
        assert s.get(ScoreFact, gone) is not None  # an abandoned attempt still counts in the analytics
        verbs = {o.verb for o in s.query(OutboxStatement).filter_by(session_id=gone)}
        assert "completed" not in verbs and {"attempted", "failed", "scored"} <= verbs


# -- classification ---------------------------------------------------------------------------------------


def test_individual_problem_with_coaching(engine: Engine) -> None:
    end = date.today()
    series(engine, "xiaoman", "greeting", end, 4, 5)
    for other in ("ajie", "a3", "a4"):
        series(engine, other, "greeting", end, 0, 5)
    (p,) = problems(engine)
    assert (p.type, p.mode, p.criterion) == (ProblemType.INDIVIDUAL, Mode.COACHING, "greeting")
    assert [a.user_id for a in p.agents] == [uid(engine, "xiaoman")] and p.agents[0].count == Count(5, 4)
    assert p.title == "greeting title" and p.with_data == 4
    # thresholds are configurable: at 90 % nobody has the problem
    assert problems(engine, Thresholds(agent_rate=0.9)) == []


def test_common_problem_when_many_share_it(engine: Engine) -> None:
    end = date.today()
    for who in ("xiaoman", "ajie", "a3"):
        series(engine, who, "empathy", end, 3, 4)
    series(engine, "a4", "empathy", end, 0, 4)
    (p,) = problems(engine)
    assert (p.type, p.mode) == (ProblemType.COMMON, Mode.CLASS) and len(p.agents) == 3
    assert p.team == Count(16, 9)


def test_sudden_problem_when_the_team_jumps(engine: Engine) -> None:
    end = date.today()
    for who in ("xiaoman", "ajie", "a3", "a4"):
        series(engine, who, "verify-first", end, 1, 10, offset=20)  # the month before: 10 % lost
        series(engine, who, "verify-first", end, 3, 5)  # this window: 60 % lost
    (p,) = problems(engine)
    assert (p.type, p.mode) == (ProblemType.SUDDEN, Mode.CLASS_COACHING)
    assert p.baseline is not None and round(p.baseline.rate, 2) == 0.1 and round(p.team.rate, 2) == 0.6


def test_recurring_problem_after_training(engine: Engine, clock: Clock) -> None:
    end = date.today()
    me, other = uid(engine, "xiaoman"), uid(engine, "ajie")
    with engine.store.write() as s:
        plan = create_plan(
            s,
            PlanRequest(uid(engine, "laowang"), "greeting", "service", "问候", ProblemType.INDIVIDUAL, [me, other]),
            tz=TZ,
            now=clock.at - timedelta(days=30),
        )
        for m in s.query(PlanMember).filter_by(plan_id=plan.id):
            m.trained_at = clock.at - timedelta(days=20)
    series(engine, "xiaoman", "greeting", end, 4, 5)  # back again after training
    series(engine, "a3", "greeting", end, 4, 5)  # never trained: individual
    series(engine, "ajie", "greeting", end, 0, 5)
    series(engine, "a4", "greeting", end, 0, 5)
    kinds = {(p.type, tuple(a.user_id for a in p.agents)) for p in problems(engine)}
    assert kinds == {
        (ProblemType.RECURRING, (me,)),
        (ProblemType.INDIVIDUAL, (uid(engine, "a3"),)),
    }
    (rec,) = [p for p in problems(engine) if p.type is ProblemType.RECURRING]
    assert rec.mode is Mode.STANDUP and me in rec.trained


def test_a_red_line_is_a_problem_from_its_first_crossing(engine: Engine) -> None:
    fact(engine, uid(engine, "ajie"), "red-line", date.today(), True)
    (p,) = problems(engine)
    assert (p.type, p.criterion) == (ProblemType.INDIVIDUAL, "red-line")


def test_filters_narrow_the_window_shop_and_sources(engine: Engine) -> None:
    series(engine, "xiaoman", "greeting", date.today() - timedelta(days=30), 5, 5)
    assert problems(engine) == []  # outside the 14-day window
    assert problems(engine, end=date.today() - timedelta(days=30))
    series(engine, "ajie", "greeting", date.today(), 5, 5)
    assert problems(engine, sources=("practice",)) == []
    assert problems(engine, shop="elsewhere") == []


# -- plans, status, retests -----------------------------------------------------------------------------------


def test_scenarios_for_a_criterion(engine: Engine) -> None:
    catalogue = [e.scenario for e in engine.scenarios.entries()]
    assert scenarios_for(catalogue, "greeting") == [SCENARIO]  # declared in `trains`
    assert scenarios_for(catalogue, "ask-measurements") == [SCENARIO]  # a step of it
    assert scenarios_for(catalogue, "needs-discovery") == [SCENARIO]  # a skill of it
    assert scenarios_for(catalogue, "no-such-criterion") == []
    assert engine.scenarios_training("greeting") == [SCENARIO]


def test_a_plan_assigns_then_retests_next_day_and_three_days_later(engine: Engine, clock: Clock) -> None:
    me, trainer = uid(engine, "xiaoman"), uid(engine, "laowang")
    with engine.store.write() as s:
        plan = create_plan(
            s,
            PlanRequest(
                trainer,
                "greeting",
                "service",
                "问候 · 个体",
                ProblemType.INDIVIDUAL,
                [me],
                scenario_ids=[SCENARIO],
                baseline={me: Count(5, 4)},
            ),
            tz=TZ,
            now=clock.at,
        )
        pid = plan.id
        (a,) = assignments_for(s, me)
        assert (a.plan_id, a.criterion, a.round, a.status) == (pid, "greeting", 0, "open")
        assert a.due_at is not None and a.due_at.replace(tzinfo=UTC) > clock.at + timedelta(days=6)
    clock.at += timedelta(minutes=1)
    play(engine, me)
    with engine.store.read() as s:
        rows = progress(s, pid)
        (m,) = rows
        assert m.training[0].status == "done" and m.training[0].criterion_kept is False
        assert m.member.trained_at is not None and (m.member.before_n, m.member.before_lost) == (5, 4)
        r1, r2 = m.retests
        assert (r1.round, r2.round) == (1, 2) and r1.kind == "retest"
        local = [r.available_at.replace(tzinfo=UTC).astimezone(__import__("zoneinfo").ZoneInfo(TZ)) for r in (r1, r2)]
        today = clock.at.astimezone(__import__("zoneinfo").ZoneInfo(TZ)).date()
        assert [d.date() for d in local] == [today + timedelta(days=1), today + timedelta(days=3)]
        assert all(d.hour == 0 and d.minute == 0 for d in local)
    # playing again today does not count as the retest: it is not available yet
    play(engine, me)
    with engine.store.read() as s:
        assert all(r.status == "open" for r in progress(s, pid)[0].retests)
    # tomorrow it does; the fake grade loses points on greeting again, so one more retest follows
    clock.at += timedelta(days=1)
    play(engine, me)
    with engine.store.read() as s:
        retests = progress(s, pid)[0].retests
        assert [(r.round, r.status) for r in retests] == [(1, "done"), (2, "open"), (3, "open")]
        assert retests[0].criterion_kept is False


def test_overdue_is_shown_not_stored(engine: Engine, clock: Clock) -> None:
    with engine.store.write() as s:
        a = create_assignment(
            s,
            trainer_id=uid(engine, "laowang"),
            trainee_id=uid(engine, "ajie"),
            scenario_id=SCENARIO,
            due_at=clock.at - timedelta(hours=1),
        )
        assert a.status == "open" and a.shown_status(clock.at) is AssignmentStatus.OVERDUE


def test_improvement_before_and_after_training(engine: Engine, clock: Clock) -> None:
    me = uid(engine, "xiaoman")
    today = date.today()
    with engine.store.write() as s:
        plan = create_plan(
            s,
            PlanRequest(uid(engine, "laowang"), "greeting", "service", "t", ProblemType.INDIVIDUAL, [me]),
            tz=TZ,
            now=clock.at - timedelta(days=10),
        )
        s.query(PlanMember).filter_by(plan_id=plan.id).one().trained_at = clock.at - timedelta(days=8)
        pid = plan.id
    for i in range(5):
        fact(engine, me, "greeting", today - timedelta(days=12 + i), i < 4)  # before: 4 of 5 lost
        fact(engine, me, "greeting", today - timedelta(days=i), i < 1)  # after: 1 of 5
        fact(engine, me, "greeting", today - timedelta(days=i), False, source="practice")
    with engine.store.read() as s:
        from simulator.store.plans import get_plan

        (row,) = of_plan(s, get_plan(s, pid), tz=TZ)  # type: ignore[arg-type]
    assert row.sides["real"].before == Count(5, 4) and row.sides["real"].after == Count(5, 1)
    assert row.sides["real"].delta == -60.0
    assert row.sides["simulation"].before == Count() and row.sides["simulation"].delta is None
    assert team_change([row])["real"].delta == -60.0


# -- reviews --------------------------------------------------------------------------------------------------


def test_a_rejected_finding_gives_points_back_in_the_analytics(engine: Engine) -> None:
    me = uid(engine, "xiaoman")
    sid = play(engine, me)
    with engine.store.write() as s:
        grade = get_grade(s, sid).grade  # type: ignore[union-attr]
        (k,) = keyed_findings(grade)
        assert k.key == ("greeting", 1, 0)
        save_override(
            s,
            FindingOverride(
                session_id=sid,
                criterion="greeting",
                turn=1,
                ordinal=0,
                dimension="service",
                action=OverrideAction.REJECTED.value,
                reason="问候了",
                original_points=5.0,
                message=k.finding.message,
                evidence=k.finding.evidence,
                grader_version="fake-1",
                author_id=uid(engine, "laowang"),
            ),
        )
        assert refresh_facts(s, sid)
    with engine.store.read() as s:
        f = s.get(ScoreFact, sid)
        assert f is not None and f.reviewed and f.service == 100.0 and f.findings == 0
        assert s.query(CriterionFact).filter_by(session_id=sid, criterion="greeting").one().lost is False
        assert get_grade(s, sid).grade.dimensions  # the grader's own grade is untouched  # type: ignore[union-attr]
        assert get_grade(s, sid).detail["scores"]["service"] == 60.0  # type: ignore[union-attr]


def test_an_adjusted_finding_costs_what_the_trainer_says(engine: Engine) -> None:
    sid = play(engine, uid(engine, "xiaoman"))
    with engine.store.read() as s:
        grade = get_grade(s, sid).grade  # type: ignore[union-attr]
    o = FindingOverride(
        session_id=sid,
        criterion="greeting",
        turn=1,
        ordinal=0,
        dimension="service",
        action=OverrideAction.ADJUSTED.value,
        points=2.5,
        original_points=5.0,
        author_id=1,
    )
    eff = effective_grade(grade, [o])
    assert eff.criterion("greeting").earned == 10.0 and eff.findings()[0].points == 2.5  # type: ignore[union-attr]
    assert grade.criterion("greeting").earned == 7.5  # type: ignore[union-attr]


# -- export and scope ------------------------------------------------------------------------------------------


def test_csv_export_is_excel_friendly_and_formula_safe(engine: Engine) -> None:
    sid = play(engine, uid(engine, "xiaoman"))
    with engine.store.write() as s:
        s.query(FindingFact).filter_by(session_id=sid).one().message = '=HYPERLINK("http://x")'
    with engine.store.read() as s:
        text = "".join(export.findings(s, None, Filters(), TZ))
        attempts = "".join(export.attempts(s, None, Filters(), TZ))
    assert text.startswith("\ufeffsession_id,")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0]["message"].startswith("'=HYPERLINK")
    (a,) = list(csv.DictReader(io.StringIO(attempts.lstrip("\ufeff"))))
    assert (a["agent"], a["source"], a["overall"], a["passed"]) == ("xiaoman", "practice", "72.5", "0")


def test_trainers_see_their_own_teams_and_the_unassigned(engine: Engine) -> None:
    lw, other = uid(engine, "laowang"), uid(engine, "other")
    me, aj, a3 = uid(engine, "xiaoman"), uid(engine, "ajie"), uid(engine, "a3")
    with engine.store.write() as s:
        mine = create_group(s, "我的组", trainer_id=lw).id
        theirs = create_group(s, "别人的组", trainer_id=other).id
        add_members(s, mine, [me])
        add_members(s, theirs, [aj])
    with engine.store.read() as s:
        lw_view = Viewer(lw, UserRole.TRAINER)
        assert set(people_in_scope(s, lw_view)) == {me, a3, uid(engine, "a4")}  # own group + nobody's
        assert people_in_scope(s, lw_view, theirs) == []
        assert people_in_scope(s, lw_view, mine) == [me]
        assert not may_see(s, lw_view, aj) and may_see(s, lw_view, me)
        assert aj in people_in_scope(s, ADMIN)
        trainee = Viewer(me, UserRole.TRAINEE)
        assert people_in_scope(s, trainee) == [me] and not may_see(s, trainee, a3)


def test_one_attempt_answers_the_trainers_and_the_plans_assignment(engine: Engine, clock: Clock) -> None:
    me, trainer = uid(engine, "xiaoman"), uid(engine, "laowang")
    with engine.store.write() as s:
        plain = create_assignment(s, trainer_id=trainer, trainee_id=me, scenario_id=SCENARIO)
        plain.created_at = clock.at - timedelta(days=2)
        pid = create_plan(
            s,
            PlanRequest(trainer, "greeting", "service", "问候", ProblemType.INDIVIDUAL, [me], scenario_ids=[SCENARIO]),
            tz=TZ,
            now=clock.at - timedelta(hours=1),
        ).id
        plain_id = plain.id
    play(engine, me)
    with engine.store.read() as s:
        assert s.get(Assignment, plain_id).status == "done"  # type: ignore[union-attr]
        (m,) = progress(s, pid)
        assert m.training[0].status == "done" and len(m.retests) == 2
