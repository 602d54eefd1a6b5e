"""Kill the server (SIGKILL) in the middle of many active conversations, restart it, count lost turns.

Starts the real server on a free loopback port with a temp data dir, keeps ``--conversations`` virtual
trainees replying quickly (every ``--think`` s), SIGKILLs the server after ``--kill-after`` seconds, restarts it
on the same data dir and then checks, for every turn the server had acknowledged (a 200 answer: the trainee's
reply, or a customer line it returned), that it is in the database. It also checks every conversation can be
resumed: the chat page opens and accepts the next reply.

    .venv/bin/python bench/web_crash.py --conversations 50 --kill-after 20

Must print ``lost acknowledged turns: 0``.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from web_harness import (
    Trainee,
    create_trainees,
    free_port,
    good_scripts,
    start_server,
    stop_server,
)


async def drive(base: str, trainees: list[Trainee], think: float, stop_at: float) -> None:
    sem = asyncio.Semaphore(20)

    async def prepare(t: Trainee) -> None:
        async with sem:
            await t.login()
            await t.start()

    await asyncio.gather(*(prepare(t) for t in trainees))

    async def loop(t: Trainee) -> None:
        rng = random.Random(t.username)
        while time.monotonic() < stop_at:
            try:
                going = await t.turn()
                if not going:
                    await t.start()
            except (httpx.HTTPError, RuntimeError, AttributeError):
                return  # the server died under us: whatever was acknowledged before counts
            if t.down:
                return
            await asyncio.sleep(think * rng.uniform(0.5, 1.5))

    await asyncio.gather(*(loop(t) for t in trainees))


def stored_turns(data: Path) -> set[tuple[str, str, str]]:
    from simulator.settings import Settings
    from simulator.store import open_database
    from simulator.store.sessions import TurnRecord as Turn

    settings = Settings(data_dir=data)
    db = open_database(settings.sqlalchemy_url, create_dir=data, migrate_now=False)
    with db.read() as s:
        rows = {(t.session_id, t.role, t.text) for t in s.query(Turn).all()}
    db.dispose()
    return rows


async def resume_all(base: str, trainees: list[Trainee]) -> tuple[int, int]:
    """(conversations checked, conversations that could not be resumed)."""
    failed = 0
    checked = 0
    for t in trainees:
        fresh = Trainee(base, t.username, t.scripts, random.Random(0))
        await fresh.login()
        sids = {a.session_id for a in t.acks}
        for sid in sids:
            checked += 1
            page = await fresh.client.get(f"/chat/{sid}")
            if page.status_code != 200:
                failed += 1
                print(f"  not resumed {sid}: chat page {page.status_code}")
                continue
            if 'id="reply-form"' in page.text:  # still active: it must take the next reply
                if 'id="typing"' in page.text:  # a reply was acknowledged but not answered before the kill
                    after = max(int(x) for x in re.findall(r'data-seq="(\d+)"', page.text))
                    answer = await fresh.client.post(
                        f"/chat/{sid}/customer",
                        data={"after": after},
                        headers={"HX-Request": "true", "X-CSRF-Token": fresh.token},
                    )
                    if answer.status_code == 200 and "composer closed" in answer.text:
                        continue  # answering the pending reply ended the conversation (e.g. a purchase): resumed
                r = await fresh.client.post(
                    f"/chat/{sid}/reply",
                    data={"text": "还在吗？刚才断线了"},
                    headers={"HX-Request": "true", "X-CSRF-Token": fresh.token},
                )
                if r.status_code != 200:
                    failed += 1
                    print(f"  not resumed {sid}: reply {r.status_code} {r.text[:100]}")
        await fresh.close()
    return checked, failed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--conversations", type=int, default=50)
    ap.add_argument("--kill-after", type=float, default=20.0, help="Seconds of traffic before SIGKILL.")
    ap.add_argument("--think", type=float, default=1.0, help="Mean seconds between a trainee's replies.")
    ap.add_argument("--data-dir", type=Path, default=None, help="Reuse a data dir (keeps the knowledge index).")
    args = ap.parse_args()

    data = args.data_dir or Path(tempfile.mkdtemp(prefix="sim-crash-"))
    data.mkdir(parents=True, exist_ok=True)
    names = create_trainees(data, args.conversations, prefix="crash")
    scripts = good_scripts()
    port = free_port()
    proc = start_server(data, port)
    base = f"http://127.0.0.1:{port}"
    trainees = [Trainee(base, n, scripts, random.Random(i)) for i, n in enumerate(names)]

    async def traffic_then_kill() -> None:
        stop_at = time.monotonic() + args.kill_after + 3600  # the loops end when the server dies
        task = asyncio.create_task(drive(base, trainees, args.think, stop_at))
        await asyncio.sleep(args.kill_after)
        stop_server(proc, kill=True)  # SIGKILL mid-traffic: no shutdown handler runs
        await task

    try:
        asyncio.run(traffic_then_kill())
        acks = [(a.session_id, a.role, a.text) for t in trainees for a in t.acks]
        active = sum(1 for t in trainees if t.session_id)
        proc2 = start_server(data, port, log_name="server-restart.log")
        try:
            stored = stored_turns(data)
            lost = [a for a in acks if a not in stored]
            checked, unresumable = asyncio.run(resume_all(base, trainees))
        finally:
            stop_server(proc2)
            for t in trainees:
                asyncio.run(t.close())
    finally:
        if args.data_dir is None:
            shutil.rmtree(data, ignore_errors=True)
    print(f"conversations active at the kill: {active}")
    print(
        f"acknowledged turns before the kill: {len(acks)} "
        f"({sum(1 for a in acks if a[1] == 'agent')} trainee, {sum(1 for a in acks if a[1] == 'customer')} customer)"
    )
    print(f"lost acknowledged turns: {len(lost)}")
    for a in lost[:10]:
        print("  lost:", a)
    print(f"conversations resumed after restart: {checked - unresumable} of {checked}")
    sys.exit(1 if lost or unresumable else 0)


if __name__ == "__main__":
    main()
