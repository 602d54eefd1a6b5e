"""The 质培联动 loop in the web app (in-process, with fakes): import real chats in the browser, watch them graded,
see the problems on the trainer's dashboard, create a plan in one click, the trainee's assignments and retests
appear and update as they play, improvement shows, reviews and comments on reports, CSV export, teams, and who
may see what."""

from __future__ import annotations

import re

from fakes import hx, login, say, start

from simulator.store.assignments import Assignment
from simulator.store.facts import ScoreFact
from simulator.store.groups import add_members, create_group
from simulator.store.plans import PlanMember, TrainingPlan
from simulator.store.sessions import SessionRecord
from simulator.store.users import create_user, get_user_by_name, password_hasher

DAY = "会话ID,时间,发送方,客服,内容\n" + "".join(
    f"d{n},2026-11-20 10:{n:02d}:00,买家,,这件衣服有货吗\n"
    f"d{n},2026-11-20 10:{n:02d}:20,客服,青禾旗舰店:{'小满' if n % 2 else '阿杰'},有的\n"
    for n in range(12)
)


def _uid(app, name: str) -> int:  # type: ignore[no-untyped-def]
    with app.state.services.engine.store.read() as s:
        return get_user_by_name(s, name).id


def _upload(c, token: str, text: str = DAY, name: str = "day.csv", **form: str):  # type: ignore[no-untyped-def]
    data = {"csrf_token": token, "create_agents": "1", "shop": "qinghe", **form}
    return c.post("/trainer/imports", data=data, files=[("files", (name, text.encode("utf-8"), "text/csv"))])


def _grade_all(app) -> None:  # type: ignore[no-untyped-def]
    app.state.services.background.run_once()


def test_trainer_lands_on_the_dashboard(app) -> None:
    c, _ = login(app, "laowang")  # the helper reads "/" afterwards; the login itself redirected
    fresh = c.get("/trainer")
    assert fresh.status_code == 200 and "质培看板" in fresh.text and "模拟练习与真实会话对比" in fresh.text
    from fakes import client_for, csrf_of

    b = client_for(app)
    token = csrf_of(b.get("/login").text)
    r = b.post("/login", data={"username": "laowang", "password": "demo1234", "csrf_token": token, "next": "/"})
    assert r.headers["location"] == "/trainer"
    t = client_for(app)
    token = csrf_of(t.get("/login").text)
    r = t.post("/login", data={"username": "xiaoman", "password": "demo1234", "csrf_token": token, "next": "/"})
    assert r.headers["location"] == "/"


def test_import_grade_classify_plan_practise_retest(app) -> None:
    """The issue's "Done when", in-process: a day of real chats → problems with modes → a plan in one action →
    the trainee's assignment and retests appear and update as they practise → improvement on the dashboard."""
    engine = app.state.services.engine
    t, token = login(app, "laowang")
    r = _upload(t, token)
    assert r.status_code == 303, r.text
    page = t.get(r.headers["location"]).text
    assert "12 个会话" in page and 'hx-trigger="every 1s"' in page  # the progress bar polls
    _grade_all(app)
    progress = t.get(r.headers["location"] + "/progress", headers={"HX-Request": "true"}).text
    assert "已评分 12 / 12" in progress and "every 1s" not in progress  # finished: no more polling
    polled = t.get(r.headers["location"] + "/progress?polling=1", headers={"HX-Request": "true"})
    assert polled.headers["HX-Refresh"] == "true"  # the page that watched reloads with the graded chats
    assert t.get(r.headers["location"]).text.count('href="/reports/') == 12
    with engine.store.read() as s:
        assert s.query(ScoreFact).filter(ScoreFact.source == "real").count() == 12
    # the fake grade loses points on "greeting" in every conversation: both agents have the problem
    dash = t.get("/trainer", params={"days": "7"})
    assert dash.status_code == 200
    assert "greeting" in dash.text and "一对一辅导，每次15–30分钟，7天内至少3次" in dash.text
    assert dash.text.count('data-problem="individual:greeting:') == 2
    keys = re.findall(r'name="problem" value="([^"]+)"', dash.text)
    query = re.search(r'name="query" value="([^"]*)"', dash.text).group(1)  # type: ignore[union-attr]
    me = _uid(app, "xiaoman")
    mine = next(k for k in keys if k.endswith(f":{me}"))
    r = t.post("/trainer/plans", data={"csrf_token": token, "problem": mine, "query": query})
    assert r.status_code == 303 and "/trainer/plans/" in r.headers["location"]
    plan_page = t.get(r.headers["location"]).text
    assert "培训计划已生成" in plan_page and "犹豫的上班族" in plan_page  # the scenario that trains greeting
    with engine.store.read() as s:
        plan = s.query(TrainingPlan).one()
        member = s.query(PlanMember).one()
        assert (plan.criterion, plan.problem_type, plan.mode) == ("greeting", "individual", "coaching")
        assert member.user_id == me and member.before_n == 6 and member.before_lost == 6
    # the trainee's home page shows it
    c, ctoken = login(app, "xiaoman")
    home = c.get("/").text
    assert "我的培训任务" in home and "未开始" in home
    sid = start(c, ctoken)
    assert "进行中" in c.get("/").text
    say(c, ctoken, sid, "买")
    engine._grading.submit(lambda: None).result(timeout=10)
    home = c.get("/").text
    assert "已完成" in home and home.count("复测") >= 2  # two retests, from tomorrow and three days later
    assert f"/reports/{sid}" in home
    with engine.store.read() as s:
        retests = s.query(Assignment).filter(Assignment.kind == "retest").order_by(Assignment.round).all()
        assert [a.round for a in retests] == [1, 2] and all(not a.available() for a in retests)
    # the plan page shows the training done and the retests waiting
    plan_page = t.get(f"/trainer/plans/{plan.id}").text
    assert "已完成" in plan_page and "第1次" in plan_page and "第2次" in plan_page
    # improvement: practice after the training is there; real chats before
    imp = t.get("/trainer/improvement").text
    assert plan.title in imp


