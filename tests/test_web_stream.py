"""The customer's answer streamed (Server-Sent Events): deltas, the committed turn, fallbacks, disconnects, access."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from fakes import (
    IMG_PAYLOAD,
    PAYLOAD,
    FakeCustomer,
    bubbles,
    client_for,
    hx,
    login,
    make_app,
    start,
)
from fastapi.testclient import TestClient

from simulator.customer.base import CustomerResponse, TurnContext
from simulator.scenario.model import Scenario
from simulator.settings import Settings
from simulator.store.sessions import list_turns

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"


# -- fakes and helpers ---------------------------------------------------------------------------------------


class StreamingCustomer(FakeCustomer):
    """The fake customer, but its line arrives in pieces through ``on_delta`` before the turn is returned."""

    extra = ""

    def respond(self, ctx: TurnContext) -> CustomerResponse:
        response = super().respond(ctx)
        response.messages[0].text += self.extra
        text = response.messages[0].text
        if ctx.on_delta is not None:
            for i in range(0, len(text), 3):
                ctx.on_delta(text[i : i + 3])
        return response


class HostileCustomer(StreamingCustomer):
    extra = f" {PAYLOAD} {IMG_PAYLOAD}"


class Gate:
    """A customer factory whose customer streams one piece, then waits until the test opens the gate."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.open = threading.Event()
        self.calls = 0

    def __call__(self, scenario: Scenario) -> Any:
        gate = self

        class Gated(FakeCustomer):
            def respond(self, ctx: TurnContext) -> CustomerResponse:
                gate.calls += 1
                if ctx.on_delta is not None:
                    ctx.on_delta("顾客")
                gate.entered.set()
                assert gate.open.wait(10), "the test never opened the gate"
                return super().respond(ctx)

        return Gated(scenario)


class Race(Gate):
    """A gate that opens when a second request for the turn enters ``Engine.respond`` (where the conversation's
    lock is taken) while the first one's customer is still answering: the race between the streamed and the plain
    request, made to happen every time. ``raced`` says it did; if it never does, the customer gives up after
    10 s and the stream ends in an error."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = 0
        self.raced = False
        self._count = threading.Lock()

    def watch(self, engine: Any) -> None:
        respond = engine.respond

        def counted(session_id: str, **kw: Any) -> bool:
            with self._count:
                self.inside += 1
                if self.inside == 2:
                    self.raced = self.entered.is_set() and not self.open.is_set()
                    self.open.set()
            return respond(session_id, **kw)

        engine.respond = counted


@pytest.fixture
def streaming_app(settings: Settings, knowledge: Any):
    application = make_app(settings, knowledge, StreamingCustomer)
    yield application
    application.state.services.engine.store.dispose()


def events(body: str) -> list[tuple[str, dict[str, Any]]]:
    """(name, payload) of every event in an SSE body, in order (keep-alive comments skipped)."""
    out = []
    for block in body.split("\n\n"):
        lines = [ln for ln in block.split("\n") if ln and not ln.startswith(":")]
        if not lines:
            continue
        name = next(ln[6:].strip() for ln in lines if ln.startswith("event:"))
        data = "\n".join(ln[5:].removeprefix(" ") for ln in lines if ln.startswith("data:"))
        out.append((name, json.loads(data)))
    return out


def send(c: TestClient, token: str, sid: str, text: str) -> int:
    """Post the trainee's reply; returns the ``after`` the typing indicator carries."""
    r = c.post(f"/chat/{sid}/reply", data={"text": text}, headers=hx(token))
    assert r.status_code == 200, r.text
    m = re.search(r'data-after="(\d+)"', r.text)
    assert m and f'data-stream="/chat/{sid}/customer/stream"' in r.text, r.text
    return int(m.group(1))


def stream(c: TestClient, token: str, sid: str, after: int) -> Any:
    return c.post(f"/chat/{sid}/customer/stream", data={"after": after}, headers={"X-CSRF-Token": token})


