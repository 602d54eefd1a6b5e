"""Knowledge passages are shown as rendered Markdown — size charts as tables — and hostile Markdown or HTML in a
knowledge document never becomes script, handler, style, remote image or dangerous link on any page.

Through the real pages (the in-process test client): the chat page's knowledge panel (the htmx fragment), the
knowledge page (the same search without htmx) and the report card (the passage answering a customer's question
and a knowledge finding's source).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from fakes import FakeGrader, fake_engine, login, say, start

from simulator.grading.result import (
    CriterionResult,
    DimensionScore,
    Finding,
    Grade,
    QuestionEvidence,
    Source,
    Suggestion,
)
from simulator.knowledge.passage import Passage
from simulator.scenario.model import Scenario
from simulator.scenario.vocabulary import Dimension
from simulator.settings import Settings
from simulator.store.users import create_user, password_hasher
from simulator.transcript import Transcript
from web import create_app
from web.markup import LINK_REL, passage_html
from web.ratelimit import RateLimiter

SIZE_CHART = """\
这几款**按腰围选码**，不按身高体重。

| 尺码 | 腰围 cm | 腰围 市尺 | P501 | SK901 |
|:---|---:|:---:|---|---|
| S | 64 | 2尺 | 有 | 有 |
| M | 68 | 2尺1 | 有 | 有 |
| XL | 76 | 2尺3 | 有 | **无** |
"""

# Hostile Markdown and HTML, as a document in knowledge/ could carry it (written by mistake or by an attacker).
HOSTILE = [
    "<script>alert('kb1')</script>",
    "<img src=x onerror=alert('kb2')>",
    "<a href=\"javascript:alert('kb3')\">点我</a>",
    "[点我](javascript:alert('kb4'))",
    "[点我](JaVaScRiPt:alert('kb5'))",
    "[点我](&#106;avascript:alert('kb6'))",
    "[点我](data:text/html;base64,PHNjcmlwdD5hbGVydCgna2I3Jyk8L3NjcmlwdD4=)",
    "[点我](vbscript:msgbox('kb8'))",
    "<javascript:alert('kb9')>",
    "![尺码图](https://tracker.example/pixel.png)",
    "![](data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk)",
    "![x\" onerror=\"alert('kb10')](https://tracker.example/a.png)",
    '[官方规则](https://rules.example/returns "t\\" onmouseover=\\"alert(\'kb11\')")',
    '<div style="position:fixed;inset:0">盖住整页</div>',
    "<iframe src=https://evil.example></iframe>",
    "<svg onload=alert('kb12')></svg>",
    "<style>body{display:none}</style>",
    '<form action="https://evil.example"><input name=p></form>',
    "[相对链接](../policies/returns.md) [站内](/trainer) [协议相对](//evil.example/x)",
]
HOSTILE_TEXT = "\n\n".join(HOSTILE)
DANGEROUS_URL = re.compile(r"^\s*(javascript|vbscript|data|file):", re.I)


class Tags(HTMLParser):
    """Every start tag of a page with its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    parser.close()
    return parser.tags


def assert_no_active_content(html: str) -> None:
    """No script but the app's own files and JSON blocks, no handler, no style, no image, frame, form or
    dangerous URL; every link to another site carries ``rel="noopener noreferrer nofollow"``."""
    for tag, attrs in tags_of(html):
        where = f"<{tag} {attrs}>"
        if tag == "script":
            assert attrs.get("src", "").startswith("/static/") or attrs.get("type") == "application/json", where
        assert tag not in {"img", "iframe", "frame", "svg", "object", "embed", "style", "base"}, where
        if tag == "form":
            assert re.match(r"^/[^/\\]", attrs.get("action") or "/x"), where  # the app's own forms only
        for name, value in attrs.items():
            assert not name.startswith("on"), where
            assert name != "style", where
            if name in {"href", "src", "action", "formaction", "xlink:href"}:
                assert not DANGEROUS_URL.match(value or ""), where
        if tag == "a" and re.match(r"^(https?:)?//", attrs.get("href") or ""):
            assert set(LINK_REL.split()) <= set((attrs.get("rel") or "").split()), where
            assert attrs.get("target") == "_blank", where


class HostileKnowledge:
    """A knowledge search that answers every query with a size chart and a passage full of payloads."""

    def search(self, query: str, k: int = 5, **_: Any) -> list[Passage]:
        return [
            Passage("qinghe/size/pants#1", "qinghe/size/pants", "裤装尺码表", ("腰围对照表",), SIZE_CHART, "x.md", 1.0),
            Passage("evil/doc#1", "evil/doc", "坏文档", (), HOSTILE_TEXT, "knowledge/evil.md", 0.5),
        ][:k]


