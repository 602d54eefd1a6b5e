"""End to end in a real browser: the real server (``simulator serve``) on a free loopback port with a temp data
dir, driven by Debian's chromium through Playwright. Screenshots go to ``test-artifacts/``.

Run: ``.venv/bin/pytest -m browser tests/e2e`` (needs ``scripts/system-deps.sh``: chromium + a CJK font).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCENARIO = "presale-size-hesitant-office"

# bypass_csp: Playwright evaluates its wait predicates as strings, which our CSP (no unsafe-eval) refuses;
# the pages themselves run under the real policy (a CSP violation would show up as a console error).
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium missing: run scripts/system-deps.sh"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("data")
    port = free_port()
    # Only these settings: none of the developer's SIM_* variables, and no .env (the working directory is the
    # data folder, not the repository root).
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("SIM_")}
    env |= {"SIM_DATA_DIR": str(data), "SIM_DEMO": "true"}
    log = open(data / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=data,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300  # first start builds the knowledge index
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            pytest.fail("server did not start:\n" + (data / "server.log").read_text(errors="replace")[-3000:])
        time.sleep(0.5)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def login(page, base: str, user: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", "demo1234")
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))


def wait_for(page, ready, what: str, seconds: float = 10) -> None:  # type: ignore[no-untyped-def]
    """Poll ``ready()``, which reads what route handlers collect (they only run while Playwright waits)."""
    deadline = time.monotonic() + seconds
    while not ready():
        assert time.monotonic() < deadline, what
        page.wait_for_timeout(50)


def good_replies() -> list[str]:
    from simulator.scenario import load_scenario
    from simulator.session import fill_variables

    scenario = load_scenario(REPO / "scenarios" / "qinghe" / f"{SCENARIO}.yaml")
    # Reference replies may name the scenario's {variables}; a trainee types the practice values.
    return [fill_variables(r, scenario.variable_values()) for r in scenario.references.good.replies]


def test_trainee_practises_and_gets_a_report(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN", bypass_csp=True)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    answers: list[str] = []  # how the page asked for the customer's answers
    page.on("request", lambda r: answers.append(r.url) if r.method == "POST" and "/customer" in r.url else None)
    page.goto(server + "/login")
    shot(page, "01-login-zh")
    login(page, server, "xiaoman")
    # the trainer's assignment comes first
    first = page.locator("#catalogue-list article").first
    assert first.get_attribute("data-scenario") == SCENARIO
    assert "主管布置的练习" in first.inner_text()
    shot(page, "02-catalogue-zh")
    first.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/chat/[0-9a-f-]{36}$"))
    chat_url = page.url
    page.wait_for_selector(".turn.customer .bubble")
    assert page.locator("#timer").is_visible()

    # the knowledge side panel: hybrid search with sources
    page.fill("#kb-q", "运费险 怎么赔")
    page.wait_for_selector("#kb-results .passage", timeout=30_000)
    assert "knowledge/" in page.inner_text("#kb-results")

    for reply in good_replies():
        if page.locator("#composer.closed").count():
            break
        agents = page.locator(".turn.agent").count()
        customers = page.locator(".turn.customer:not(.typing)").count()
        page.fill("#reply-text", reply)
        page.press("#reply-text", "Enter")
        page.wait_for_function(f"document.querySelectorAll('.turn.agent .ack').length > {agents}")
        assert page.input_value("#reply-text") == ""  # cleared only after the server acknowledged
        page.wait_for_function(
            f"document.querySelectorAll('.turn.customer:not(.typing)').length > {customers}", timeout=30_000
        )
        page.wait_for_selector("#typing", state="detached", timeout=30_000)
        if reply == good_replies()[0]:
            shot(page, "03-chat-zh")
    page.wait_for_selector("#composer.closed", timeout=30_000)
    assert "已下单" in page.inner_text("#composer")
    assert answers and all(u.endswith("/customer/stream") for u in answers), answers  # streamed, no fallback
    shot(page, "04-chat-ended-zh")

    page.click("#composer a.button")
    page.wait_for_url(re.compile(r".*/reports/[0-9a-f-]{36}$"))
    report_url = page.url
    page.wait_for_function("document.body.dataset.charts === '1'", timeout=30_000)
    assert page.locator("#radar canvas").count() == 1
    overall = page.inner_text("#overall-score")
    assert overall.isdigit() and int(overall) >= 80, overall
    text = page.inner_text("main")
    for label in ("服务", "技巧", "知识", "流程", "答问比", "已下单", "逐条点评"):
        assert label in text, label
    shot(page, "05-report-zh")

    # English
    page.click("button[name=lang][value=en]")
    page.wait_for_function("document.documentElement.lang === 'en'")
    page.wait_for_function("document.body.dataset.charts === '1'")
    assert "Report card" in page.inner_text("main") and "Reply ratio" in page.inner_text("main")
    shot(page, "06-report-en")
    page.goto(chat_url)
    shot(page, "07-chat-ended-en")
    page.click("button[name=lang][value=zh-CN]")

    # phone width
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, bypass_csp=True)
    ppage = phone.new_page()
    login(ppage, server, "xiaoman")
    shot(ppage, "08-catalogue-phone")
    ppage.goto(report_url)
    ppage.wait_for_function("document.body.dataset.charts === '1'")
    width = ppage.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"page scrolls sideways on a phone ({width}px)"
    shot(ppage, "09-report-phone")
    phone.close()

    # a second trainee cannot see the first one's report
    other = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN", bypass_csp=True)
    opage = other.new_page()
    login(opage, server, "ajie")
    resp = opage.goto(report_url)
    assert resp is not None and resp.status == 404
    assert "overall-score" not in opage.content()
    shot(opage, "10-other-trainee-denied")
    resp = opage.goto(chat_url)
    assert resp is not None and resp.status == 404
    other.close()

    # the trainer can
    trainer = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN", bypass_csp=True)
    tpage = trainer.new_page()
    login(tpage, server, "laowang")
    resp = tpage.goto(report_url)
    assert resp is not None and resp.status == 200
    tpage.goto(server + "/trainer")
    shot(tpage, "11-trainer-scenarios")
    trainer.close()

    assert not errors, errors
    ctx.close()


def test_phone_chat_layout(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, bypass_csp=True)
    page = phone.new_page()
    login(page, server, "ajie")
    page.locator(f"article[data-scenario='{SCENARIO}'] button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/chat/"))
    page.wait_for_selector(".turn.customer .bubble")
    page.fill("#reply-text", "亲，您好～请问您的身高体重是多少呢？")
    page.click("#send")
    # the answer, not just the moment before the reply's acknowledgement put the typing indicator in
    page.wait_for_function("document.querySelectorAll('.turn.customer:not(.typing)').length > 1", timeout=30_000)
    page.wait_for_selector("#typing", state="detached", timeout=30_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    assert page.locator("#send").is_visible()
    shot(page, "12-chat-phone")
    phone.close()


def test_streamed_text_grows_then_the_committed_turn_replaces_it(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    """Deltas show as a growing bubble (as text, even markup); when the stream breaks, the plain request takes
    over and the committed turn replaces the provisional text. The stream is stubbed: the scripted customer
    the server runs here answers at once, in one piece."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN", bypass_csp=True)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    provisional = "我想再问一下 <img src=x onerror=alert(2)>"
    body = "".join(
        f"event: delta\ndata: {json.dumps({'text': piece}, ensure_ascii=False)}\n\n"
        for piece in (provisional[:6], provisional[6:])
    )
    streams: list[object] = []
    held: list[object] = []
    page.route("**/customer/stream", lambda route: streams.append(route))
    page.route("**/customer", lambda route: held.append(route))  # the fallback waits until we have looked
    login(page, server, "ajie")
    page.locator("article[data-scenario='presale-skirt-waist-student'] button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/chat/"))
    page.wait_for_selector(".turn.customer .bubble")
    page.fill("#reply-text", "亲，您好～请问您平时穿什么尺码呢？")
    page.press("#reply-text", "Enter")
    wait_for(page, lambda: streams, "the page did not ask for the stream")
    page.wait_for_timeout(1000)  # past the typing delay: htmx's own request was due, and held back
    assert not held
    streams[0].fulfill(  # type: ignore[attr-defined]
        status=200,
        headers={"content-type": "text/event-stream; charset=utf-8"},
        body=body + 'event: error\ndata: {"message": "broken"}\n\n',  # the model's stream breaks
    )
    page.wait_for_selector("#typing.streaming")
    assert page.inner_text("#typing .bubble") == provisional
    assert page.locator("#log img").count() == 0 and page.locator("#send").is_disabled()
    wait_for(page, lambda: held, "the page did not fall back to the plain request")
    shot(page, "13-chat-streaming")
    held[0].continue_()  # type: ignore[attr-defined]
    page.wait_for_selector("#typing", state="detached", timeout=30_000)
    last = page.locator(".turn.customer .bubble").last.inner_text()
    assert last and "<img" not in last and "我想再问一下" not in last
    page.wait_for_selector("#send:enabled", timeout=5_000)  # once htmx has settled the swap
    assert page.locator("#log img").count() == 0
    assert not errors, errors
    ctx.close()