def same_fragment(html: str) -> str:
    # The timer's offset is "now minus the customer's message", so it differs between two renders.
    return re.sub(r'data-elapsed-ms="\d+"', 'data-elapsed-ms=""', html)


def roles(application: Any, sid: str) -> list[str]:
    with application.state.services.engine.store.read() as s:
        return [t.role for t in list_turns(s, sid)]


# -- the stream ----------------------------------------------------------------------------------------------


def test_stream_sends_deltas_in_order_then_the_turn(streaming_app) -> None:
    c, token = login(streaming_app, "xiaoman")
    sid = start(c, token)
    after = send(c, token, sid, "亲，您好～请问您身高体重多少呀？")
    r = stream(c, token, sid, after)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert "no-cache" in r.headers["cache-control"] and r.headers["x-accel-buffering"] == "no"
    got = events(r.text)
    assert [name for name, _ in got] == ["delta", "delta", "delta", "turn"]
    assert [p["text"] for _, p in got[:-1]] == ["顾客第", "1次回", "复"]
    html = got[-1][1]["html"]
    assert bubbles(html) == ["顾客第1次回复"] == ["".join(p["text"] for _, p in got[:-1])]
    assert 'id="timer"' in html and 'data-running="true"' in html  # the response timer starts again
    assert roles(streaming_app, sid) == ["customer", "agent", "customer"]


def test_final_fragment_equals_the_plain_endpoint(streaming_app) -> None:
    c, token = login(streaming_app, "xiaoman")
    sid = start(c, token)
    after = send(c, token, sid, "您好")
    turn = events(stream(c, token, sid, after).text)[-1][1]["html"]
    plain = c.post(f"/chat/{sid}/customer", data={"after": after}, headers=hx(token)).text
    assert same_fragment(turn) == same_fragment(plain)
    # the last turn ends the conversation: the closed composer and the stopped timer come along (out of band)
    after = send(c, token, sid, "买")
    turn = events(stream(c, token, sid, after).text)[-1][1]["html"]
    plain = c.post(f"/chat/{sid}/customer", data={"after": after}, headers=hx(token)).text
    assert same_fragment(turn) == same_fragment(plain)
    assert "好，我买了" in turn and f"/reports/{sid}" in turn and 'data-running="false"' in turn


def test_a_rejected_answer_never_streams(settings, knowledge) -> None:
    """An answer the LLM customer's guards reject never reaches the stream; the scripted line is committed."""
    from simulator.customer import LLMCustomer
    from simulator.llm import FakeChatModel

    def out(reply: str) -> str:
        return json.dumps({"reply": reply, "mood_delta": 0, "outcome": None, "stop": False}, ensure_ascii=False)

    invented = out("我165，104斤，胸围86cm")  # a number the scenario never gave: a guard violation
    model = FakeChatModel([invented, invented])
    application = make_app(settings, knowledge, lambda scenario: LLMCustomer(scenario, model))
    c, token = login(application, "xiaoman")
    sid = start(c, token)
    after = send(c, token, sid, "亲，您好～方便告诉我您的身高体重吗？")
    got = events(stream(c, token, sid, after).text)
    provisional = "".join(p["text"] for name, p in got if name == "delta")
    assert "胸围86cm" not in provisional  # held back until the guards judged it, then never shown
    assert [name for name, _ in got][-1] == "turn" and len(model.calls) == 2
    final = got[-1][1]["html"]
    assert "胸围86cm" not in final and "AI 顾客的回复不符合设定" in final  # the fallback notice
    with application.state.services.engine.store.read() as s:
        committed = [t for t in list_turns(s, sid) if t.seq > after]
    assert [t.kind for t in committed] == ["notice", "message"]
    assert committed[1].meta["source"] == "llm-fallback" and committed[1].text in final
    assert "胸围86cm" not in c.get(f"/chat/{sid}").text  # a reload shows the committed turn too
    application.state.services.engine.store.dispose()


