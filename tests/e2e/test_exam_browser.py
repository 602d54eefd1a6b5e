"""Exams in a real browser against the real server (``simulator serve``: real embedder, index, grader):

* the exam owner's dashboard; a trainee takes the demo certification from start to certificate (pastes and leaving
  the page recorded and shown to the reviewer); the PDF; ``/verify`` for valid, expired and revoked codes;
* the timer: a reload keeps it, a server restart keeps it and the answers, and at zero the page submits the part
  (written and role-play), the role-play graded as it stands; the attempt cap;
* two tabs: the second takes the exam over, the first is refused;
* every exam page at desktop and phone width in zh-CN and English (screenshots in test-artifacts/).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_browser import ARGS, CHROMIUM, REPO, free_port, login, shot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium missing: run scripts/system-deps.sh"),
]

SHORT_EXAM = """\
# yaml-language-server: $schema=../exam.schema.json
id: short-check
title: 快速测验（一分钟）
locale: zh-CN
shop: qinghe
pass_mark: 85
attempts: {max: 1, cooldown_hours: 0, practice_before_retry: false}
parts:
  - {id: written, kind: written, title: 笔试, minutes: 1, weight: 40, draw: {banks: [qinghe-newhire], count: 3}}
  - {id: roleplay, kind: roleplay, title: 情景模拟, minutes: 1, weight: 60, scenarios: [presale-size-hesitant-office]}
"""


class Server:
    """``simulator serve`` on a data folder, which can be killed and started again on the same folder and port."""

    def __init__(self, data: Path, scenarios: Path):
        self.data, self.scenarios, self.port = data, scenarios, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("SIM_")}
        env |= {"SIM_DATA_DIR": str(self.data), "SIM_DEMO": "true", "SIM_SCENARIOS_DIR": str(self.scenarios)}
        log = open(self.data / "server.log", "ab")  # noqa: SIM115 - the process owns it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "simulator", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=self.data,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 300
        while True:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("server did not start:\n" + (self.data / "server.log").read_text(errors="replace")[-3000:])
            time.sleep(0.3)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("exam-e2e")
    scenarios = root / "scenarios"
    shutil.copytree(REPO / "scenarios", scenarios)
    (scenarios / "exams" / "short-check.yaml").write_text(SHORT_EXAM, encoding="utf-8")
    data = root / "data"
    data.mkdir()
    s = Server(data, scenarios)
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def context(browser: Any, *, width: int = 1280, lang: str = "zh-CN") -> Any:
    return browser.new_context(
        viewport={"width": width, "height": 900 if width > 500 else 844},
        locale=lang,
        bypass_csp=True,
        is_mobile=width < 500,
    )


def store(server: Server) -> Any:
    """The server's database, read from the test (SQLite in WAL mode: readers do not disturb the server)."""
    from simulator.engine import Engine
    from simulator.exam.attempts import ExamService
    from simulator.settings import Settings

    settings = Settings(
        data_dir=server.data, scenarios_dir=server.scenarios, knowledge_dir=REPO / "knowledge", embedder="fake"
    )
    return ExamService(Engine(settings, embeddings=False, knowledge_index=False))


def watch_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "409" not in m.text else None)
    return errors


def schedule(page: Any, server: Server, exam_id: str, target_label: str) -> None:
    page.goto(server.url + "/examiner")
    page.select_option("select[name=exam_id]", exam_id)
    option = page.locator("select[name=target] option", has_text=target_label).first
    page.select_option("select[name=target]", option.get_attribute("value"))
    page.click("#schedule")
    page.wait_for_url(re.compile(r".*/examiner\?scheduled=1$"))


def right_answer(q: Any) -> Any:
    if q.kind.value == "true-false":
        return "true" if q.answer else "false"
    if q.kind.value == "short":
        return q.answer
    return q.right_letters


