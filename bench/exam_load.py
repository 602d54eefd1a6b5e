"""100 trainees starting the same exam in the same minute: p95 latency of the exam pages (target ≤ 300 ms).

Starts the real server (``simulator serve``: offline engine, USE embedder, SQLite) on a free loopback port with a
temp data dir, creates N trainees in one group and schedules the demo certification (qinghe, zh-CN) for the
group. Each virtual trainee logs in (not measured), then at a random moment within ``--spread`` seconds does what
the browser does at the start of an exam: the exam list, start the attempt (the draw: 20 questions and three
scenario variants, frozen with the attempt), the intro page, the tab claim, start the written part, the written
page (20 questions), then answers ``--answers`` questions, one every ``--think`` seconds (±50 %), each answer
committed before it is acknowledged. Latency per request, measured on the client.

    .venv/bin/python bench/exam_load.py --trainees 100 --spread 60

Prints p50 / p95 / p99 per request kind and over every request, and whether p95 ≤ the target.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from web_harness import CSRF_RE, create_trainees, free_port, load_average, percentile, start_server, stop_server

EXAM = "qinghe-newhire-cert"
KEY_RE = re.compile(r'<fieldset class="card question" data-key="([^"]+)"')
OPTION_RE = re.compile(r'name="answer" value="([^"]+)"')


def schedule_for(data_dir: Path, names: list[str]) -> None:
    """Put the trainees in one group and schedule the exam for it (before the server starts)."""
    from simulator.settings import Settings
    from simulator.store import open_database
    from simulator.store.exams import create_window
    from simulator.store.groups import add_members, create_group
    from simulator.store.users import get_user_by_name

    db = open_database(Settings(data_dir=data_dir).sqlalchemy_url, create_dir=data_dir)
    with db.write() as s:
        group = create_group(s, f"bench {datetime.now(UTC):%H%M%S}")
        add_members(s, group.id, [get_user_by_name(s, n).id for n in names])
        now = datetime.now(UTC)
        create_window(
            s, exam_id=EXAM, opens_at=now - timedelta(minutes=1), closes_at=now + timedelta(hours=3), group_id=group.id
        )
    db.dispose()


class ExamTaker:
    """One virtual trainee starting the exam."""

    def __init__(self, base: str, username: str, rng: random.Random, samples: dict[str, list[float]]):
        self.client = httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=False)
        self.username, self.rng, self.samples = username, rng, samples
        self.token = ""
        self.tab = f"tab-{username}"
        self.errors = 0

    async def timed(self, kind: str, method: str, url: str, **kw: object) -> httpx.Response:
        t0 = time.perf_counter()
        r = await self.client.request(method, url, **kw)  # type: ignore[arg-type]
        self.samples.setdefault(kind, []).append((time.perf_counter() - t0) * 1000)
        if r.status_code >= 400:
            self.errors += 1
        return r

    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.token, "HX-Request": "true", "X-Exam-Tab": self.tab}

    async def login(self) -> None:
        r = await self.client.get("/login")
        token = CSRF_RE.search(r.text).group(1)  # type: ignore[union-attr]
        r = await self.client.post(
            "/login", data={"username": self.username, "password": "bench-pass-1", "csrf_token": token}
        )
        assert r.status_code == 303, r.status_code
        self.token = CSRF_RE.search((await self.client.get("/")).text).group(1)  # type: ignore[union-attr]

    async def take(self, answers: int, think: float) -> None:
        r = await self.timed("exam list", "GET", "/exams")
        window = re.findall(r"/exams/windows/(\d+)/start", r.text)[-1]
        r = await self.timed("start attempt", "POST", f"/exams/windows/{window}/start", data={"csrf_token": self.token})
        attempt = r.headers["location"].rsplit("/", 1)[-1]
        await self.timed("exam page (intro)", "GET", f"/exam/{attempt}")
        await self.timed("claim tab", "POST", f"/exam/{attempt}/claim", headers=self.headers())
        await self.timed("start part", "POST", f"/exam/{attempt}/part/start", headers=self.headers())
        r = await self.timed("exam page (20 questions)", "GET", f"/exam/{attempt}")
        keys = KEY_RE.findall(r.text)
        blocks = r.text.split('<fieldset class="card question"')[1:]
        for key, block in list(zip(keys, blocks, strict=False))[:answers]:
            await asyncio.sleep(self.rng.uniform(think * 0.5, think * 1.5))
            options = OPTION_RE.findall(block)
            value = [self.rng.choice(options)] if options else ["亲，寄回运费先垫付，保险公司按距离赔付8到25元"]
            await self.timed(
                "save answer",
                "POST",
                f"/exam/{attempt}/answer",
                headers=self.headers(),
                data={"question": key, "answer": value},
            )

    async def close(self) -> None:
        await self.client.aclose()


async def run(base: str, names: list[str], args: argparse.Namespace) -> tuple[dict[str, list[float]], int]:
    rng = random.Random(args.seed)
    samples: dict[str, list[float]] = {}
    takers = [ExamTaker(base, n, random.Random(rng.random()), samples) for n in names]
    sem = asyncio.Semaphore(20)

    async def login(t: ExamTaker) -> None:
        async with sem:
            await t.login()

    await asyncio.gather(*(login(t) for t in takers))  # not measured

    async def one(t: ExamTaker) -> None:
        await asyncio.sleep(rng.uniform(0, args.spread))  # everyone starts within the same minute
        await t.take(args.answers, args.think)

    await asyncio.gather(*(one(t) for t in takers))
    errors = sum(t.errors for t in takers)
    for t in takers:
        await t.close()
    return samples, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trainees", type=int, default=100)
    parser.add_argument("--spread", type=float, default=60, help="Seconds over which the trainees start.")
    parser.add_argument("--answers", type=int, default=5, help="Answers each trainee saves after starting.")
    parser.add_argument("--think", type=float, default=4, help="Mean seconds between two answers.")
    parser.add_argument("--target", type=float, default=300, help="p95 target in ms.")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="Keep the temp data dir.")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="exam-load-"))
    names = create_trainees(data, args.trainees, prefix="exam")
    schedule_for(data, names)
    port = free_port()
    proc = start_server(data, port, workers=args.workers)
    try:
        samples, errors = asyncio.run(run(f"http://127.0.0.1:{port}", names, args))
    finally:
        stop_server(proc)
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)
    every = [x for v in samples.values() for x in v]
    print(
        f"{args.trainees} trainees starting {EXAM} within {args.spread:g} s, workers={args.workers}, "
        f"load average {load_average()}, errors {errors}"
    )
    print("| request | n | p50 ms | p95 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind, values in [*samples.items(), ("every request", every)]:
        print(
            f"| {kind} | {len(values)} | {percentile(values, 50):.0f} | {percentile(values, 95):.0f} | "
            f"{percentile(values, 99):.0f} | {max(values):.0f} |"
        )
    p95 = percentile(every, 95)
    verdict = "met" if p95 <= args.target else "NOT met"
    print(f"p95 over every request: {p95:.0f} ms — target ≤ {args.target:g} ms: {verdict}")


if __name__ == "__main__":
    main()