class KnowledgeGrader(FakeGrader):
    """A grade whose report shows knowledge passages: the answer to the opening question and a knowledge
    finding whose source is a passage — both hostile."""

    def grade(self, transcript: Transcript, scenario: Scenario | None = None, variables: Any = None) -> Grade:
        g = super().grade(transcript, scenario, variables)
        finding = Finding(
            Dimension.KNOWLEDGE,
            "kb-contradiction",
            6.0,
            "尺码说错了",
            turn=1,
            source=Source("passage", "evil/doc#1", SIZE_CHART + "\n\n" + HOSTILE_TEXT),
            suggestion=Suggestion("M 码", "passage:qinghe/size/pants#1"),
        )
        k = Dimension.KNOWLEDGE
        g.dimensions[k] = DimensionScore(k, [CriterionResult(k, "kb", "知识", 20, 14, findings=[finding])], 25)
        g.questions = [
            QuestionEvidence(0, "腰围68穿什么码", "evil/doc#1", SIZE_CHART + "\n\n" + HOSTILE_TEXT, "evil/doc", 0.9)
        ]
        return g


@pytest.fixture
def app(settings: Settings):
    hasher = password_hasher(fast=True)
    application = create_app(
        settings,
        engine=fake_engine(settings, HostileKnowledge(), grader=KnowledgeGrader()),
        hasher=hasher,
        limiter=RateLimiter(burst=30, per_second=100),
    )
    with application.state.services.engine.store.write() as s:
        create_user(s, hasher, "xiaoman", "demo1234", role="trainee", display_name="小满")
        create_user(s, hasher, "laowang", "demo1234", role="trainer", display_name="老王")
    yield application
    application.state.services.engine.store.dispose()


def assert_size_chart_is_a_table(html: str) -> None:
    assert '<div class="table-scroll"><table>' in html
    for cell in ("<th>尺码</th>", "<th>腰围 cm</th>", "<td>68</td>", "<td><strong>无</strong></td>"):
        assert cell in html, cell
    assert "<strong>按腰围选码</strong>" in html
    assert "|---" not in html and "| S |" not in html and "**" not in html


def test_the_knowledge_panel_shows_a_size_chart_as_a_table_and_no_active_content(app) -> None:
    c, _ = login(app, "xiaoman")
    panel = c.get("/kb/search", params={"q": "腰围68"}, headers={"HX-Request": "true"})
    assert panel.status_code == 200
    assert_size_chart_is_a_table(panel.text)
    assert_no_active_content(panel.text)
    # the raw HTML is shown as text, so the author sees what went wrong; the remote image is its alt text
    assert "&lt;script&gt;alert('kb1')&lt;/script&gt;" in panel.text
    assert '<span class="img-alt">尺码图</span>' in panel.text
    assert "tracker.example" not in panel.text
    assert '<a href="https://rules.example/returns"' in panel.text  # a link to another site stays a link
    assert "相对链接" in panel.text and 'href="../' not in panel.text and 'href="/trainer"' not in panel.text


def test_the_knowledge_page_renders_passages_the_same_way(app) -> None:
    c, _ = login(app, "xiaoman")
    page = c.get("/kb/search", params={"q": "腰围68"})
    assert page.status_code == 200 and "<html" in page.text
    assert_size_chart_is_a_table(page.text)
    assert_no_active_content(page.text)


def test_the_chat_page_and_its_panel_have_no_active_content(app) -> None:
    c, token = login(app, "xiaoman")
    sid = start(c, token)
    chat = c.get(f"/chat/{sid}").text
    assert 'id="kb-results"' in chat
    assert_no_active_content(chat)


def test_the_report_renders_knowledge_passages_and_no_active_content(app) -> None:
    c, token = login(app, "xiaoman")
    sid = start(c, token)
    say(c, token, sid, "您好，腰围68穿M")
    c.post(f"/chat/{sid}/end", data={"csrf_token": token})
    report = c.get(f"/reports/{sid}")
    assert report.status_code == 200
    html = report.text
    assert_size_chart_is_a_table(html)
    assert html.count('<div class="table-scroll"><table>') == 2  # the question's answer and the finding's source
    assert_no_active_content(html)
    trainer, _ = login(app, "laowang")
    assert_no_active_content(trainer.get(f"/reports/{sid}").text)


@pytest.mark.parametrize("payload", HOSTILE)
def test_each_payload_alone_renders_harmless(payload: str) -> None:
    html = str(passage_html(payload))
    assert_no_active_content(html)
    assert not re.search(r"<(script|img|iframe|svg|style|form|input|div style)", html), html


def test_markdown_that_passages_use() -> None:
    html = str(passage_html("# 标题\n\n- 一\n- 二\n\n1. 量腰围\n2. 选码\n\n> 注意\n\n`P501` ~~旧价~~"))
    for part in ("<h1>标题</h1>", "<li>一</li>", "<ol>", "<blockquote>", "<code>P501</code>", "<s>旧价</s>"):
        assert part in html, part
    assert str(passage_html("")) == "" and str(passage_html(None)) == ""
    link = str(passage_html("<https://rules.example/a>"))
    assert 'href="https://rules.example/a"' in link and f'rel="{LINK_REL}"' in link
