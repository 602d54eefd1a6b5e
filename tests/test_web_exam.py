"""The exam pages through the app: scheduling, the exam page under exam conditions (deadlines, one tab, recorded
pastes, nothing revealed before the window closes), results, review, overrides, appeals, certificates, /verify.

The shipped qinghe certification with the offline engine (scripted customer, keyword grader), one app per module
with a clock the tests move."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from exam_helpers import REPO, Clock, correct, wrong
from fakes import PAYLOAD, client_for, login

from simulator.engine import Engine
from simulator.session import fill_variables
from simulator.settings import Settings
from simulator.store.groups import add_members, create_group
from simulator.store.users import create_user, password_hasher
from web import create_app
from web.ratelimit import RateLimiter


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("webexam")
    settings = Settings(
        data_dir=tmp / "data",
        scenarios_dir=REPO / "scenarios",
        knowledge_dir=REPO / "knowledge",
        embedder="fake",
        secret_key="test-secret-key-exam",
    )
    clock = Clock()
    engine = Engine(settings, embeddings=False, knowledge_index=False, clock=clock)
    hasher = password_hasher(fast=True)
    app = create_app(
        settings, engine=engine, hasher=hasher, sweep_every=None, limiter=RateLimiter(burst=500, per_second=500)
    )
    users = {}
    with engine.store.write() as s:
        for name, role in (("zhou", "exam-owner"), ("laowang", "trainer")):
            users[name] = create_user(s, hasher, name, "demo1234", role=role, display_name=name).id
        for i in range(12):
            users[f"t{i}"] = create_user(
                s, hasher, f"t{i}", "demo1234", display_name=f"学员{i}{PAYLOAD if i == 0 else ''}"
            ).id
        group = create_group(s, "2026-12 新人班")
        add_members(s, group.id, [users[f"t{i}"] for i in range(12)])
        users["group"] = group.id
    yield {"app": app, "engine": engine, "clock": clock, "users": users}
    engine.store.dispose()


def H(token: str, tab: str = "tab-1") -> dict[str, str]:
    return {"X-CSRF-Token": token, "HX-Request": "true", "X-Exam-Tab": tab}


def schedule(env: dict[str, Any], target: str, *, hours: float = 6) -> None:
    o, ot = login(env["app"], "zhou")
    now = env["clock"].now
    r = o.post(
        "/examiner/windows",
        data={
            "csrf_token": ot,
            "exam_id": "qinghe-newhire-cert",
            "target": target,
            "opens": now.strftime("%Y-%m-%dT%H:%M"),
            "closes": (now + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M"),
            "note": "请准时参加",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/examiner?scheduled=1", r.text


def begin(env: dict[str, Any], who: str) -> tuple[Any, str, int]:
    """Log in, open the exam list, start; returns the client, token, attempt id."""
    c, t = login(env["app"], who)
    page = c.get("/exams")
    assert page.status_code == 200 and "开始考试" in page.text
    wid = re.findall(r"/exams/windows/(\d+)/start", page.text)[-1]
    r = c.post(f"/exams/windows/{wid}/start", data={"csrf_token": t})
    assert r.status_code == 303
    aid = int(r.headers["location"].rsplit("/", 1)[-1])
    assert c.post(f"/exam/{aid}/claim", headers=H(t)).status_code == 204
    return c, t, aid


def answer_all(env: dict[str, Any], c: Any, t: str, aid: int, *, right: bool = True) -> None:
    v = env["app"].state.services.exams.view(aid)
    for d in v.frozen.questions["written"]:
        q = v.frozen.bank_questions[d.key][1]
        a = correct(q) if right else wrong(q)
        values = a if isinstance(a, list) else [str(a).lower() if isinstance(a, bool) else a]
        r = c.post(f"/exam/{aid}/answer", data={"question": d.key, "answer": values}, headers=H(t))
        assert r.status_code == 200 and "已保存" in r.text, r.text


def play(env: dict[str, Any], c: Any, t: str, aid: int, side: str = "good") -> None:
    engine, clock = env["engine"], env["clock"]
    for _ in range(3):
        page = c.get(f"/exam/{aid}")
        m = re.search(r'hx-post="(/exam/\d+/chat/([0-9a-f-]+))/reply"', page.text)
        assert m, page.text[-1500:]
        url, sid = m.group(1), m.group(2)
        session = engine.conversation(sid)
        scenario = engine.scenario_of(session)
        for text in getattr(scenario.references, side).replies:
            if engine.conversation(sid).ended:
                break
            clock.advance(seconds=12)
            r = c.post(url + "/reply", data={"text": fill_variables(text, session.variables)}, headers=H(t))
            assert r.status_code == 200, r.text
            after = re.search(r'"after": (\d+)', r.text).group(1)  # type: ignore[union-attr]
            assert c.post(url + "/customer", data={"after": after}, headers=H(t)).status_code == 200
        if not engine.conversation(sid).ended:
            assert c.post(url + "/end", headers=H(t)).status_code == 204
        else:
            c.post(f"/exam/{aid}/next", headers=H(t))


def graded(env: dict[str, Any]) -> None:
    env["engine"]._grading.submit(lambda: None).result(timeout=120)


def test_a_whole_exam_in_the_browser_flow(env: dict[str, Any]) -> None:
    schedule(env, f"user:{env['users']['t1']}")
    c, t, aid = begin(env, "t1")
    intro = c.get(f"/exam/{aid}").text
    assert "开始本部分" in intro and "限时 20 分钟" in intro and 'href="/reports"' not in intro  # focused: no nav
    assert c.post(f"/exam/{aid}/part/start", headers=H(t)).status_code == 204
    page = c.get(f"/exam/{aid}").text
    remaining = int(re.search(r'data-remaining-ms="(\d+)"', page).group(1))  # type: ignore[union-attr]
    assert 19 * 60_000 < remaining <= 20 * 60_000  # the server's clock, not the browser's
    assert page.count('class="card question"') == 20
    answer_all(env, c, t, aid)
    assert c.post(f"/exam/{aid}/submit", headers=H(t)).status_code == 204
    assert c.post(f"/exam/{aid}/part/start", headers=H(t)).status_code == 204
    roleplay = c.get(f"/exam/{aid}").text
    assert "知识库" in roleplay and "第 1 / 3 位买家" in roleplay
    play(env, c, t, aid)
    r = c.post(f"/exam/{aid}/submit", headers=H(t))
    assert r.status_code == 204 and r.headers["HX-Redirect"] == f"/exam/{aid}/result"
    graded(env)
    result = c.get(f"/exam/{aid}/result").text
    assert "通过" in result and "你的证书" in result and "完整报告" in result
    code = re.search(r"/certificates/([0-9A-Z-]{14})", result).group(1)  # type: ignore[union-attr]
    cert = c.get(f"/certificates/{code}")
    assert cert.status_code == 200 and "上岗认证证书" in cert.text and code in cert.text
    pdf = c.get(f"/certificates/{code}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and len(pdf.content) > 5000
    anon = client_for(env["app"])
    v = anon.get(f"/verify/{code}")
    assert v.status_code == 200 and "有效" in v.text and "学员1" in v.text
    assert anon.get(f"/verify?code={code.lower()}").headers["location"] == f"/verify/{code}"
    other, _ = login(env["app"], "t2")
    assert other.get(f"/certificates/{code}").status_code == 404  # a certificate page is its holder's
    assert other.get(f"/exam/{aid}/result").status_code == 404


def test_nothing_is_revealed_before_the_window_closes(env: dict[str, Any]) -> None:
    schedule(env, f"user:{env['users']['t3']}")
    c, t, aid = begin(env, "t3")
    c.post(f"/exam/{aid}/part/start", headers=H(t))
    svc = env["app"].state.services
    v = svc.exams.view(aid)
    secrets = [e for d in v.frozen.questions["written"] if (e := v.frozen.bank_questions[d.key][1].explanation)]
    page = c.get(f"/exam/{aid}").text
    for s in secrets:
        assert s not in page  # no explanations (model answers) on the exam page
    answer_all(env, c, t, aid, right=False)
    c.post(f"/exam/{aid}/submit", headers=H(t))
    c.post(f"/exam/{aid}/part/start", headers=H(t))
    roleplay = c.get(f"/exam/{aid}").text
    sid = re.search(r"/exam/\d+/chat/([0-9a-f-]+)/reply", roleplay).group(1)  # type: ignore[union-attr]
    scenario = env["engine"].scenario_of(env["engine"].conversation(sid))
    assert scenario.summary not in roleplay  # the practice briefing hints at the answer: not in an exam
    for ref in scenario.references.good.replies[:2]:  # type: ignore[union-attr]
        assert fill_variables(ref, env["engine"].conversation(sid).variables) not in roleplay
    assert c.get(f"/chat/{sid}").headers["location"] == f"/exam/{aid}"  # the practice chat is not a way in
    assert c.post(f"/chat/{sid}/reply", data={"text": "hi"}, headers=H(t)).status_code == 404
    play(env, c, t, aid, side="bad")
    c.post(f"/exam/{aid}/submit", headers=H(t))
    graded(env)
    result = c.get(f"/exam/{aid}/result").text
    assert "未通过" in result and "重考前的练习计划" in result
    assert "正确答案:" not in result and "提交申诉" not in result
    assert all(s not in result for s in secrets)
    # the report card of an exam conversation waits for the window too
    assert c.get(f"/reports/{sid}").headers["location"] == f"/exam/{aid}/result"
    env["clock"].advance(hours=7)
    after = c.get(f"/exam/{aid}/result").text
    assert "正确答案:" in after and "提交申诉" in after and any(s in after for s in secrets)
    assert c.get(f"/reports/{sid}").status_code == 200


def test_deadlines_tabs_and_page_events(env: dict[str, Any]) -> None:
    schedule(env, f"user:{env['users']['t4']}")
    c, t, aid = begin(env, "t4")
    c.post(f"/exam/{aid}/part/start", headers=H(t))
    v = env["app"].state.services.exams.view(aid)
    key = v.frozen.questions["written"][0].key
    q = v.frozen.bank_questions[key][1]
    value = correct(q)
    data = {"question": key, "answer": value if isinstance(value, list) else [str(value).lower()]}
    assert c.post(f"/exam/{aid}/answer", data=data, headers=H(t)).status_code == 200
    # a paste and leaving the page are recorded, not blocked
    assert (
        c.post(f"/exam/{aid}/events", data={"kind": "paste", "chars": 42, "field": "q3"}, headers=H(t)).status_code
        == 204
    )
    assert c.post(f"/exam/{aid}/events", data={"kind": "away"}, headers=H(t)).status_code == 204
    assert c.post(f"/exam/{aid}/events", data={"kind": "back", "away_ms": 8200}, headers=H(t)).status_code == 204
    assert c.post(f"/exam/{aid}/events", data={"kind": "hack"}, headers=H(t)).status_code == 400
    # a second tab takes over; the first is refused with a clear message
    assert c.post(f"/exam/{aid}/claim", headers=H(t, "tab-2")).status_code == 204
    r = c.post(f"/exam/{aid}/answer", data=data, headers=H(t, "tab-1"))
    assert r.status_code == 409 and "另一个标签页" in r.text and r.headers["HX-Retarget"] == "#flash"
    assert c.post(f"/exam/{aid}/answer", data=data, headers=H(t, "tab-2")).status_code == 200
    # after the deadline: refused, said clearly, and the part is closed by the server's clock
    env["clock"].advance(minutes=21)
    r = c.post(f"/exam/{aid}/answer", data=data, headers=H(t, "tab-2"))
    assert r.status_code == 409 and "时间已到" in r.text
    page = c.get(f"/exam/{aid}").text
    assert "情景模拟" in page and "开始本部分" in page  # the written part was submitted at its deadline
    o, _ = login(env["app"], "zhou")
    review = o.get(f"/examiner/attempts/{aid}").text
    for label in (
        "粘贴文字",
        "42 个字符",
        "离开页面",
        "离开 8.2 秒",
        "在另一个标签页打开",
        "已拒绝：来自另一个标签页",
        "已拒绝：超过截止时间",
        "时间到自动交卷",
    ):
        assert label in review, label
    live = o.get("/examiner/live").text
    assert "学员4" in live


def test_the_exam_owner_reviews_overrides_and_decides_appeals(env: dict[str, Any]) -> None:
    schedule(env, f"group:{env['users']['group']}")
    c, t, aid = begin(env, "t5")
    c.post(f"/exam/{aid}/part/start", headers=H(t))
    answer_all(env, c, t, aid)
    c.post(f"/exam/{aid}/submit", headers=H(t))
    c.post(f"/exam/{aid}/part/start", headers=H(t))
    play(env, c, t, aid, side="bad")
    c.post(f"/exam/{aid}/submit", headers=H(t))
    graded(env)
    o, ot = login(env["app"], "zhou")
    dash = o.get("/examiner").text
    assert "学员5" in dash and f"/examiner/attempts/{aid}" in dash
    review = o.get(f"/examiner/attempts/{aid}").text
    assert "撤销扣分" in review and "随机种子" in review and "评分器版本" in review
    key, sid = re.search(
        r'name="target" value="([^"]+)"><input type="hidden" name="session_id" value="([0-9a-f-]+)"', review
    ).groups()  # type: ignore[union-attr]
    r = o.post(
        f"/examiner/attempts/{aid}/override",
        data={"csrf_token": ot, "target": key, "session_id": sid, "action": "dismiss", "reason": ""},
    )
    assert r.status_code == 400 and "reason" in r.text  # a written reason is required
    reason = f"买家并未要求，扣分不成立 {PAYLOAD}"
    r = o.post(
        f"/examiner/attempts/{aid}/override",
        data={"csrf_token": ot, "target": key, "session_id": sid, "action": "dismiss", "reason": reason},
    )
    assert r.status_code == 303
    audit = o.get("/examiner/audit").text
    assert "改判扣分项" in audit and "&lt;script&gt;" in audit and PAYLOAD not in audit
    # the trainee appeals a written answer once the window is over; the owner upholds it
    env["clock"].advance(hours=7)
    v = env["app"].state.services.exams.view(aid)
    qkey = v.frozen.questions["written"][0].key
    r = c.post(
        f"/exam/{aid}/appeal", data={"csrf_token": t, "target": f"question:{qkey}", "text": f"题目有歧义{PAYLOAD}"}
    )
    assert r.status_code == 303
    dash = o.get("/examiner").text
    assert "待处理的申诉" in dash and PAYLOAD not in dash
    review = o.get(f"/examiner/attempts/{aid}").text
    appeal_id = re.search(r"/examiner/appeals/(\d+)/decide", review).group(1)  # type: ignore[union-attr]
    r = o.post(
        f"/examiner/appeals/{appeal_id}/decide",
        data={"csrf_token": ot, "decision": "uphold", "reason": "选项确实不清楚", "back": aid},
    )
    assert r.status_code == 303
    result = c.get(f"/exam/{aid}/result").text
    assert "已支持" in result and "选项确实不清楚" in result
    export = o.get("/examiner/overrides.json").json()
    assert [e["action"] for e in export if e["attempt"] == aid] == ["dismiss", "accept"]


def test_attempt_cap_and_reopen_through_the_pages(env: dict[str, Any]) -> None:
    svc = env["app"].state.services
    schedule(env, f"user:{env['users']['t6']}", hours=24 * 30)
    for _ in range(3):
        c, t, aid = begin(env, "t6")
        c.post(f"/exam/{aid}/part/start", headers=H(t))
        answer_all(env, c, t, aid, right=False)
        c.post(f"/exam/{aid}/submit", headers=H(t))
        c.post(f"/exam/{aid}/part/start", headers=H(t))
        play(env, c, t, aid, side="bad")
        c.post(f"/exam/{aid}/submit", headers=H(t))
        graded(env)
        env["clock"].advance(hours=25)
        for item in svc.exams.view(aid).plan:  # the practice plan, done
            sid = env["engine"].start(env["users"]["t6"], item.scenario_id)
            env["engine"].submit(sid, "亲，您好～")
            env["engine"].respond(sid)
            env["engine"].end(sid, abandon=False)
    page = c.get("/exams").text
    assert "你已用完全部考试次数" in page and "开始考试" not in page
    o, ot = login(env["app"], "zhou")
    r = o.post(
        "/examiner/reopen",
        data={
            "csrf_token": ot,
            "user_id": env["users"]["t6"],
            "exam_id": "qinghe-newhire-cert",
            "reason": "经主管批准补考一次",
        },
    )
    assert r.status_code == 303
    assert "开始考试" in c.get("/exams").text


def test_verify_says_valid_expired_revoked(env: dict[str, Any]) -> None:
    svc = env["app"].state.services
    schedule(env, f"user:{env['users']['t7']}")
    c, t, aid = begin(env, "t7")
    c.post(f"/exam/{aid}/part/start", headers=H(t))
    answer_all(env, c, t, aid)
    c.post(f"/exam/{aid}/submit", headers=H(t))
    c.post(f"/exam/{aid}/part/start", headers=H(t))
    play(env, c, t, aid)
    c.post(f"/exam/{aid}/submit", headers=H(t))
    graded(env)
    cert = next(x for x, _ in svc.review.certificates_of(env["users"]["t7"]))
    anon = client_for(env["app"])
    assert "有效" in anon.get(f"/verify/{cert.code}").text
    env["clock"].advance(days=366)
    assert "已过期" in anon.get(f"/verify/{cert.code}").text
    o, ot = login(env["app"], "zhou")
    r = o.post(f"/examiner/certificates/{cert.id}/revoke", data={"csrf_token": ot, "reason": "员工已离职"})
    assert r.status_code == 303
    page = anon.get(f"/verify/{cert.code}")
    assert "已吊销" in page.text and page.headers["cache-control"] == "no-store"
    assert c.get(f"/certificates/{cert.code}/pdf").status_code == 410
    en = client_for(env["app"])
    en.cookies.set("lang", "en")
    assert "Revoked" in en.get(f"/verify/{cert.code}").text
    env["clock"].advance(days=-366)


def test_exam_pages_have_no_inline_script_and_speak_english(env: dict[str, Any]) -> None:
    schedule(env, f"user:{env['users']['t8']}")
    c, _t, aid = begin(env, "t8")
    c.cookies.set("lang", "en")
    o, _ = login(env["app"], "zhou")
    o.cookies.set("lang", "en")
    pages = [
        c.get("/exams"),
        c.get(f"/exam/{aid}"),
        o.get("/examiner"),
        o.get(f"/examiner/attempts/{aid}"),
        o.get("/examiner/audit"),
        o.get("/examiner/certificates"),
        client_for(env["app"]).get("/verify"),
    ]
    assert "Start this part" in pages[1].text and "Schedule an exam" in pages[2].text
    for r in pages:
        assert r.status_code == 200
        for tag in re.findall(r"<script\b[^>]*>", r.text):
            assert "src=" in tag or 'type="application/json"' in tag, tag
        for tag in re.findall(r"<[a-zA-Z][^>]*>", r.text):
            assert not re.search(r"\son[a-z]+\s*=", tag) and " style=" not in tag, tag


def test_a_closed_knowledge_panel_is_closed_on_the_server(tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "scenarios"
    shutil.copytree(REPO / "scenarios", folder)
    exam = (folder / "exams" / "qinghe-newhire-cert.yaml").read_text(encoding="utf-8")
    (folder / "exams" / "qinghe-newhire-cert.yaml").write_text(
        exam.replace("knowledge_panel: true", "knowledge_panel: false"), encoding="utf-8"
    )
    from fakes import FakeKnowledge

    settings = Settings(
        data_dir=tmp_path / "data",
        scenarios_dir=folder,
        knowledge_dir=REPO / "knowledge",
        embedder="fake",
        secret_key="k" * 20,
    )
    engine = Engine(settings, embeddings=False, knowledge=FakeKnowledge())  # type: ignore[arg-type]
    hasher = password_hasher(fast=True)
    app = create_app(settings, engine=engine, hasher=hasher, sweep_every=None)
    with engine.store.write() as s:
        uid = create_user(s, hasher, "xiaoman", "demo1234").id
    env = {"app": app, "engine": engine, "clock": None, "users": {}}
    svc = app.state.services
    svc.exams.schedule(
        None,
        "qinghe-newhire-cert",
        opens_at=svc.exams.now(),
        closes_at=svc.exams.now() + timedelta(hours=2),
        user_id=uid,
    )
    c, _t, _aid = begin(env, "xiaoman")
    assert (
        c.get("/kb/search", params={"q": "运费险"}, headers={"HX-Request": "true"}).text.count("本场考试不开放知识库")
        == 1
    )
    engine.store.dispose()