def test_a_second_request_does_not_produce_a_second_turn(streaming_app) -> None:
    c, token = login(streaming_app, "xiaoman")
    sid = start(c, token)
    after = send(c, token, sid, "您好")
    first = events(stream(c, token, sid, after).text)
    again = events(stream(c, token, sid, after).text)  # e.g. the page asked again after a reconnect
    assert [name for name, _ in again] == ["turn"]  # nothing to produce: no deltas, the committed turn
    assert same_fragment(again[0][1]["html"]) == same_fragment(first[-1][1]["html"])
    plain = c.post(f"/chat/{sid}/customer", data={"after": after}, headers=hx(token))
    assert bubbles(plain.text) == ["顾客第1次回复"]
    assert roles(streaming_app, sid) == ["customer", "agent", "customer"]


def test_stream_and_fallback_at_once_answer_once(settings, knowledge) -> None:
    """The stream is still running when the plain request for the same turn arrives: one answer, both see it.

    The customer holds its answer until the plain request is inside ``respond`` too, so the two always race.
    """
    race = Race()
    application = make_app(settings, knowledge, race)
    race.watch(application.state.services.engine)
    c, token = login(application, "xiaoman")
    sid = start(c, token)
    after = send(c, token, sid, "您好")
    results: dict[str, Any] = {}
    streamer = threading.Thread(target=lambda: results.update(stream=stream(c, token, sid, after)))
    streamer.start()
    assert race.entered.wait(10)  # the stream's customer is answering …
    plain = threading.Thread(
        target=lambda: results.update(plain=c.post(f"/chat/{sid}/customer", data={"after": after}, headers=hx(token)))
    )
    plain.start()  # … when the plain request comes in
    streamer.join(15)
    plain.join(15)
    assert race.raced and race.inside == 2  # both requests were inside respond while the customer answered
    assert race.calls == 1  # the customer answered once …
    with application.state.services.engine.store.read() as s:
        answers = [t for t in list_turns(s, sid) if t.seq > after]
    assert [(t.role, t.text) for t in answers] == [("customer", "顾客第1次回复")]  # … and one answer was stored
    assert roles(application, sid) == ["customer", "agent", "customer"]
    got = events(results["stream"].text)
    assert got[0] == ("delta", {"text": "顾客"}) and bubbles(got[-1][1]["html"]) == ["顾客第1次回复"]
    assert bubbles(results["plain"].text) == ["顾客第1次回复"]  # both requests show it
    application.state.services.engine.store.dispose()


