"""Fakes and builders the test modules share: a customer, a grade, a knowledge search and a retriever that need
no model; transcripts from lines; the web app with fakes and accounts; the web helpers (log in, read the CSRF
token, play a conversation).

A plain module, not a test module: test modules import from here, never from each other. The fixtures built on
these (``settings``, ``app`` …) live in ``conftest.py``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from simulator.customer.base import CustomerMessage, CustomerResponse, TurnContext
from simulator.engine import Engine
from simulator.grading.result import CriterionResult, DimensionScore, Finding, Grade, Source, Suggestion, unscored
from simulator.knowledge.passage import Passage
from simulator.scenario.model import Scenario
from simulator.scenario.vocabulary import Dimension, Outcome
from simulator.session import Session, fill_variables
from simulator.settings import Settings
from simulator.store.users import create_user, password_hasher
from simulator.transcript import Transcript
from simulator.turn import Turn
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
        opening = fill_variables(self._scenario.opening[0], ctx.variables)
        return CustomerResponse([CustomerMessage(opening)], ctx.state.model_copy(deep=True))

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


class FakeGrader:
    """A real :class:`Grade` of fixed scores (overall 72.5, knowledge unscored) with one finding on the first
    agent reply, quoting it as evidence (so escaping of evidence can be tested)."""

    version = "fake-1"

    def grade(
        self, transcript: Transcript, scenario: Scenario | None = None, variables: Mapping[str, str] | None = None
    ) -> Grade:
        agent_idx = next((i for i, t in enumerate(transcript.turns) if t.role == "agent"), None)
        findings = [] if agent_idx is None else [self._finding(transcript, agent_idx)]
        s, t, k, p = Dimension.SERVICE, Dimension.TECHNIQUE, Dimension.KNOWLEDGE, Dimension.PROCESS
        return Grade(
            transcript_id=transcript.id,
            scenario_id=scenario.id if scenario else transcript.scenario,
            dimensions={
                s: DimensionScore(s, [CriterionResult(s, "greeting", "问候", 12.5, 7.5, findings=findings)], 50),
                t: DimensionScore(t, [CriterionResult(t, "needs", "需求", 10, 8)], 25),
                k: DimensionScore(k, [unscored(k, "facts", "知识", 10, "no knowledge")], 25),
                p: DimensionScore(p, [CriterionResult(p, "steps", "流程", 10, 9)], 25),
            },
            pass_mark=80.0,
            metrics={"reply_ratio": 1.0},
        )

    @staticmethod
    def _finding(transcript: Transcript, agent_idx: int) -> Finding:
        return Finding(
            Dimension.SERVICE,
            "greeting",
            5.0,
            "没有问候",
            turn=agent_idx,
            evidence=transcript.turns[agent_idx].text[:40],
            source=Source("rule", "greet", "先问候"),
            suggestion=Suggestion("亲，您好～", "rule:greet"),
        )


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


def fake_engine(
    settings: Settings,
    knowledge: Any,
    customer_factory: Callable[[Scenario], Any] = FakeCustomer,
    *,
    grader: Any = None,
    **kw: Any,
) -> Engine:
    """An engine of fakes: the customer, the grader (default :class:`FakeGrader`) and the knowledge search (``kw``
    passes on to :class:`Engine`)."""
    return Engine(settings, customers=customer_factory, grader=grader or FakeGrader(), knowledge=knowledge, **kw)


def make_app(settings: Settings, knowledge: Any, customer_factory: Callable[[Scenario], Any] = FakeCustomer) -> Any:
    """The app with fakes and four accounts (the second trainee's name carries an HTML payload)."""
    hasher = password_hasher(fast=True)
    application = create_app(
        settings,
        engine=fake_engine(settings, knowledge, customer_factory),
        hasher=hasher,
        limiter=RateLimiter(burst=30, per_second=100),
    )
    with application.state.services.engine.store.write() as s:
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


class Played:
    """A session with its customer at hand, for tests that talk to one customer: ``start()`` and ``reply(text)``
    pass the customer on; everything else is the session's."""

    def __init__(self, session: Session, customer: Any):
        self.session = session
        self.customer = customer

    def start(self) -> list[Turn]:
        return self.session.start(self.customer)

    def reply(self, text: str, **kw: Any) -> list[Turn]:
        return self.session.reply(self.customer, text, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)
