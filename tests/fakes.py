"""Fakes and builders the test modules share: a customer, a grade, a knowledge search and a retriever that need
no model; transcripts from lines; the web app with fakes and accounts; the web helpers (log in, read the CSRF
token, play a conversation).

A plain module, not a test module: test modules import from here, never from each other. The fixtures built on
these (``settings``, ``app`` …) live in ``conftest.py``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from simulator.customer.base import CustomerMessage, CustomerResponse, TurnContext
from simulator.knowledge.passage import Passage
from simulator.scenario.model import Outcome, Scenario
from simulator.settings import Settings
from simulator.store.users import create_user, password_hasher
from simulator.transcript import Transcript, Turn
from web import create_app
from web.ratelimit import RateLimiter

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "scenarios" / "qinghe" / "presale-size-hesitant-office.yaml"
PAYLOAD = "<script>alert(1)</script>"
IMG_PAYLOAD = '"><img src=x onerror=alert(2)>'

PAYLOAD_SCENARIO = f"""\
id: payload-scenario
title: "标题 {PAYLOAD}"
locale: zh-CN
category: complaint
skills: [de-escalation]
script_categories: [complaint]
difficulty: hard
summary: 'summary {IMG_PAYLOAD}'
goal: {{description: "要个说法 {PAYLOAD}", success: [resolved]}}
persona:
  name: "买家{PAYLOAD}"
  age_group: 25-34
  traits: [急躁]
  speaking_style: 短句
opening: ["开场 {PAYLOAD}"]
beats:
  - id: any-reply
    when: {{keywords: [好]}}
    say: ['好的 {IMG_PAYLOAD}']
    outcome: resolved
references:
  good: {{replies: ["您好"], expect_outcome: [resolved]}}
  bad: {{replies: ["SECRET-BAD-REFERENCE"], expect_outcome: [left]}}
"""

BROKEN_SCENARIO = """\
id: broken-one
title: 坏文件
locale: zh-CN
category: pre-sales
script_categories: [size]
difficulty: easyy
persona: {name: 小林, age_group: 25-34, traits: [犹豫], speaking_style: 短句}
opening: [在吗]
beats: [{id: b, when: {keywords: [码]}, say: [好]}]
"""


class FakeCustomer:
    """Says its opening, answers each reply with a numbered line, buys on the third reply (or on "买")."""

    name = "fake"

    def __init__(self, scenario: Scenario):
        self._scenario = scenario

    @property
    def scenario(self) -> Scenario:
        return self._scenario

    def open(self, ctx: TurnContext) -> CustomerResponse:
        return CustomerResponse([CustomerMessage(self._scenario.opening[0])], ctx.state.model_copy(deep=True))

    def respond(self, ctx: TurnContext) -> CustomerResponse:
        state = ctx.state.model_copy(deep=True)
        state.turns += 1
        done = state.turns >= 3 or "买" in (ctx.reply or "")
        text = "好，我买了" if done else f"顾客第{state.turns}次回复"
        return CustomerResponse(
            [CustomerMessage(text, beat_id=f"beat-{state.turns}")],
            state,
            outcome=Outcome.BOUGHT if done else None,
            end_reason="outcome" if done else None,
        )


@dataclass
class FakeGrade:
    """A grade in the shape ``Grade.to_dict()`` produces, with a payload in its evidence."""

    transcript: Transcript
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        agent_idx = next((i for i, t in enumerate(self.transcript.turns) if t.role == "agent"), None)
        findings = [] if agent_idx is None else [self._finding(agent_idx)]
        return {
            "id": self.transcript.id,
            "overall": 72.5,
            "passed": False,
            "pass_mark": 80.0,
            "scores": {"service": 60.0, "technique": 80.0, "knowledge": None, "process": 90.0},
            "dimensions": {
                "service": {"score": 60.0, "criteria": [{"id": "greeting", "title": "问候", "findings": findings}]},
                "technique": {"score": 80.0, "criteria": []},
                "knowledge": {"score": None, "criteria": []},
                "process": {"score": 90.0, "criteria": []},
            },
            "red_lines": [],
            "notes": [],
            "questions": [],
            "metrics": {"reply_ratio": 1.0},
            **self.extra,
        }

    def _finding(self, agent_idx: int) -> dict[str, Any]:
        return {
            "dimension": "service",
            "criterion": "greeting",
            "points": 5.0,
            "message": "没有问候",
            "turn": agent_idx,
            "evidence": self.transcript.turns[agent_idx].text[:40],
            "span": None,
            "source": {"kind": "rule", "id": "greet", "text": "先问候"},
            "suggestion": {"text": "亲，您好～", "source": "rule:greet"},
            "red_line": None,
        }


class FakeKnowledge:
    """Returns one passage echoing the query (so escaping of search results can be tested)."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def search(self, query: str, k: int = 5, **_: Any) -> list[Passage]:
        self.queries.append(query)
        return [
            Passage(
                id="qinghe/policies/returns-7day#1",
                doc_id="qinghe/policies/returns-7day",
                title="7天无理由退货",
                heading_path=("退货",),
                text=f"签收后7天内可退换。查询：{query}",
                source="knowledge/qinghe/policies/returns-7day.md",
                score=1.0,
            )
        ]


def fake_grade(transcript: Transcript, scenario: Scenario) -> FakeGrade:
    return FakeGrade(transcript)


