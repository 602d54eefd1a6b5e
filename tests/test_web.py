"""The web app with fakes: pages, htmx fragments, the conversation flow, reports, trainer pages, persistence."""

from __future__ import annotations

import re

from fakes import (
    bubbles,
    client_for,
    fake_engine,
    login,
    say,
    start,
)

from simulator.session import fill_variables
from simulator.store.sessions import list_turns
from web import create_app


def test_login_page_is_public_and_utf8(app) -> None:
    r = client_for(app).get("/login")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "登录" in r.text  # zh-CN by default
    assert 'lang="zh-CN"' in r.text


def test_anonymous_is_sent_to_login(app) -> None:
    r = client_for(app).get("/reports")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/reports"
    r = client_for(app).get("/reports", headers={"HX-Request": "true"})
    assert r.status_code == 401 and r.headers["HX-Redirect"].startswith("/login")


def test_wrong_password(app) -> None:
    from fakes import csrf_of

    c = client_for(app)
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"username": "xiaoman", "password": "nope-nope", "csrf_token": token})
    assert r.status_code == 401 and "用户名或密码错误" in r.text


def test_catalogue_lists_usable_scenarios_with_assignment_first(app) -> None:
    from datetime import UTC, datetime

    from simulator.store.assignments import create_assignment
    from simulator.store.users import get_user_by_name

    svc = app.state.services
    with svc.engine.store.write() as s:
        trainer = get_user_by_name(s, "laowang")
        trainee = get_user_by_name(s, "xiaoman")
        create_assignment(
            s,
            trainer_id=trainer.id,
            trainee_id=trainee.id,
            scenario_id="payload-scenario",
            due_at=datetime(2030, 1, 1, tzinfo=UTC),
            note="先练投诉",
        )
    c, _ = login(app, "xiaoman")
    html = c.get("/").text
    ids = re.findall(r'data-scenario="([^"]+)"', html)
    assert ids == ["payload-scenario", "presale-size-hesitant-office"]  # broken file left out
    assert "主管布置的练习" in html and "先练投诉" in html
    # filters: full page and the htmx fragment
    r = c.get("/?category=pre-sales")
    assert re.findall(r'data-scenario="([^"]+)"', r.text) == ["presale-size-hesitant-office"]
    frag = c.get("/?difficulty=hard", headers={"HX-Request": "true", "HX-Target": "catalogue-list"})
    assert frag.text.lstrip().startswith('<div id="catalogue-list"') and "<html" not in frag.text
    assert re.findall(r'data-scenario="([^"]+)"', frag.text) == ["payload-scenario"]
    assert re.findall(r'data-scenario="([^"]+)"', c.get("/?skill=fabe").text) == ["presale-size-hesitant-office"]
    assert re.findall(r'data-scenario="([^"]+)"', c.get("/?category=bogus").text) == ids  # unknown = no filter