def test_a_client_that_disconnects_mid_stream_loses_nothing(settings, knowledge) -> None:
    """The browser goes away after the first delta; the turn is still committed once and shown on reload."""
    gate = Gate()
    application = make_app(settings, knowledge, gate)
    c, token = login(application, "xiaoman")
    sid = start(c, token)
    after = send(c, token, sid, "您好")
    body = f"after={after}".encode()
    cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},  # what uvicorn announces: disconnect is listened for
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/chat/{sid}/customer/stream",
        "raw_path": f"/chat/{sid}/customer/stream".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"cookie", cookie.encode()),
            (b"x-csrf-token", token.encode()),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []

    async def main() -> None:
        first_delta = anyio.Event()
        asked = 0

        async def receive() -> dict[str, Any]:
            nonlocal asked
            asked += 1
            if asked == 1:
                return {"type": "http.request", "body": body, "more_body": False}
            await first_delta.wait()
            return {"type": "http.disconnect"}

        async def send_(message: dict[str, Any]) -> None:
            sent.append(message)
            if b"event: delta" in message.get("body", b""):
                first_delta.set()

        with anyio.fail_after(10):
            await application(scope, receive, send_)

    anyio.run(main)
    assert sent[0]["status"] == 200
    streamed = b"".join(m.get("body", b"") for m in sent).decode()
    assert "event: delta" in streamed and "event: turn" not in streamed  # cut off mid-answer
    gate.open.set()  # the customer was still thinking; the worker thread carries on to the commit
    deadline = time.monotonic() + 10
    while roles(application, sid) != ["customer", "agent", "customer"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert roles(application, sid) == ["customer", "agent", "customer"]
    page = c.get(f"/chat/{sid}").text
    assert bubbles(page)[-1] == "顾客第1次回复" and 'id="typing"' not in page  # the reload shows the turn
    again = events(stream(c, token, sid, after).text)  # the indicator asked again after reconnecting
    assert [name for name, _ in again] == ["turn"] and gate.calls == 1
    application.state.services.engine.store.dispose()


def test_hostile_customer_text_is_escaped_in_deltas_and_turn(settings, knowledge) -> None:
    application = make_app(settings, knowledge, HostileCustomer)
    c, token = login(application, "xiaoman")
    sid = start(c, token, "payload-scenario")
    after = send(c, token, sid, "您好")
    r = stream(c, token, sid, after)
    # no markup from the customer anywhere in the raw stream …
    assert "<script" not in r.text and "<img" not in r.text and "onerror=alert(2)>" not in r.text
    got = events(r.text)
    # … the deltas carry the words as text (app.js inserts them with textContent) …
    assert "".join(p["text"] for name, p in got if name == "delta") == f"顾客第1次回复 {PAYLOAD} {IMG_PAYLOAD}"
    # … and the turn is the autoescaped fragment
    html = got[-1][1]["html"]
    assert PAYLOAD not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "买家&lt;script&gt;" in html
    application.state.services.engine.store.dispose()


def test_page_script_inserts_customer_text_only_as_text() -> None:
    js = (STATIC / "app.js").read_text(encoding="utf-8")
    assert "bubble.textContent = text" in js
    assert re.findall(r"innerHTML\s*=\s*([^;]+);", js) == ['""']  # only the flash area is ever cleared
    assert "eval(" not in js and "new Function" not in js  # the CSP has no unsafe-eval


def test_stream_checks_login_csrf_and_ownership(streaming_app) -> None:
    a, ta = login(streaming_app, "xiaoman")
    sid = start(a, ta)
    after = send(a, ta, sid, "您好")
    b, tb = login(streaming_app, "ajie")
    r = stream(b, tb, sid, after)
    assert r.status_code == 404 and "event:" not in r.text  # refused before any stream starts
    assert stream(b, tb, "not-a-session", 0).status_code == 404
    anon = client_for(streaming_app)
    r = anon.post(f"/chat/{sid}/customer/stream", data={"after": after}, headers={"X-CSRF-Token": ta})
    assert r.status_code in (303, 403) and "event:" not in r.text
    r = a.post(f"/chat/{sid}/customer/stream", data={"after": after})  # no CSRF token
    assert r.status_code == 403
    assert roles(streaming_app, sid) == ["customer", "agent"]  # nobody produced the answer
    assert [name for name, _ in events(stream(a, ta, sid, after).text)][-1] == "turn"


def test_a_failing_turn_reports_an_error_and_stays_pending(settings, knowledge) -> None:
    calls = []

    class Broken(FakeCustomer):
        def respond(self, ctx: TurnContext) -> CustomerResponse:
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("engine bug")
            return super().respond(ctx)

    application = make_app(settings, knowledge, Broken)
    c, token = login(application, "xiaoman")
    sid = start(c, token)
    after = send(c, token, sid, "您好")
    got = events(stream(c, token, sid, after).text)
    assert got == [("error", {"message": "服务器出了点问题，请稍后重试。"})]  # no traceback, no exception text
    assert roles(application, sid) == ["customer", "agent"]  # nothing half-written; still pending
    # the page then falls back to the plain request, which answers
    plain = c.post(f"/chat/{sid}/customer", data={"after": after}, headers=hx(token))
    assert bubbles(plain.text) == ["顾客第1次回复"]
    application.state.services.engine.store.dispose()