def test_a_broken_upload_imports_nothing_and_says_where(app) -> None:
    t, token = login(app, "laowang")
    bad = DAY + "d99,not a time,买家,,hi\n"
    r = _upload(t, token, bad)
    assert r.status_code == 400
    assert "没有导入任何内容" in r.text and "day.csv:26:2: time &#39;not a time&#39; is not a date" in r.text
    with app.state.services.engine.store.read() as s:
        assert s.query(SessionRecord).count() == 0
    r = _upload(t, token, DAY, create_agents="")
    assert r.status_code == 400 and "has no account" in r.text


def test_upload_limit_is_larger_for_imports_only(app) -> None:
    t, token = login(app, "laowang")
    big = "x" * 200_000
    r = t.post("/trainer/imports", data={"csrf_token": token}, files=[("files", ("a.txt", big.encode(), "text/plain"))])
    assert r.status_code == 400  # read and refused as a log, not as a body that is too large
    r = t.post("/chat/x/reply", data={"text": big}, headers=hx(token))
    assert r.status_code == 413


def test_review_a_finding_and_comment(app) -> None:
    c, token = login(app, "xiaoman")
    sid = start(c, token)
    say(c, token, sid, "买")
    app.state.services.engine._grading.submit(lambda: None).result(timeout=10)
    t, ttoken = login(app, "laowang")
    report = t.get(f"/reports/{sid}").text
    assert "复核这条扣分" in report
    form = dict(re.findall(r'name="(criterion|turn|ordinal)" value="([^"]*)"', report))
    r = t.post(
        f"/reports/{sid}/overrides", data={"csrf_token": ttoken, "action": "rejected", "reason": "问候了", **form}
    )
    assert r.status_code == 303
    report = t.get(f"/reports/{sid}").text
    assert "主管复核后" in report and "已被 老王 撤销" in report
    with app.state.services.engine.store.read() as s:
        fact = s.get(ScoreFact, sid)
        assert fact is not None and fact.reviewed and fact.service == 100.0
    r = t.post(f"/reports/{sid}/comments", data={"csrf_token": ttoken, "text": "第一句先问候，别忘了"})
    assert r.status_code == 303
    mine = c.get(f"/reports/{sid}").text
    assert "第一句先问候，别忘了" in mine and "已被 老王 撤销" in mine and "复核这条扣分" not in mine
    # a trainee cannot review
    r = c.post(f"/reports/{sid}/comments", data={"csrf_token": token, "text": "x"})
    assert r.status_code == 403
    # undo
    oid = re.search(rf"/reports/{sid}/overrides/(\d+)/delete", report).group(1)  # type: ignore[union-attr]
    t.post(f"/reports/{sid}/overrides/{oid}/delete", data={"csrf_token": ttoken})
    with app.state.services.engine.store.read() as s:
        assert s.get(ScoreFact, sid).reviewed is False  # type: ignore[union-attr]