def answer_written(page: Any, exams: Any, attempt_id: int) -> None:
    v = exams.view(attempt_id, enforce=False)
    for d in v.frozen.questions["written"]:
        q = v.frozen.bank_questions[d.key][1]
        box = page.locator(f"fieldset[data-key='{d.key}']")
        answer = right_answer(q)
        saved = box.locator(".saved")
        if q.kind.value == "short":
            box.locator("textarea").fill(answer)
            box.locator("textarea").dispatch_event("change")
        elif isinstance(answer, list):
            for letter in answer:
                box.locator(f"input[value='{letter}']").check()
        else:
            box.locator(f"input[value='{answer}']").check()
        saved.locator(".ack").wait_for(timeout=10_000)  # acknowledged = committed


def play_good(page: Any, exams: Any, attempt_id: int) -> None:
    from simulator.session import fill_variables

    engine = exams.engine
    for _ in range(3):
        page.wait_for_selector("#reply-form")
        sid = re.search(r"/chat/([0-9a-f-]{36})/reply", page.inner_html("#composer")).group(1)  # type: ignore[union-attr]
        session = engine.conversation(sid)
        scenario = engine.scenario_of(session)
        for reply in scenario.references.good.replies:
            if page.locator("#composer.closed").count():
                break
            agents = page.locator(".turn.agent").count()
            page.fill("#reply-text", fill_variables(reply, session.variables))
            page.press("#reply-text", "Enter")
            page.wait_for_function(f"document.querySelectorAll('.turn.agent .ack').length > {agents}")
            page.wait_for_selector("#typing", state="detached", timeout=30_000)
        if page.locator("#composer.closed").count() == 0:
            page.once("dialog", lambda d: d.accept())
            page.click("#end-conversation")
            page.wait_for_load_state()
        else:
            page.click("#next-customer")
        page.wait_for_load_state("networkidle")


def test_owner_schedules_and_a_trainee_is_certified(server: Server, browser: Any) -> None:
    exams = store(server)
    owner = context(browser).new_page()
    login(owner, server.url, "zhou")
    owner.goto(server.url + "/examiner")
    assert "新人上岗认证" in owner.inner_text("main")
    schedule(owner, server, "qinghe-newhire-cert", "小满")
    shot(owner, "exam-01-owner-dashboard-zh")

    ctx = context(browser)
    page = ctx.new_page()
    errors = watch_errors(page)
    login(page, server.url, "xiaoman")
    page.goto(server.url + "/exams")
    shot(page, "exam-02-upcoming-zh")
    page.locator("article.exam-window", has_text="青禾").first.locator("button.start-exam").click()
    page.wait_for_url(re.compile(r".*/exam/\d+$"))
    attempt_id = int(page.url.rsplit("/", 1)[-1])
    shot(page, "exam-03-intro-zh")
    page.click("#start-part")
    page.wait_for_selector("#exam-timer")
    shot(page, "exam-04-written-zh")
    # a paste into an answer and leaving the page: recorded, never blocked
    page.evaluate("""() => {
        const ta = document.querySelector('#questions textarea') || document.querySelector('#questions input');
        const dt = new DataTransfer(); dt.setData('text/plain', '从别处复制来的一段答案');
        ta.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true}));
    }""")
    other = ctx.new_page()
    other.goto(server.url + "/verify")
    other.bring_to_front()
    page.wait_for_timeout(600)
    page.bring_to_front()
    other.close()
    answer_written(page, exams, attempt_id)
    page.once("dialog", lambda d: d.accept())
    page.click("#submit-part")
    page.wait_for_selector("#start-part")
    page.click("#start-part")
    page.wait_for_selector("#reply-form")
    page.fill("#kb-q", "运费险")
    page.wait_for_selector("#kb-results .passage", timeout=30_000)
    shot(page, "exam-05-roleplay-zh")
    play_good(page, exams, attempt_id)
    page.wait_for_selector("#finish-part")
    page.click("#finish-part")
    page.wait_for_url(re.compile(r".*/result$"))
    page.wait_for_selector("#open-certificate", timeout=120_000)
    assert "通过" in page.inner_text(".verdict-box")
    shot(page, "exam-06-result-zh")
    page.click("#open-certificate")
    page.wait_for_selector("#cert-code")
    code = page.inner_text("#cert-code")
    shot(page, "exam-07-certificate-zh")
    pdf = page.request.get(f"{server.url}/certificates/{code}/pdf")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
    (Path(REPO / "test-artifacts") / "exam-certificate.pdf").write_bytes(pdf.body())
    assert not errors, errors

    anon = context(browser).new_page()
    anon.goto(f"{server.url}/verify/{code}")
    assert "有效" in anon.inner_text("#verify-status")
    shot(anon, "exam-08-verify-valid-zh")

    owner.goto(f"{server.url}/examiner/attempts/{attempt_id}")
    events = owner.inner_text("#events")
    assert "粘贴文字" in events and "离开页面" in events, events
    shot(owner, "exam-09-review-zh")
    # revoked and expired
    owner.goto(server.url + "/examiner/certificates")
    owner.locator("details summary", has_text="吊销").first.click()
    owner.fill("input[name=reason]", "测试吊销：转岗")
    owner.locator("button.danger").first.click()
    owner.wait_for_url(re.compile(r".*/examiner/certificates$"))
    anon.goto(f"{server.url}/verify/{code}")
    assert "已吊销" in anon.inner_text("#verify-status")
    shot(anon, "exam-10-verify-revoked-zh")
    # a year later (the server's clock cannot be moved: the certificate's dates are, in its database)
    from simulator.store.certificates import by_code

    with exams.engine.store.write() as s:
        cert = by_code(s, code)
        assert cert is not None
        cert.revoked_at = None
        cert.issued_at = datetime.now(UTC) - timedelta(days=400)
        cert.expires_at = datetime.now(UTC) - timedelta(days=35)
    expired = code
    anon.goto(f"{server.url}/verify/{expired}")
    assert "已过期" in anon.inner_text("#verify-status")
    shot(anon, "exam-11-verify-expired-zh")


