"""Batch QA speed: 10,000 imported real chats graded in ≤ 10 minutes on this machine (docs/analytics.md).

Writes a CSV of ``--conversations`` chats (the demo's chat generator, simulator/analytics/demo.py: six agents
with their habits; two topics per chat, 12 messages), then measures, on a fresh SQLite data directory with the
knowledge base built:

* ``cli`` — ``simulator import FILE --create-agents --workers N``: parse, store in one transaction, then the QA
  job grades every chat in N processes (what a QA lead runs for a backlog);
* ``server`` — the import, then the QA job run the way the web app's background thread runs it (one thread, the
  app's engine).

Reported: import seconds, grading seconds, conversations per second, and that every chat got a grade.

    .venv/bin/python bench/qa_speed.py [--conversations 10000] [--mode cli|server] [--workers 2]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def chats_csv(n: int, seed: int = 5) -> str:
    """``n`` chats of two topics each (12 messages): two of one agent's demo chats of a day, the second asked
    right after the first."""
    from datetime import datetime

    from simulator.analytics import demo

    rng = random.Random(seed)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(demo.HEADER)
    made = 0
    day = date.today() - timedelta(days=60)
    fmt = "%Y-%m-%d %H:%M:%S"
    while made < n:
        rows = demo.day_rows(day, per_agent=6.0, seed=rng.randint(0, 10**6), promo_since=day)
        by_agent: dict[str, list[list[list[str]]]] = {}
        convs: dict[str, list[list[str]]] = {}
        for r in rows:
            convs.setdefault(r[0], []).append(r)
        for conv in convs.values():
            agent = next(r[3] for r in conv if r[3])
            by_agent.setdefault(agent, []).append(conv)
        for chats in by_agent.values():
            for a, b in zip(chats[0::2], chats[1::2], strict=False):
                if made >= n:
                    break
                end = datetime.strptime(a[-1][1], fmt)
                shift = end - datetime.strptime(b[0][1], fmt) + timedelta(seconds=30)
                second = [[r[0], (datetime.strptime(r[1], fmt) + shift).strftime(fmt), *r[2:]] for r in b]
                w.writerows([[f"q{made}", *r[1:]] for r in (*a, *second)])
                made += 1
        day += timedelta(days=1)
    return buf.getvalue()


def env(data: Path) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("SIM_")}
    return out | {"SIM_DATA_DIR": str(data)}


def graded(data: Path) -> int:
    with sqlite3.connect(data / "simulator.db") as conn:
        return int(conn.execute("SELECT count(*) FROM grades").fetchone()[0])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--conversations", type=int, default=10_000)
    ap.add_argument("--mode", choices=["cli", "server"], default="cli")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--data", type=Path, default=None, help="data directory (default: a new temporary one)")
    args = ap.parse_args()
    data = args.data or Path(tempfile.mkdtemp(prefix="qa-bench-"))
    data.mkdir(parents=True, exist_ok=True)
    sim = [sys.executable, "-m", "simulator"]
    if not (data / "index").exists():
        t = time.monotonic()
        subprocess.run([*sim, "kb", "build"], cwd=REPO, env=env(data), check=True, capture_output=True)
        print(f"knowledge index built in {time.monotonic() - t:.0f} s (not part of the figures)", flush=True)
    path = data / "chats.csv"
    path.write_text(chats_csv(args.conversations), encoding="utf-8")
    print(f"{args.conversations} chats, {path.stat().st_size / 1e6:.1f} MB of CSV", flush=True)
    if args.mode == "cli":
        t = time.monotonic()
        done = subprocess.run(
            [*sim, "import", str(path), "--shop", "qinghe", "--create-agents", "--workers", str(args.workers)],
            cwd=REPO,
            env=env(data),
            capture_output=True,
            text=True,
        )
        total = time.monotonic() - t
        if done.returncode != 0:
            raise SystemExit(done.stdout[-2000:] + done.stderr[-2000:])
        lines = [x for x in done.stdout.splitlines() if "graded in" in x or x.startswith("import ")]
        print("\n".join(lines))
        n = graded(data)
        print(
            f"\nimport + QA with {args.workers} worker processes: {total:.0f} s wall, {n} graded, "
            f"{n / total:.1f} conversations/s",
            flush=True,
        )
        return
    # server: the web app's path — import, then the background runner's QaRunner in this process
    os.environ.update(env(data))
    from simulator.analytics.importer import ImportOptions, import_chats, read_files
    from simulator.analytics.jobs import QaRunner
    from simulator.engine import Engine
    from simulator.settings import Settings
    from simulator.store.users import password_hasher

    settings = Settings()
    engine = Engine(settings)
    engine.warm_up()
    options = ImportOptions(shop="qinghe", create_agents=True)
    t = time.monotonic()
    parsed = read_files([path], options, settings.timezone)
    report = import_chats(engine.store, parsed, options, hasher=password_hasher(), files=path.name)
    imported = time.monotonic() - t
    t = time.monotonic()
    job = QaRunner(engine).run(report.job_id)
    grading = time.monotonic() - t
    assert job is not None
    print(f"import: {report.conversations} chats, {report.messages} messages in {imported:.1f} s")
    print(
        f"QA in the server's way (one thread): {job.done} graded, {job.failed} failed in {grading:.0f} s "
        f"({job.done / grading:.1f}/s); import + QA {imported + grading:.0f} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
