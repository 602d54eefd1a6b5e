"""Shared by the web benchmarks: start the real server, create trainee accounts, drive virtual trainees.

A virtual trainee does what the browser does: log in, start a scenario, then per turn POST the reply (the
acknowledgement) and, after the typing indicator's delay, POST for the customer's answer. Replies are the
scenario's good reference replies (tagged with a counter so every acknowledged turn can be found again).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
TYPING_DELAY_S = 0.7  # what the page's typing indicator waits before asking for the answer
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
AFTER_RE = re.compile(r'"after": (\d+)')
PENDING_RE = re.compile(r'id="typing"[^>]*data-after="(\d+)"')
CUSTOMER_RE = re.compile(r'<div class="turn customer" data-seq="\d+">.*?<div class="bubble">(.*?)</div>', re.S)


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(data_dir: Path) -> dict[str, str]:
    """Environment of the server under test: its own data dir, demo on (knowledge index built if missing)."""
    return {**os.environ, "SIM_DATA_DIR": str(data_dir), "SIM_DEMO": "true"}


def start_server(
    data_dir: Path, port: int, *, log_name: str = "server.log", workers: int = 1
) -> subprocess.Popen[bytes]:
    """Run ``simulator serve`` (no access log) with ``workers`` processes and wait until it answers."""
    log = open(data_dir / log_name, "ab")  # noqa: SIM115 - the process owns it until it exits
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulator",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--workers",
            str(workers),
        ],
        cwd=REPO,
        env=server_env(data_dir),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 600
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            tail = (data_dir / log_name).read_text(errors="replace")[-2000:]
            raise SystemExit(f"server did not start:\n{tail}")
        time.sleep(0.3)


def stop_server(proc: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    """SIGKILL (``kill``) or a graceful SIGTERM."""
    proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def create_trainees(data_dir: Path, n: int, prefix: str = "bench") -> list[str]:
    """Create ``n`` trainee accounts (migrating the database first). Passwords are hashed with a low argon2
    cost only so that logging in hundreds of virtual trainees is quick; login is not part of what is measured.
    """
    from simulator.settings import Settings
    from simulator.store import open_database
    from simulator.store.users import create_user, get_user_by_name, password_hasher

    settings = Settings(data_dir=data_dir)
    db = open_database(settings.sqlalchemy_url, create_dir=data_dir)
    hasher = password_hasher(fast=True)
    names = [f"{prefix}{i:04d}" for i in range(n)]
    with db.write() as s:
        for name in names:
            try:
                get_user_by_name(s, name)
            except Exception:
                create_user(s, hasher, name, "bench-pass-1", role="trainee")
    db.dispose()
    return names


def good_scripts() -> dict[str, list[str]]:
    """Scenario id → good reference replies, for every shipped scenario that has them."""
    from simulator.scenario import load_scenarios
    from simulator.session import fill_variables

    out: dict[str, list[str]] = {}
    for sid, loaded in load_scenarios([REPO / "scenarios"]).scenarios.items():
        refs = loaded.scenario.references
        if refs is not None and refs.good.replies:
            values = loaded.scenario.variable_values()  # the practice values a trainee would type
            out[sid] = [fill_variables(r, values) for r in refs.good.replies]
    return out


@dataclass
class Ack:
    """A turn the server acknowledged: the trainee's reply or a customer line it returned."""

    session_id: str
    role: str
    text: str