def test_timer_reload_restart_auto_submit_and_cap(server: Server, browser: Any) -> None:
    exams = store(server)
    owner = context(browser).new_page()
    login(owner, server.url, "zhou")
    schedule(owner, server, "short-check", "阿杰")
    page = context(browser).new_page()
    login(page, server.url, "ajie")
    page.goto(server.url + "/exams")
    page.locator("article.exam-window", has_text="快速测验").locator("button.start-exam").click()
    page.wait_for_url(re.compile(r".*/exam/\d+$"))
    attempt_id = int(page.url.rsplit("/", 1)[-1])
    page.click("#start-part")
    page.wait_for_selector("#exam-timer")
    v = exams.view(attempt_id, enforce=False)
    first = v.frozen.questions["written"][0]
    q = v.frozen.bank_questions[first.key][1]
    box = page.locator(f"fieldset[data-key='{first.key}']")
    if q.kind.value == "short":
        box.locator("textarea").fill("先垫付")
        box.locator("textarea").dispatch_event("change")
    else:
        box.locator("input[name=answer]").first.check()
    box.locator(".ack").wait_for()
    before = int(page.get_attribute("#exam-timer", "data-remaining-ms") or 0)
    # a restart: the server is killed mid-exam and started again on the same data
    server.kill()
    server.start()
    page.reload()
    after = int(page.get_attribute("#exam-timer", "data-remaining-ms") or 0)
    assert 0 < after < before, (before, after)  # the server's clock kept running
    assert page.locator(f"fieldset[data-key='{first.key}'] .ack").count() == 1  # the answer survived
    # at zero the page submits the part; the server agrees by its own clock
    page.wait_for_selector("#start-part", timeout=90_000)
    assert "情景模拟" in page.inner_text("main")
    page.click("#start-part")
    page.wait_for_selector("#reply-form")
    page.fill("#reply-text", "亲，您好～方便告诉我您的身高体重吗？")
    page.press("#reply-text", "Enter")
    page.wait_for_selector("#typing", state="detached", timeout=30_000)
    shot(page, "exam-12-roleplay-timer-zh")
    page.wait_for_url(re.compile(r".*/result$"), timeout=90_000)
    page.wait_for_selector(".verdict-box .verdict-badge.failed", timeout=120_000)
    shot(page, "exam-13-result-failed-zh")
    v = exams.view(attempt_id, enforce=False)
    assert [p.reason for p in v.parts] == ["deadline", "deadline"]
    session = exams.engine.conversation(v.parts[1].sessions[0])
    assert session.outcome is not None and session.outcome.value == "timed-out"
    assert len(session.messages()) >= 3  # graded as it stands: the opening, the reply, the answer
    page.goto(server.url + "/exams")
    assert "已用完全部考试次数" in page.inner_text("main")  # max: 1


