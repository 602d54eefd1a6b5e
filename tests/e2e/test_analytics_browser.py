"""质培联动 end to end in a real browser — the issue's "Done when": a trainer imports a day of real chats, sees the
problems classified with their recommended modes, creates a plan in one action; the trainee's assignment and
retests appear and update as they practise; the improvement shows on the dashboard; the Learning Record Store
(Ralph, started here) receives every statement of the attempt.

The real server (``simulator serve``, demo set-up: accounts, knowledge index, the demo team's history) on a free
loopback port, Debian's chromium through Playwright. Screenshots in ``test-artifacts/`` (zh-CN and English,
desktop 1280 and phone 390). Run: ``.venv/bin/pytest -m browser tests/e2e/test_analytics_browser.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
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
LRS = REPO / "scripts" / "lrs-server.sh"
LRS_USER, LRS_PASSWORD = "simulator", "browser-lrs-password"
SCENARIO = "presale-size-hesitant-office"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium missing: run scripts/system-deps.sh"),
]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    proc.kill()
    pytest.fail(f"{url} did not come up:\n" + log.read_text(errors="replace")[-3000:])


@pytest.fixture(scope="module")
def lrs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Ralph, the xAPI LRS, with its file backend."""
    done = subprocess.run(["bash", str(LRS), "install"], capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        pytest.skip(f"Ralph could not be installed: {done.stderr[-300:]}")
    home = tmp_path_factory.mktemp("lrs")
    port = _port()
    log = home / "ralph.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RALPH_")}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["bash", str(LRS), "start", str(home), str(port), LRS_USER, LRS_PASSWORD],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    _wait(f"http://127.0.0.1:{port}/__heartbeat__", proc, log, 120)
    yield f"http://127.0.0.1:{port}/xAPI/"
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, lrs: str) -> Iterator[str]:
    data = tmp_path_factory.mktemp("data")
    port = _port()
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("SIM_")}
    env |= {
        "SIM_DATA_DIR": str(data),
        "SIM_DEMO": "true",
        "SIM_LRS_URL": lrs,
        "SIM_LRS_USERNAME": LRS_USER,
        "SIM_LRS_PASSWORD": LRS_PASSWORD,
    }
    log = data / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "simulator", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=data,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    _wait(url + "/healthz", proc, log, 900)  # first start: knowledge index and the demo team's history
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


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


def context(browser, lang: str = "zh-CN", phone: bool = False):  # type: ignore[no-untyped-def]
    size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
    ctx = browser.new_context(viewport=size, locale="zh-CN", is_mobile=phone, bypass_csp=True)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.errors = errors  # type: ignore[attr-defined]
    return ctx, page


def login(page, base: str, user: str, lang: str = "zh-CN") -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", "demo1234")
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.click(f"button[name=lang][value={lang}]")
    page.wait_for_function(f"document.documentElement.lang === '{lang}'")


def wide(page, width: int) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"


def good_replies() -> list[str]:
    from simulator.scenario import load_scenario
    from simulator.session import fill_variables

    scenario = load_scenario(REPO / "scenarios" / "qinghe" / f"{SCENARIO}.yaml")
    # Reference replies may name the scenario's {variables}; a trainee types the practice values.
    return [fill_variables(r, scenario.variable_values()) for r in scenario.references.good.replies]