@dataclass
class Trainee:
    """One virtual trainee with its own cookie jar."""

    base: str
    username: str
    scripts: dict[str, list[str]]
    rng: random.Random
    client: httpx.AsyncClient = field(init=False)
    token: str = ""
    session_id: str = ""
    replies: list[str] = field(default_factory=list)
    latencies: list[tuple[float, str, float]] = field(default_factory=list)  # (when, what, seconds)
    acks: list[Ack] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    counter: int = 0
    stream: bool = True  # the customer's answer as the page's script reads it (SSE); False: the htmx POST
    down: bool = False  # a request failed at the connection level (the server is gone)

    def __post_init__(self) -> None:
        self.client = httpx.AsyncClient(base_url=self.base, timeout=30.0, follow_redirects=False)

    async def _timed(self, what: str, method: str, url: str, **kw: object) -> httpx.Response:
        t0 = time.perf_counter()
        try:
            r = await self.client.request(method, url, **kw)  # type: ignore[arg-type]
        except httpx.TransportError as exc:  # a dropped connection is an error to count, not a crash
            self.down = True
            r = httpx.Response(599, text=f"{type(exc).__name__}: {exc}")
        self.latencies.append((time.monotonic(), what, time.perf_counter() - t0))
        return r

    async def login(self) -> None:
        r = await self.client.get("/login")
        token = CSRF_RE.search(r.text)
        assert token, "no CSRF token on the login page"
        r = await self.client.post(
            "/login", data={"username": self.username, "password": "bench-pass-1", "csrf_token": token.group(1)}
        )
        if r.status_code != 303:
            raise RuntimeError(f"login failed for {self.username}: {r.status_code}")
        page = await self.client.get("/")
        self.token = CSRF_RE.search(page.text).group(1)  # type: ignore[union-attr]

    async def start(self) -> None:
        sid = self.rng.choice(sorted(self.scripts))
        r = await self._timed("start", "POST", f"/practice/{sid}", data={"csrf_token": self.token})
        if r.status_code != 303:
            raise RuntimeError(f"start failed: {r.status_code} {r.text[:200]}")
        self.session_id = r.headers["location"].rsplit("/", 1)[-1]
        page = await self._timed("chat page", "GET", f"/chat/{self.session_id}")
        if "/reports/" in page.text and 'id="reply-form"' not in page.text:
            self.replies = []
            return
        self.replies = list(self.scripts[sid])
        waiting = PENDING_RE.search(page.text)
        if waiting:  # a resumed conversation still waiting for the customer: the page asks for the answer first
            await asyncio.sleep(TYPING_DELAY_S)
            await self._answer(waiting.group(1))

    async def turn(self) -> bool:
        """One reply and the customer's answer; False when the conversation is over (start another)."""
        if not self.replies:
            return False
        self.counter += 1
        text = f"{self.replies.pop(0)} [{self.username}-{self.counter}]"
        headers = {"HX-Request": "true", "X-CSRF-Token": self.token}
        r = await self._timed("reply", "POST", f"/chat/{self.session_id}/reply", data={"text": text}, headers=headers)
        if r.status_code != 200:
            self.errors.append(f"reply {r.status_code}: {r.text[:120]}")
            return r.status_code not in (409,)
        self.acks.append(Ack(self.session_id, "agent", text))
        after = AFTER_RE.search(r.text)
        await asyncio.sleep(TYPING_DELAY_S)
        html = await self._answer(after.group(1) if after else "0")
        return html is not None and 'id="composer" class="composer closed"' not in html and bool(self.replies)

    async def _answer(self, after: str) -> str | None:
        """Fetch the customer's answer as the page does and record its turns; None on an error."""
        headers = {"HX-Request": "true", "X-CSRF-Token": self.token}
        data = {"after": after}
        if self.stream:
            status, html = await self._stream_answer(data, headers)
        else:
            r = await self._timed("customer", "POST", f"/chat/{self.session_id}/customer", data=data, headers=headers)
            status, html = r.status_code, r.text
        if status != 200:
            self.errors.append(f"customer {status}: {html[:120]}")
            return None
        for line in re.findall(
            r'<div class="turn customer" data-seq="\d+">.*?<div class="bubble">(.*?)</div>', html, re.S
        ):
            self.acks.append(Ack(self.session_id, "customer", _unescape(line)))
        return html

    async def _stream_answer(self, data: dict[str, object], headers: dict[str, str]) -> tuple[int, str]:
        """POST /customer/stream and read it to the end: (status, the final ``turn`` fragment or the error)."""
        t0 = time.perf_counter()
        url = f"/chat/{self.session_id}/customer/stream"
        try:
            async with self.client.stream("POST", url, data=data, headers=headers) as r:  # type: ignore[arg-type]
                body = (await r.aread()).decode("utf-8", "replace")
        except httpx.TransportError as exc:
            self.down = True
            self.latencies.append((time.monotonic(), "customer", time.perf_counter() - t0))
            return 599, f"{type(exc).__name__}: {exc}"
        self.latencies.append((time.monotonic(), "customer", time.perf_counter() - t0))
        if r.status_code != 200:
            return r.status_code, body
        for block in body.split("\n\n"):
            fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            if fields.get("event") == "turn":
                return 200, str(json.loads(fields["data"])["html"])
            if fields.get("event") == "error":
                return 500, str(json.loads(fields["data"])["message"])
        return 502, "the stream ended without a turn"

    async def close(self) -> None:
        await self.client.aclose()


def _unescape(html: str) -> str:
    import html as h

    return h.unescape(html)


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def load_average() -> str:
    """The machine's 1-minute load average (other work on the box skews every figure)."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"