def test_conversation_flow_fragments_and_report(app) -> None:
    c, token = login(app, "xiaoman")
    sid = start(c, token)
    page = c.get(f"/chat/{sid}")
    assert page.status_code == 200
    assert bubbles(page.text) == ["在吗，这条碎花裙子我165穿什么码呀"]
    assert 'id="timer"' in page.text and 'id="kb-q"' in page.text
    sent, answer = say(c, token, sid, "亲，您好～请问您身高体重多少呀？")
    # the reply fragment: the trainee's bubble, acknowledged, and the typing indicator — not a page
    assert "<html" not in sent.text and "亲，您好～请问您身高体重多少呀？" in sent.text
    assert "已发送" in sent.text and 'id="typing"' in sent.text and "正在输入" in sent.text
    assert bubbles(answer.text) == ["顾客第1次回复"]
    assert 'hx-swap-oob="true"' in answer.text and 'data-running="true"' in answer.text
    # the same answer is not produced twice (the indicator may fire again after a reconnect)
    again = c.post(f"/chat/{sid}/customer", data={"after": 0}, headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert again.status_code == 200
    with app.state.services.engine.store.read() as s:
        assert [t.role for t in list_turns(s, sid)] == ["customer", "agent", "customer"]
    say(c, token, sid, "建议您拍M码")
    _, last = say(c, token, sid, "签收后7天内可以换")
    assert "好，我买了" in last.text and "查看成绩单" in last.text and f"/reports/{sid}" in last.text
    report = c.get(f"/reports/{sid}")
    assert report.status_code == 200
    html = report.text
    assert 'id="overall-score">72<' in html or 'id="overall-score">73<' in html
    assert "已下单" in html  # outcome
    assert "未评分" in html  # knowledge unscored, not 0
    assert "没有问候" in html and "亲，您好～" in html  # finding with a better reply
    assert 'id="radar-data"' in html and '"max": 100' in html
    assert "答问比" in html
    assert "{%" not in html and "%}" not in html  # no template syntax leaks into the page
    # finished: more replies are refused with a clear message
    r = c.post(f"/chat/{sid}/reply", data={"text": "还在吗"}, headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert r.status_code == 409 and "已经结束" in r.text and r.headers["HX-Retarget"] == "#flash"


def test_history_and_progress(app) -> None:
    c, token = login(app, "xiaoman")
    for _ in range(2):
        sid = start(c, token)
        say(c, token, sid, "买")
        assert c.get(f"/reports/{sid}").status_code == 200  # waits for the background grading
    html = c.get("/reports").text
    assert html.count("/reports/") >= 2
    assert 'id="progress-data"' in html


def test_end_and_abandon(app) -> None:
    c, token = login(app, "xiaoman")
    sid = start(c, token)
    r = c.post(f"/chat/{sid}/end", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == f"/reports/{sid}"
    assert "顾客离开" in c.get(f"/reports/{sid}").text
    sid2 = start(c, token)
    assert sid2 != sid
    r = c.post(f"/chat/{sid2}/abandon", headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert r.status_code == 204 and r.headers["HX-Redirect"] == f"/reports/{sid2}"
    assert "已放弃" in c.get(f"/reports/{sid2}").text


def test_resume_after_restart(app, settings, knowledge) -> None:
    """A new app on the same data dir (a restart) continues the conversation, including a pending reply."""
    c, token = login(app, "xiaoman")
    sid = start(c, token)
    say(c, token, sid, "您好")
    r = c.post(
        f"/chat/{sid}/reply", data={"text": "请问身高多少？"}, headers={"HX-Request": "true", "X-CSRF-Token": token}
    )
    assert r.status_code == 200  # acknowledged; the customer's answer was never fetched ("crash")
    app.state.services.engine.store.dispose()
    from simulator.store.users import password_hasher

    restarted = create_app(
        settings,
        engine=fake_engine(settings, knowledge),
        hasher=password_hasher(fast=True),
    )
    c2, token2 = login(restarted, "xiaoman")
    assert start(c2, token2) == sid  # "Continue" resumes the unfinished conversation
    page = c2.get(f"/chat/{sid}").text
    assert bubbles(page)[-1] == "请问身高多少？" and 'id="typing"' in page  # pending reply, indicator shown
    answer = c2.post(f"/chat/{sid}/customer", data={"after": 4}, headers={"HX-Request": "true", "X-CSRF-Token": token2})
    assert bubbles(answer.text) == ["顾客第2次回复"]
    restarted.state.services.engine.store.dispose()


def test_knowledge_panel(app, knowledge) -> None:
    c, _ = login(app, "xiaoman")
    r = c.get("/kb/search", params={"q": "七天无理由", "locale": "zh-CN"}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and "<html" not in r.text
    assert "7天无理由退货" in r.text and "knowledge/qinghe/policies/returns-7day.md" in r.text
    assert knowledge.queries == ["七天无理由"]
    full = c.get("/kb/search", params={"q": "运费险"})
    assert "<html" in full.text and "运费险" in full.text


def test_trainer_pages(app) -> None:
    c, token = login(app, "laowang")
    html = c.get("/trainer/scenarios").text
    # the broken file is listed with its path:line:col errors, not a 500
    assert "broken-one.yaml" in html and "有错误" in html
    assert re.search(r"broken-one\.yaml:6:\d+: difficulty: &#39;easyy&#39; is not allowed", html)
    detail = c.get("/trainer/scenarios/presale-size-hesitant-office").text
    assert "参考回复" in detail and "感谢亲的信任" in detail  # trainers see reference replies
    r = c.post("/trainer/playtest/presale-size-hesitant-office", data={"csrf_token": token})
    assert r.status_code == 303
    sid = r.headers["location"].rsplit("/", 1)[-1]
    assert "试玩" in c.get(f"/chat/{sid}").text
    # assignments
    from simulator.store.users import get_user_by_name

    with app.state.services.engine.store.read() as s:
        ajie = get_user_by_name(s, "ajie").id
    r = c.post(
        "/trainer/assignments",
        data={"csrf_token": token, "trainee_id": ajie, "scenario_id": "payload-scenario", "due": "2030-01-31"},
    )
    assert r.status_code == 303
    c2, _ = login(app, "ajie")
    assert re.findall(r'data-scenario="([^"]+)"', c2.get("/").text)[0] == "payload-scenario"
    r = c.post("/trainer/assignments", data={"csrf_token": token, "trainee_id": ajie, "scenario_id": "x1", "due": ""})
    assert r.status_code == 404
    r = c.post(
        "/trainer/assignments",
        data={"csrf_token": token, "trainee_id": ajie, "scenario_id": "payload-scenario", "due": "31/01/2030"},
    )
    assert r.status_code == 400 and "2026-12-31" in r.text


def test_trainer_reads_any_trainees_report(app) -> None:
    c, token = login(app, "xiaoman")
    sid = start(c, token)
    say(c, token, sid, "买")
    t, _ = login(app, "laowang")
    team = t.get("/trainer/reports").text
    assert f"/reports/{sid}" in team and "小满" in team
    assert t.get(f"/reports/{sid}").status_code == 200
    one = t.get("/trainer/reports", params={"user": 1}).text
    assert f"/reports/{sid}" in one


def test_language_switch(app) -> None:
    c, token = login(app, "xiaoman")
    r = c.post("/lang", data={"lang": "en", "next": "/reports", "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/reports"
    html = c.get("/").text
    assert "Scenarios" in html and 'lang="en"' in html and "Practise" in html
    # remembered on the account: a fresh browser gets English after logging in
    c2, _ = login(app, "xiaoman")
    assert 'lang="en"' in c2.get("/").text
    r = c.post("/lang", data={"lang": "xx", "next": "https://evil.example/", "csrf_token": token})
    assert r.headers["location"] == "/"  # no open redirect; unknown language falls back
    assert 'lang="zh-CN"' in c.get("/").text


def test_healthz_and_static(app) -> None:
    c = client_for(app)
    assert c.get("/healthz").text == "ok"
    assert c.get("/static/vendor/htmx-2.0.11.min.js").status_code == 200
    assert c.get("/static/vendor/echarts-6.1.0.min.js").status_code == 200
    assert c.get("/nope").status_code == 404


def test_real_engine_good_reference_buys(settings) -> None:
    """The default offline engine (scripted customer + grader, fake embedder) behind the same pages."""
    from fakes import EXAMPLE

    from simulator.scenario import load_scenario
    from simulator.store.users import create_user, password_hasher

    hasher = password_hasher(fast=True)
    application = create_app(settings, hasher=hasher)
    with application.state.services.engine.store.write() as s:
        create_user(s, hasher, "xiaoman", "demo1234")
    c, token = login(application, "xiaoman")
    sid = start(c, token)
    scenario = load_scenario(EXAMPLE)
    for reply in scenario.references.good.replies:
        _, answer = say(c, token, sid, fill_variables(reply, scenario.variable_values()))
        if "/reports/" in answer.text:
            break
    html = c.get(f"/reports/{sid}").text
    assert "已下单" in html
    score = re.search(r'id="overall-score">(\d+)<', html)
    assert score and int(score.group(1)) >= 80
    application.state.services.engine.store.dispose()


def test_warm_up_freezes_the_start_up_heap(settings, knowledge) -> None:
    import gc

    from fakes import fake_engine
    from fastapi.testclient import TestClient

    application = create_app(settings, engine=fake_engine(settings, knowledge), warm_up=True)
    catalogue = application.state.services.engine.scenarios
    refreshed = []
    real_refresh = catalogue.refresh
    catalogue.refresh = lambda **kw: (refreshed.append(kw), real_refresh(**kw))[1]
    try:
        with TestClient(application) as c:  # runs the lifespan, which starts the warm-up in the background
            assert c.get("/healthz").status_code == 200  # served while warming up
            assert application.state.warmed_up.wait(60)
            assert gc.get_freeze_count() > 0
            assert refreshed  # the scenario catalogue was loaded too
    finally:
        gc.unfreeze()
        application.state.services.engine.store.dispose()


def test_a_finding_does_not_repeat_its_title() -> None:
    from simulator.grading.result import Finding
    from simulator.scenario.vocabulary import Dimension
    from web.report import ShownFinding

    missing = Finding(Dimension.PROCESS, "verify-order", 15, "缺少步骤：先核实订单和签收时间")
    assert ShownFinding(missing, "步骤 先核实订单和签收时间").message == "缺少步骤"
    english = Finding(Dimension.PROCESS, "verify-order", 15, "Missing step: Ask for the order number")
    assert ShownFinding(english, "Step: Ask for the order number").message == "Missing step"
    order = Finding(Dimension.PROCESS, "verify-order", 15, "顺序错误：应先「核实订单」，再做「换货」")
    assert ShownFinding(order, "步骤 核实订单").message == order.message  # says more than the title


def test_a_findings_source_is_not_shown_twice() -> None:
    from simulator.grading.result import Finding, Source, Suggestion
    from simulator.scenario.vocabulary import Dimension
    from web.report import ShownFinding

    fact = "寄回运费先由买家垫付，运费险由保险公司按距离固定赔付约 ¥8–¥25，不是全额报销"
    source = Source("scenario", "insurance", fact)
    f = Finding(Dimension.KNOWLEDGE, "insurance", 20, "没有说明这个知识点", source=source,
                suggestion=Suggestion(fact, "fact"))
    shown = ShownFinding(f, "知识点 " + fact[:30])
    assert shown.better == fact and shown.note == ""
