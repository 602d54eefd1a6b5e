"""Security of the web app: a role check on every route, CSRF, escaping of hostile text, limits, cookies."""

from __future__ import annotations

import re

import pytest
from fakes import (
    IMG_PAYLOAD,
    PAYLOAD,
    client_for,
    csrf_of,
    hx,
    login,
    say,
    start,
)
from starlette.routing import Mount

from simulator.store.users import password_hasher, set_password
from web.auth import PUBLIC_PATHS
from web.security import COOKIE

TRAINER_ONLY = "/trainer"


def _routes(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(method, path) of every route: the app holds the static mount plus the routers below, nothing else."""
    from web.routes import accounts, chat, examiner, exams, pages, trainer, verify

    modules = (accounts, pages, chat, trainer, exams, examiner, verify)
    others = [r for r in app.routes if not isinstance(r, Mount)]
    assert len(others) == len(modules), "a router was added: list its module here"
    out = []
    for mod in modules:
        for r in mod.router.routes:
            for m in sorted(r.methods or []):
                if m != "HEAD":
                    out.append((m, r.path))
    return out


def _fill(path: str) -> str:
    return (
        path.replace("{session_id}", "00000000-0000-0000-0000-000000000000")
        .replace("{scenario_id}", "presale-size-hesitant-office")
        .replace("{code}", "QH7K-4M9P-2XWD")
        .replace("{attempt_id}", "1")
        .replace("{window_id}", "1")
        .replace("{certificate_id}", "1")
        .replace("{appeal_id}", "1")
    )


def test_every_route_requires_login(app) -> None:
    routes = _routes(app)
    assert len(routes) >= 50  # the walk really covers the app
    c = client_for(app)
    token = csrf_of(c.get("/login").text)
    for method, path in routes:
        if path in PUBLIC_PATHS:
            continue
        r = c.request(method, _fill(path), data={"csrf_token": token})
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), (method, path, r.status_code)


def test_trainee_never_opens_trainer_routes(app) -> None:
    c, token = login(app, "xiaoman")
    trainer_routes = [(m, p) for m, p in _routes(app) if p.startswith(TRAINER_ONLY)]
    assert len(trainer_routes) >= 5
    for method, path in trainer_routes:
        r = c.request(method, _fill(path), data={"csrf_token": token, "trainee_id": 1, "scenario_id": "x1"})
        assert r.status_code == 403, (method, path, r.status_code)
        assert "没有权限" in r.text
    assert "/trainer" not in re.sub(r"<script.*?</script>", "", c.get("/").text)  # no link in the nav either


@pytest.mark.parametrize("who", ["xiaoman", "laowang"])
def test_only_exam_owners_open_exam_owner_routes(app, who: str) -> None:
    c, token = login(app, who)
    owner_routes = [(m, p) for m, p in _routes(app) if p.startswith("/examiner")]
    assert len(owner_routes) >= 10
    for method, path in owner_routes:
        r = c.request(method, _fill(path), data={"csrf_token": token, "reason": "x" * 10, "target": "user:1"})
        assert r.status_code == 403, (method, path, r.status_code)
    assert "/examiner" not in re.sub(r"<script.*?</script>", "", c.get("/").text)  # no link in the nav either


def test_the_verify_page_is_public(app) -> None:
    c = client_for(app)
    assert c.get("/verify").status_code == 200
    r = c.get("/verify/QH7K-4M9P-2XWD")
    assert r.status_code == 404 and "没有这个验证码的证书" in r.text
    assert c.get("/certificates/QH7K-4M9P-2XWD").status_code == 303  # the certificate itself needs a login


@pytest.mark.parametrize("who", ["laowang", "admin"])
def test_trainer_and_admin_open_trainer_routes(app, who: str) -> None:
    c, _ = login(app, who)
    for path in ("/trainer", "/trainer/reports", "/trainer/scenarios/presale-size-hesitant-office"):
        assert c.get(path).status_code == 200, path


def test_trainee_cannot_see_another_trainees_report_or_chat(app) -> None:
    a, ta = login(app, "xiaoman")
    sid = start(a, ta)
    say(a, ta, sid, "买")
    b, tb = login(app, "ajie")
    assert b.get(f"/reports/{sid}").status_code == 404
    assert b.get(f"/chat/{sid}").status_code == 404
    assert b.post(f"/chat/{sid}/reply", data={"text": "hi"}, headers=hx(tb)).status_code == 404
    assert b.post(f"/chat/{sid}/end", data={"csrf_token": tb}).status_code == 404
    assert sid not in b.get("/reports").text
    assert a.get(f"/reports/{sid}").status_code == 200


def test_trainee_never_sees_reference_answers(app) -> None:
    from fakes import EXAMPLE

    from simulator.scenario import load_scenario

    refs = load_scenario(EXAMPLE).references
    secrets = [r for r in (*refs.good.replies, *refs.bad.replies) if len(r) >= 6]
    secrets += ["SECRET-BAD-REFERENCE", "顾客隐藏信息", "104斤"]
    c, token = login(app, "xiaoman")
    sid = start(c, token)
    pages = [c.get("/").text, c.get(f"/chat/{sid}").text]
    say(c, token, sid, "买")
    pages += [c.get(f"/reports/{sid}").text, c.get("/reports").text]
    for html in pages:
        for secret in secrets:
            assert secret not in html, secret
    assert c.get("/trainer/scenarios/presale-size-hesitant-office").status_code == 403


def test_csrf_required_on_every_state_change(app) -> None:
    c, token = login(app, "xiaoman")
    sid = start(c, token)
    for method, path in _routes(app):
        if method == "GET":
            continue
        url = _fill(path).replace("00000000-0000-0000-0000-000000000000", sid)
        for headers, data in (({}, {}), ({"X-CSRF-Token": "forged"}, {}), ({}, {"csrf_token": "forged"})):
            r = c.request(method, url, headers=headers, data=data or {"text": "hi"})
            assert r.status_code == 403, (method, path, r.status_code)
    # a token from another browser's session does not work either
    _other, other_token = login(app, "ajie")
    assert other_token != token
    r = c.post(f"/chat/{sid}/reply", data={"text": "hi"}, headers=hx(other_token))
    assert r.status_code == 403 and "表单已过期" in r.text
    # the login form is protected too (login CSRF)
    fresh = client_for(app)
    r = fresh.post("/login", data={"username": "xiaoman", "password": "demo1234"})
    assert r.status_code == 403


def test_new_csrf_token_after_login(app) -> None:
    c = client_for(app)
    before = csrf_of(c.get("/login").text)
    c.post("/login", data={"username": "xiaoman", "password": "demo1234", "csrf_token": before})
    after = csrf_of(c.get("/").text)
    assert after != before


def _no_raw_payload(html: str) -> None:
    assert PAYLOAD not in html
    assert "<img src=x" not in html
    assert "onerror=alert(2)>" not in html


def test_hostile_text_is_shown_as_text_everywhere(app, knowledge) -> None:
    """Payloads in scenario text, customer lines, trainee replies, display names and searches stay text."""
    c, token = login(app, "ajie")  # display name carries a payload
    home = c.get("/").text
    _no_raw_payload(home)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in home  # the title and display name, escaped
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in home  # the summary, escaped
    sid = start(c, token, "payload-scenario")
    chat = c.get(f"/chat/{sid}").text
    _no_raw_payload(chat)
    assert "开场 &lt;script&gt;" in chat
    sent, answer = say(c, token, sid, f"好 {PAYLOAD} {IMG_PAYLOAD}")
    _no_raw_payload(sent.text)
    _no_raw_payload(answer.text)
    assert "&lt;script&gt;" in sent.text and "&lt;img" in sent.text
    assert "买家&lt;script&gt;" in answer.text  # the customer's name
    c.post(f"/chat/{sid}/end", data={"csrf_token": token})
    kb = c.get("/kb/search", params={"q": PAYLOAD}, headers={"HX-Request": "true"}).text
    _no_raw_payload(kb)
    assert "&lt;script&gt;" in kb
    report = c.get(f"/reports/{sid}").text
    _no_raw_payload(report)
    # the finding's evidence (the trainee's own words) is escaped too, also inside the chart's JSON
    assert "&lt;script&gt;" in report
    t, _ = login(app, "laowang")
    for page in (t.get("/trainer").text, t.get("/trainer/reports").text, t.get(f"/reports/{sid}").text):
        _no_raw_payload(page)
    detail = t.get("/trainer/scenarios/payload-scenario").text
    _no_raw_payload(detail)


def test_json_for_charts_cannot_break_out_of_its_script_block(app) -> None:
    from web.views import register_filters  # noqa: F401 - the env is the app's

    env = app.state.services.templates.env
    out = env.from_string('<script type="application/json">{{ data|tojson }}</script>').render(
        data={"x": "</script><script>alert(1)</script>"}
    )
    assert out.count("</script>") == 1 and "\\u003c/script\\u003e" in out


def test_oversized_and_empty_messages(app) -> None:
    c, token = login(app, "xiaoman")
    sid = start(c, token)
    r = c.post(f"/chat/{sid}/reply", data={"text": "长" * 201}, headers=hx(token))
    assert r.status_code == 422 and "最多 200 个字符" in r.text and r.headers["HX-Retarget"] == "#flash"
    for blank in ("   ", "\x00\x00", " \x1b\x07 "):  # control characters alone are not a message
        r = c.post(f"/chat/{sid}/reply", data={"text": blank}, headers=hx(token))
        assert r.status_code == 422 and "请先输入消息" in r.text
    r = c.post(f"/chat/{sid}/reply", data={"text": "x" * 70_000}, headers=hx(token))
    assert r.status_code == 413 and "64 KB" in r.text
    from simulator.store.sessions import list_turns

    with app.state.services.engine.store.read() as s:
        assert [t.role for t in list_turns(s, sid)] == ["customer"]  # nothing stored


def test_message_flood_gets_a_clear_error(settings, knowledge) -> None:
    from fakes import fake_engine

    from simulator.store.users import create_user
    from web import create_app
    from web.ratelimit import RateLimiter

    hasher = password_hasher(fast=True)
    application = create_app(
        settings,
        engine=fake_engine(settings, knowledge),
        hasher=hasher,
        limiter=RateLimiter(burst=3, per_second=0.01),
    )
    with application.state.services.engine.store.write() as s:
        create_user(s, hasher, "xiaoman", "demo1234")
    c, token = login(application, "xiaoman")
    sid = start(c, token)
    codes = []
    for _ in range(5):
        r = c.post(f"/chat/{sid}/reply", data={"text": "在吗"}, headers=hx(token))
        codes.append(r.status_code)
        if r.status_code == 200:
            c.post(f"/chat/{sid}/customer", data={"after": 0}, headers=hx(token))
    assert codes[:2] == [200, 200] and codes[-1] == 429
    assert "发送太频繁" in r.text
    application.state.services.engine.store.dispose()


def test_cookie_flags_and_security_headers(app) -> None:
    c = client_for(app)
    r = c.get("/login")
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http on loopback: a Secure cookie would never come back
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "unsafe-inline" not in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    https = client_for(app)
    https.base_url = "https://testserver"  # type: ignore[assignment]
    r = https.get("https://testserver/login")
    assert "Secure" in r.headers["set-cookie"] and "strict-transport-security" in r.headers


def test_no_inline_script_or_handler_in_pages(app) -> None:
    """The CSP forbids inline scripts; make sure no page relies on one."""
    c, token = login(app, "laowang")
    sid = start(c, token)
    say(c, token, sid, "买")
    pages = ("/", "/reports", f"/reports/{sid}", "/trainer", "/trainer/reports", "/login", "/kb/search?q=尺码")
    for path in pages:
        html = c.get(path).text
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
        for tag in re.findall(r"<[a-zA-Z][^>]*>", html):
            assert not re.search(r"\son[a-z]+\s*=", tag), (path, tag)
            assert "hx-on" not in tag and " style=" not in tag, (path, tag)


def test_tampered_or_stale_cookie_is_logged_out(app) -> None:
    c, _ = login(app, "xiaoman")
    assert c.get("/").status_code == 200
    value = c.cookies[COOKIE]
    c.cookies.clear()
    c.cookies.set(COOKIE, value[:-3] + ("abc" if not value.endswith("abc") else "xyz"))
    assert c.get("/").status_code == 303
    # a password reset logs the user out everywhere
    c2, _ = login(app, "xiaoman")
    with app.state.services.engine.store.write() as s:
        set_password(s, password_hasher(fast=True), "xiaoman", "newpass123")
    assert c2.get("/").status_code == 303


def test_open_redirect_is_refused(app) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"):
        c = client_for(app)
        token = csrf_of(c.get("/login").text)
        r = c.post("/login", data={"username": "xiaoman", "password": "demo1234", "csrf_token": token, "next": target})
        assert r.headers["location"] == "/", target


def test_errors_never_show_a_traceback(app) -> None:
    c, token = login(app, "xiaoman")
    r = c.post("/practice/no-such-scenario", data={"csrf_token": token})
    assert r.status_code == 404 and "Traceback" not in r.text and "找不到" in r.text
    r = c.post("/chat/abc/customer", data={"after": "not-a-number"}, headers=hx(token))
    assert r.status_code in (404, 422) and "Traceback" not in r.text
