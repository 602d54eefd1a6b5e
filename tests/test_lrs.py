"""xAPI statements reach a real Learning Record Store — Ralph with its file backend, started here
(scripts/lrs-server.sh) — every one of them, also when the LRS was down for a while. Slow: ``pytest -m slow``.
The sender's retry rules against a scripted LRS are in the fast tests at the bottom."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fakes import FakeCustomer, FakeGrader, write_scenarios

from simulator.analytics.xapi import VERBS, Sender
from simulator.engine import Engine
from simulator.settings import Settings
from simulator.store.outbox import OutboxStatement, counts
from simulator.store.schema import utcnow
from simulator.store.users import create_user, password_hasher

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "lrs-server.sh"
USER, PASSWORD = "simulator", "lrs-test-password"
SCENARIO = "presale-size-hesitant-office"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Ralph:
    """Ralph on a loopback port, statements in ``home`` (survive a restart)."""

    def __init__(self, home: Path):
        self.home = home
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/xAPI/"

    def start(self) -> Ralph:
        log = open(self.home / "ralph.log", "ab")  # noqa: SIM115 - the process owns it
        env = {k: v for k, v in os.environ.items() if not k.startswith("RALPH_")}
        self.proc = subprocess.Popen(
            ["bash", str(SCRIPT), "start", str(self.home), str(self.port), USER, PASSWORD],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                r = httpx.get(f"http://127.0.0.1:{self.port}/__heartbeat__", timeout=1)
                if r.status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.3)
        raise RuntimeError("Ralph did not start:\n" + (self.home / "ralph.log").read_text(errors="replace")[-3000:])

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None

    def statements(self) -> list[dict]:  # type: ignore[type-arg]
        out: list[dict] = []  # type: ignore[type-arg]
        url = f"http://127.0.0.1:{self.port}/xAPI/statements?limit=500"
        while url:
            r = httpx.get(url, auth=(USER, PASSWORD), headers={"X-Experience-API-Version": "1.0.3"}, timeout=10)
            r.raise_for_status()
            body = r.json()
            out += body["statements"]
            more = body.get("more")
            url = f"http://127.0.0.1:{self.port}{more}" if more else ""
        return out


@pytest.fixture(scope="module")
def ralph_installed() -> None:
    done = subprocess.run(["bash", str(SCRIPT), "install"], capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        pytest.skip(f"Ralph could not be installed: {done.stderr[-500:]}")


@pytest.fixture
def ralph(ralph_installed: None, tmp_path: Path) -> Iterator[Ralph]:
    home = tmp_path / "lrs"
    home.mkdir()
    server = Ralph(home).start()
    yield server
    server.stop()


def _engine(tmp_path: Path, lrs_url: str) -> Engine:
    settings = Settings(
        data_dir=tmp_path / "data",
        scenarios_dir=write_scenarios(tmp_path),
        embedder="fake",
        lrs_url=lrs_url,
        lrs_username=USER,
        lrs_password=PASSWORD,
        _env_file=None,
    )  # type: ignore[call-arg]
    engine = Engine(settings, customers=FakeCustomer, grader=FakeGrader(), knowledge_index=False)
    with engine.store.write() as s:
        create_user(s, password_hasher(fast=True), "xiaoman", "demo1234", display_name="小满")
    return engine


def _errors(engine: Engine) -> list[str]:
    with engine.store.read() as s:
        return [r.last_error for r in s.query(OutboxStatement).filter(OutboxStatement.sent_at.is_(None))][:3]


def _play(engine: Engine, n: int) -> None:
    for _ in range(n):
        sid = engine.start(1, SCENARIO)
        engine.submit(sid, "买")
        engine.respond(sid)
    engine._grading.submit(lambda: None).result(timeout=30)


@pytest.mark.slow
def test_every_attempt_reaches_the_lrs_even_across_an_outage(ralph: Ralph, tmp_path: Path) -> None:
    engine = _engine(tmp_path, ralph.url)
    sender = Sender(engine.store, engine.settings)
    _play(engine, 2)
    assert sender.flush() == {"sent": 8, "failed": 0, "rejected": 0}
    got = ralph.statements()
    assert len(got) == 8
    verbs = sorted(s["verb"]["id"].rsplit("/", 1)[-1] for s in got)
    assert verbs == sorted(["attempted", "completed", "failed", "scored"] * 2)
    scored = next(s for s in got if s["verb"]["id"] == VERBS["scored"])
    assert scored["result"]["score"]["scaled"] == 0.725 and scored["result"]["score"]["raw"] == 72.5
    dims = next(v for k, v in scored["result"]["extensions"].items() if k.endswith("/dimension-scores"))
    assert dims == {"service": 60.0, "technique": 80.0, "knowledge": None, "process": 90.0}
    assert scored["actor"]["account"]["name"] == "xiaoman" and scored["object"]["id"].endswith(f"/scenarios/{SCENARIO}")

    # the LRS goes down: attempts go on, nothing is lost, and the sender backs off
    ralph.stop()
    _play(engine, 3)
    down = sender.flush()
    assert down["sent"] == 0 and down["failed"] > 0
    with engine.store.read() as s:
        assert counts(s) == {"sent": 8, "waiting": 12, "rejected": 0}
        waiting = s.query(OutboxStatement).filter(OutboxStatement.sent_at.is_(None)).all()
        assert all(
            w.next_attempt_at.replace(tzinfo=None) > utcnow().replace(tzinfo=None) for w in waiting if w.attempts
        )
    assert sender.flush() == {"sent": 0, "failed": 0, "rejected": 0}  # nothing is due during the backoff
    # back up (same store): after the backoff everything is sent, once
    ralph.start()
    sent = sender.flush(now=utcnow() + timedelta(hours=1))
    assert sent["sent"] == 12 and sent["rejected"] == 0, (sent, _errors(engine))
    got = ralph.statements()
    assert len(got) == 20 and len({s["id"] for s in got}) == 20
    with engine.store.read() as s:
        assert counts(s) == {"sent": 20, "waiting": 0, "rejected": 0}
    engine.store.dispose()


# -- the sender's rules against a scripted LRS (fast) --------------------------------------------------------


def _scripted(tmp_path: Path, handler) -> tuple[Engine, Sender]:  # type: ignore[no-untyped-def]
    engine = _engine(tmp_path, "http://lrs.invalid/xAPI/")
    return engine, Sender(engine.store, engine.settings, client=httpx.Client(transport=httpx.MockTransport(handler)))


def test_a_server_error_is_retried_later(tmp_path: Path) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(len(request.read()))
        return httpx.Response(503, text="maintenance")

    engine, sender = _scripted(tmp_path, handler)
    _play(engine, 1)
    assert sender.flush() == {"sent": 0, "failed": 4, "rejected": 0}
    with engine.store.read() as s:
        rows = s.query(OutboxStatement).all()
        assert all(r.attempts == 1 and "503" in r.last_error for r in rows)
    assert len(calls) == 1  # one batch, then it waits


def test_an_invalid_statement_is_set_aside_and_a_duplicate_counts_as_sent(tmp_path: Path) -> None:
    import json

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.read())
        if len(body) > 1:
            return httpx.Response(400, text="one of them is bad")
        verb = body[0]["verb"]["id"]
        if verb == VERBS["scored"]:
            return httpx.Response(400, text="bad score")
        if verb == VERBS["attempted"]:
            return httpx.Response(409, text="already stored")
        return httpx.Response(200, json=[body[0]["id"]])

    engine, sender = _scripted(tmp_path, handler)
    _play(engine, 1)
    assert sender.flush() == {"sent": 3, "failed": 0, "rejected": 1}
    with engine.store.read() as s:
        assert counts(s) == {"sent": 3, "waiting": 0, "rejected": 1}
        bad = s.query(OutboxStatement).filter(OutboxStatement.rejected.is_not(None)).one()
        assert bad.verb == "scored" and "bad score" in (bad.rejected or "")


def test_without_an_lrs_statements_wait(tmp_path: Path) -> None:
    engine = _engine(tmp_path, "")
    engine.settings = engine.settings.model_copy(update={"lrs_url": None})
    _play(engine, 1)
    assert Sender(engine.store, engine.settings).flush() == {"sent": 0, "failed": 0, "rejected": 0}
    with engine.store.read() as s:
        assert counts(s)["waiting"] == 4