def test_two_tabs_cannot_both_answer(server: Server, browser: Any) -> None:
    exams = store(server)
    owner = context(browser).new_page()
    login(owner, server.url, "zhou")
    schedule(owner, server, "northwind-newhire-cert", "小满")
    ctx = context(browser, lang="en")
    a = ctx.new_page()
    login(a, server.url, "xiaoman")
    a.click("button[name=lang][value=en]")
    a.goto(server.url + "/exams")
    a.locator("article.exam-window", has_text="Northwind").first.locator("button.start-exam").click()
    a.wait_for_url(re.compile(r".*/exam/\d+$"))
    attempt_id = int(a.url.rsplit("/", 1)[-1])
    shot(a, "exam-14-intro-en")
    a.click("#start-part")
    a.wait_for_selector("#exam-timer")
    shot(a, "exam-15-written-en")
    b = ctx.new_page()  # a second tab of the same browser
    b.goto(a.url)
    b.wait_for_selector("#exam-timer")
    b.wait_for_timeout(500)
    v = exams.view(attempt_id, enforce=False)
    d = next(x for x in v.frozen.questions["written"] if v.frozen.bank_questions[x.key][1].kind.value != "short")
    a.bring_to_front()
    a.locator(f"fieldset[data-key='{d.key}'] input[name=answer]").first.check()
    a.wait_for_selector("#flash .error-msg")
    assert "another tab" in a.inner_text("#flash")
    shot(a, "exam-16-second-tab-refused-en")
    b.bring_to_front()
    b.locator(f"fieldset[data-key='{d.key}'] input[name=answer]").first.check()
    b.locator(f"fieldset[data-key='{d.key}'] .ack").wait_for()


def test_every_exam_page_at_desktop_and_phone_width(server: Server, browser: Any) -> None:
    """Screenshots of every exam page in both languages at 1280 and 390 px; the page never scrolls sideways."""
    exams = store(server)
    with exams.engine.store.read() as s:
        from simulator.store.exams import list_attempts

        graded = next(a for a in list_attempts(s) if a.result == "passed")
    from simulator.store.certificates import of_attempt

    with exams.engine.store.read() as s:
        code = of_attempt(s, graded.id).code  # type: ignore[union-attr]
    pages = {
        "exams": ("xiaoman", "/exams"),
        "result": ("xiaoman", f"/exam/{graded.id}/result"),
        "certificate": ("xiaoman", f"/certificates/{code}"),
        "owner": ("zhou", "/examiner"),
        "review": ("zhou", f"/examiner/attempts/{graded.id}"),
        "audit": ("zhou", "/examiner/audit"),
        "certificates": ("zhou", "/examiner/certificates"),
        "verify": (None, f"/verify/{code}"),
    }
    for lang in ("zh-CN", "en"):
        for width in (1280, 390):
            for user in ("xiaoman", "zhou", None):
                ctx = context(browser, width=width, lang=lang)
                page = ctx.new_page()
                if user:
                    login(page, server.url, user)
                page.context.add_cookies([{"name": "lang", "value": lang, "url": server.url}])
                for name, (who, path) in pages.items():
                    if who != user:
                        continue
                    page.goto(server.url + path)
                    assert page.evaluate("document.documentElement.lang") == lang
                    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                    assert overflow <= 1, (name, lang, width, overflow)
                    shot(page, f"exam-page-{name}-{lang}-{width}")
                ctx.close()