def write_scenarios(tmp_path: Path) -> Path:
    """A scenarios folder: the example scenario, one whose every text is an HTML payload, and a broken one."""
    d = tmp_path / "scenarios"
    (d / "demo").mkdir(parents=True)
    shutil.copy(EXAMPLE, d / "demo" / EXAMPLE.name)
    (d / "demo" / "payload-scenario.yaml").write_text(PAYLOAD_SCENARIO, encoding="utf-8")
    (d / "demo" / "broken-one.yaml").write_text(BROKEN_SCENARIO, encoding="utf-8")
    return d


def web_settings(tmp_path: Path, scenario_dir: Path) -> Settings:
    """Settings for the web tests: a private data folder, the fake embedder, a fixed cookie key."""
    return Settings(
        data_dir=tmp_path / "data",
        scenarios_dir=scenario_dir,
        knowledge_dir=REPO / "knowledge",
        embedder="fake",
        secret_key="test-secret-key",
        max_message_chars=200,
    )


def make_app(settings: Settings, knowledge: Any, customer_factory: Callable[[Scenario], Any] = FakeCustomer) -> Any:
    """The app with fakes and four accounts (the second trainee's name carries an HTML payload)."""
    hasher = password_hasher(fast=True)
    application = create_app(
        settings,
        customer_factory=customer_factory,
        grade=fake_grade,
        grader_version="fake-1",
        retriever=knowledge,
        hasher=hasher,
        limiter=RateLimiter(burst=30, per_second=100),
    )
    with application.state.services.db.write() as s:
        create_user(s, hasher, "xiaoman", "demo1234", role="trainee", display_name="小满")
        create_user(s, hasher, "ajie", "demo1234", role="trainee", display_name=f"阿杰{PAYLOAD}")
        create_user(s, hasher, "laowang", "demo1234", role="trainer", display_name="老王")
        create_user(s, hasher, "admin", "demo1234", role="admin", display_name="管理员")
    return application


def client_for(app) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(app, follow_redirects=False)


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "page has no CSRF field"
    return m.group(1)


def login(app, username: str, password: str = "demo1234") -> tuple[TestClient, str]:  # type: ignore[no-untyped-def]
    """A client logged in as ``username`` and its CSRF token."""
    c = client_for(app)
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"username": username, "password": password, "csrf_token": token, "next": "/"})
    assert r.status_code == 303, r.text
    token = csrf_of(c.get("/").text)
    return c, token


def hx(token: str) -> dict[str, str]:
    return {"HX-Request": "true", "X-CSRF-Token": token}


def start(c: TestClient, token: str, scenario_id: str = "presale-size-hesitant-office") -> str:
    r = c.post(f"/practice/{scenario_id}", data={"csrf_token": token})
    assert r.status_code == 303, r.text
    return r.headers["location"].rsplit("/", 1)[-1]


def say(c: TestClient, token: str, sid: str, text: str) -> tuple[Any, Any]:
    """Send a reply and fetch the customer's answer (what the typing indicator does)."""
    r = c.post(f"/chat/{sid}/reply", data={"text": text}, headers=hx(token))
    assert r.status_code == 200, r.text
    after = re.search(r'"after": (\d+)', r.text)
    assert after, r.text
    r2 = c.post(f"/chat/{sid}/customer", data={"after": after.group(1)}, headers=hx(token))
    return r, r2


def bubbles(html: str) -> list[str]:
    """Texts of the chat bubbles (not the typing indicator)."""
    return [b for b in re.findall(r'<div class="bubble">(.*?)</div>', html, re.S) if 'class="sr"' not in b]


# -- grading ---------------------------------------------------------------------------------------------------


def chat(*lines: str, **kw: Any) -> Transcript:
    """A transcript from alternating lines, the customer first; ``id`` defaults to "t", other keywords pass on."""
    turns = [Turn(role="customer" if i % 2 == 0 else "agent", text=t) for i, t in enumerate(lines)]
    return Transcript(id=kw.pop("id", "t"), turns=turns, **kw)


def interleave(replies: Sequence[str], edit: Callable[[str], str] = lambda r: r) -> list[str]:
    """Agent replies separated by a neutral customer line."""
    out: list[str] = []
    for r in replies:
        out += [edit(r), "嗯嗯"]
    return out[:-1]


def passage(pid: str, text: str, kind: str = "policy") -> Passage:
    """A knowledge passage with id ``pid`` (``doc#n``) and score 1."""
    return Passage(pid, pid.split("#")[0], pid, (), text, f"{pid}.md", 1.0, kind=kind)


class FakeRetriever:
    """Keyword retriever over a few passages: a passage matches when it shares a character bigram pair."""

    def __init__(self, passages: Sequence[Passage]):
        self.passages = list(passages)
        self.queries: list[str] = []

    def search(  # type: ignore[no-untyped-def]
        self, query: str, k: int = 5, *, kind=None, tier=None, tags=None, locale=None, doc_ids=None
    ) -> list[Passage]:
        self.queries.append(query)
        kinds = {kind} if isinstance(kind, str) else set(kind or [])
        grams = {query[i : i + 2] for i in range(len(query) - 1)}
        scored = []
        for p in self.passages:
            if kinds and p.kind not in kinds:
                continue
            overlap = sum(1 for g in grams if g in p.text)
            if overlap:
                scored.append((overlap, p))
        scored.sort(key=lambda x: -x[0])
        return [p for _, p in scored[:k]]