def test_teams_scope_what_a_trainer_sees(app) -> None:
    engine = app.state.services.engine
    with engine.store.write() as s:
        other = create_user(s, password_hasher(fast=True), "zhang", "demo1234", role="trainer", display_name="张主管")
        g = create_group(s, "张的组", trainer_id=other.id)
        add_members(s, g.id, [get_user_by_name(s, "ajie").id])
    a, atoken = login(app, "ajie")
    sid = start(a, atoken)
    say(a, atoken, sid, "买")
    engine._grading.submit(lambda: None).result(timeout=10)
    t, token = login(app, "laowang")
    assert t.get(f"/reports/{sid}").status_code == 404  # ajie is in another trainer's team
    assert t.get(f"/trainer/people/{_uid(app, 'ajie')}").status_code == 404
    assert f"/reports/{sid}" not in t.get("/trainer/reports").text
    z, ztoken = login(app, "zhang")
    assert z.get(f"/reports/{sid}").status_code == 200
    assert z.get(f"/trainer/people/{_uid(app, 'ajie')}").status_code == 200
    adm, _ = login(app, "admin")
    assert adm.get(f"/reports/{sid}").status_code == 200
    # laowang makes a team of his own; the page lists it and its people
    r = t.post("/trainer/teams", data={"csrf_token": token, "name": "老王的组", "kind": "team"})
    assert r.status_code == 303
    page = t.get("/trainer/teams").text
    gid = re.search(r'id="team-(\d+)"', page).group(1)  # type: ignore[union-attr]
    t.post(f"/trainer/teams/{gid}/members", data={"csrf_token": token, "user_id": [_uid(app, "xiaoman")]})
    assert "小满" in t.get("/trainer/teams").text
    assert z.post(f"/trainer/teams/{gid}/members", data={"csrf_token": ztoken, "user_id": [1]}).status_code == 404


def test_coaching_notes_and_person_page(app) -> None:
    t, token = login(app, "laowang")
    me = _uid(app, "xiaoman")
    r = t.post(f"/trainer/people/{me}/notes", data={"csrf_token": token, "text": "练了开场问候三遍", "minutes": "20"})
    assert r.status_code == 303
    page = t.get(f"/trainer/people/{me}").text
    assert "练了开场问候三遍" in page and "20 分钟" in page and "辅导记录已保存" not in page
    assert "辅导记录已保存" in t.get(r.headers["location"]).text
    r = t.post(f"/trainer/people/{me}/notes", data={"csrf_token": token, "text": "  "})
    assert r.status_code == 400


def test_csv_export_for_the_filters(app) -> None:
    c, token = login(app, "xiaoman")
    sid = start(c, token)
    say(c, token, sid, "买")
    app.state.services.engine._grading.submit(lambda: None).result(timeout=10)
    t, _ = login(app, "laowang")
    r = t.get("/trainer/export/attempts.csv", params={"days": "7"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    text = r.content.decode("utf-8-sig")
    assert text.startswith("session_id,source,agent") and sid in text
    assert t.get("/trainer/export/findings.csv").status_code == 200
    assert t.get("/trainer/export/plans.csv").status_code == 200
    assert t.get("/trainer/export/passwords.csv").status_code == 404
    assert c.get("/trainer/export/attempts.csv").status_code == 403


def test_dashboard_filters_swap_the_body_only(app) -> None:
    t, _ = login(app, "laowang")
    r = t.get(
        "/trainer", params={"days": "90", "src": "real"}, headers={"HX-Request": "true", "HX-Target": "dashboard-body"}
    )
    assert r.status_code == 200 and "<html" not in r.text and 'id="dashboard-body"' in r.text
    assert "按周" in r.text  # 90 days: weekly buckets


def test_an_overdue_assignment_shows_overdue(app) -> None:
    engine = app.state.services.engine
    t, token = login(app, "laowang")
    r = t.post(
        "/trainer/assignments",
        data={
            "csrf_token": token,
            "trainee_id": _uid(app, "xiaoman"),
            "scenario_id": "presale-size-hesitant-office",
            "due": "2020-01-31",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/trainer/scenarios?assigned=1"
    c, _ = login(app, "xiaoman")
    assert "已逾期" in c.get("/").text
    with engine.store.read() as s:
        assert s.query(Assignment).one().status == "open"