def _check_size_charts(page, results: str, width: int) -> None:  # type: ignore[no-untyped-def]
    """A rendered size chart: a real table with header cells and rows, no Markdown left over, and a chart wider
    than its passage scrolls inside the passage while the page itself never scrolls sideways."""
    table = page.locator(f"{results} .passage table").first
    table.wait_for(timeout=30_000)
    assert "尺码" in table.locator("thead th").all_inner_texts()
    assert table.locator("tbody tr").count() >= 3
    assert table.evaluate("t => getComputedStyle(t).display") == "table"
    text = page.inner_text(results)
    assert "|---" not in text and "| S |" not in text and "**" not in text
    assert page.locator(f"{results} strong").count() > 0  # **bold** became bold
    for box in page.locator(f"{results} .table-scroll").all():
        inside = box.evaluate(
            "b => { const p = b.closest('.passage-text').getBoundingClientRect(), r = b.getBoundingClientRect();"
            " return r.left >= p.left - 1 && r.right <= p.right + 1; }"
        )
        assert inside, "a table sticks out of its passage"
        assert box.evaluate("b => getComputedStyle(b).overflowX") == "auto"
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"


@pytest.mark.parametrize(("width", "height", "name"), [(1280, 900, "desktop"), (390, 844, "phone")])
def test_knowledge_passages_show_size_charts_as_tables(  # type: ignore[no-untyped-def]
    server: str, browser, width: int, height: int, name: str
) -> None:
    """The knowledge panel beside the chat and the knowledge page render a size chart as a table, on a desktop
    and on a phone."""
    ctx = browser.new_context(
        viewport={"width": width, "height": height}, locale="zh-CN", is_mobile=width < 500, bypass_csp=True
    )
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, server, "ajie")
    page.locator("article[data-scenario='presale-dress-mother-between-sizes'] button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/chat/"))
    page.fill("#kb-q", "腰围对照表")
    _check_size_charts(page, "#kb-results", width)
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("aside.kb").screenshot(path=str(ARTIFACTS / f"14-kb-panel-size-chart-{name}.png"))
    page.goto(server + "/kb/search?q=腰围对照表")
    _check_size_charts(page, ".kb-results", width)
    shot(page, f"15-kb-page-size-chart-{name}")
    assert not errors, errors
    ctx.close()