def test_import_classify_plan_practise_improve_and_lrs(server: str, browser, tmp_path: Path, lrs: str) -> None:  # type: ignore[no-untyped-def]
    from simulator.analytics.demo import day_csv

    # -- the trainer's home: the dashboard, with the demo team's problems and their modes -----------------------
    ctx, page = context(browser)
    login(page, server, "laowang")
    page.goto(server + "/")
    page.goto(server + "/trainer")
    page.wait_for_function("Number(document.body.dataset.analyticsCharts) >= 3", timeout=30_000)
    text = page.inner_text("main")
    for word in (
        "质培看板",
        "模拟练习与真实会话对比",
        "突发问题",
        "共性问题",
        "个体问题",
        "一对一辅导",
        "客服 × 评分项",
    ):
        assert word in text, word
    assert page.locator("[data-chart=heatmap] canvas").count() >= 1
    shot(page, "20-dashboard-zh")

    # -- import a day of real chats; the QA job's progress updates in the page ---------------------------------
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    day = tmp_path / f"qinghe-{today}.csv"
    day.write_text(day_csv(today, seed=99, per_agent=3.0), encoding="utf-8")
    page.goto(server + "/trainer/imports")
    shot(page, "21-import-form-zh")
    page.set_input_files("input[name=files]", str(day))
    page.fill("input[name=shop]", "qinghe")
    page.click("#import-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/trainer/imports/\d+$"))
    import_url = page.url
    page.wait_for_selector("#qa-progress[data-status=done]", timeout=180_000)
    page.wait_for_selector("#chats a[href^='/reports/']", timeout=30_000)  # the page reloads when the job is done
    assert "已评分" in page.inner_text("#qa-progress")
    assert page.locator("#chats a[href^='/reports/']").count() >= 10
    shot(page, "22-import-done-zh")

    # -- the problems of the last week; one click makes 小满's greeting plan ------------------------------------
    page.goto(server + "/trainer?days=7")
    card = page.locator("article.problem[data-problem^='individual:greeting:']").first
    assert "一对一辅导" in card.inner_text() and "小满" in card.inner_text()
    card.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/trainer/plans/\d+\?created=1$"))
    plan_url = page.url.split("?")[0]
    assert "培训计划已生成" in page.inner_text("main") and "犹豫的上班族" in page.inner_text("main")
    shot(page, "23-plan-created-zh")

    # -- the trainee sees the assignment, plays it, and the retests appear --------------------------------------
    tctx, tpage = context(browser)
    login(tpage, server, "xiaoman")
    tpage.goto(server + "/")
    training = tpage.locator("#my-training")
    assert "我的培训任务" in training.inner_text() and "未开始" in training.inner_text()
    shot(tpage, "24-trainee-home-assigned-zh")
    training.locator("li.assignment[data-status=open] button[type=submit]").first.click()
    tpage.wait_for_url(re.compile(r".*/chat/[0-9a-f-]{36}$"))
    tpage.wait_for_selector(".turn.customer .bubble")
    for reply in good_replies():
        if tpage.locator("#composer.closed").count():
            break
        customers = tpage.locator(".turn.customer:not(.typing)").count()
        tpage.fill("#reply-text", reply)
        tpage.press("#reply-text", "Enter")
        tpage.wait_for_function(
            f"document.querySelectorAll('.turn.customer:not(.typing)').length > {customers}", timeout=30_000
        )
        tpage.wait_for_selector("#typing", state="detached", timeout=30_000)
    tpage.wait_for_selector("#composer.closed", timeout=30_000)
    tpage.click("#composer a.button")
    tpage.wait_for_url(re.compile(r".*/reports/[0-9a-f-]{36}$"))
    report_url = tpage.url
    tpage.goto(server + "/")
    deadline = time.monotonic() + 60
    while "复测" not in tpage.inner_text("#my-training"):  # graded in the background
        assert time.monotonic() < deadline, tpage.inner_text("#my-training")
        tpage.wait_for_timeout(500)
        tpage.reload()
    home = tpage.inner_text("#my-training")
    assert "已完成" in home and home.count("复测") >= 2
    shot(tpage, "25-trainee-home-retests-zh")

    # -- the trainer sees it on the plan and the dashboard ------------------------------------------------------
    page.goto(plan_url)
    members = page.inner_text("#members")
    assert "已完成" in members and "第1次" in members and "第2次" in members
    page.wait_for_function("Number(document.body.dataset.analyticsCharts) >= 1", timeout=30_000)
    shot(page, "26-plan-progress-zh")
    page.goto(server + "/trainer?days=7")
    assert page.locator("#improvement a[href^='/trainer/plans/']").count() >= 1
    # a finding to review: the practice above was faultless, so one of the imported real chats
    page.goto(import_url)
    for href in [a.get_attribute("href") for a in page.locator("#chats a[href^='/reports/']").all()]:
        page.goto(server + str(href))
        if page.locator("details.review summary").count():
            break
    page.locator("details.review summary").first.click()
    shot(page, "27-report-review-zh")
    assert not page.errors, page.errors  # type: ignore[attr-defined]
    ctx.close()
    tctx.close()

    # -- the LRS has every statement of the attempt --------------------------------------------------------------
    sid = report_url.rsplit("/", 1)[-1]
    verbs: set[str] = set()
    deadline = time.monotonic() + 90
    while not {"attempted", "completed", "scored"} <= verbs or not ({"passed", "failed"} & verbs):
        assert time.monotonic() < deadline, verbs
        verbs = {
            st["verb"]["id"].rsplit("/", 1)[-1]
            for st in lrs_statements(lrs)
            if st.get("context", {}).get("registration") == sid
        }
        time.sleep(1)


def lrs_statements(lrs: str) -> list[dict]:  # type: ignore[type-arg]
    """Every statement the LRS holds (following its ``more`` links)."""
    out: list[dict] = []  # type: ignore[type-arg]
    base = lrs.split("/xAPI/")[0]
    url = lrs + "statements?limit=100"
    while url:
        r = httpx.get(url, auth=(LRS_USER, LRS_PASSWORD), headers={"X-Experience-API-Version": "1.0.3"}, timeout=10)
        r.raise_for_status()
        body = r.json()
        out += body["statements"]
        url = base + body["more"] if body.get("more") else ""
    return out


@pytest.mark.parametrize(("lang", "phone"), [("en", False), ("zh-CN", True), ("en", True)])
def test_analytics_pages_in_both_languages_and_on_a_phone(server: str, browser, lang: str, phone: bool) -> None:  # type: ignore[no-untyped-def]
    width = 390 if phone else 1280
    tag = f"{'phone' if phone else 'desktop'}-{lang}"
    ctx, page = context(browser, lang, phone)
    login(page, server, "laowang", lang)
    pages = ("/trainer", "/trainer/plans", "/trainer/improvement", "/trainer/imports", "/trainer/teams")
    for n, path in enumerate(pages):
        page.goto(server + path)
        page.wait_for_load_state("networkidle")
        if path in ("/trainer", "/trainer/improvement"):
            page.wait_for_function("Number(document.body.dataset.analyticsCharts) >= 1", timeout=30_000)
        wide(page, width)
        if lang == "en":
            assert not re.search(r"[\u4e00-\u9fff]{4,}", page.inner_text("header")), "untranslated navigation"
        shot(page, f"3{n}-{path.strip('/').replace('/', '-')}-{tag}")
    page.goto(server + "/trainer/plans")
    first = page.locator("#plans a[href^='/trainer/plans/']").first
    if first.count():
        first.click()
        page.wait_for_load_state("networkidle")
        wide(page, width)
        shot(page, f"36-plan-{tag}")
    assert not page.errors, page.errors  # type: ignore[attr-defined]
    ctx.close()
    tctx, tpage = context(browser, lang, phone)
    login(tpage, server, "xiaoman", lang)
    tpage.goto(server + "/")
    wide(tpage, width)
    shot(tpage, f"37-trainee-home-{tag}")
    response = tpage.goto(server + "/trainer")
    assert response is not None and response.status == 403
    tctx.close()
