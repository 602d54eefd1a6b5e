"""Dashboard pages with 100,000 graded conversations in PostgreSQL: p95 ≤ 300 ms is the goal (docs/analytics.md).

1. Starts a throwaway PostgreSQL server (tests/pgserver.py; Debian's `postgresql` package) and migrates it.
2. Generates the data — plausible, not uniform: ``--agents`` agents in teams of 20 led by trainers (two teams
   each), a year of days with weekday seasonality and a promotion spike, agents whose volume (lognormal) and
   skill (beta) differ, 80 % real chats / 18 % practice / 2 % exams. Each conversation's grade is a real grade:
   a pool of transcripts assembled by the demo's chat generator (simulator/analytics/demo.py) with each agent's
   habits is graded once by the offline grader, and every conversation takes a grade from the pool that fits
   its agent's skill. Rows are made by the production code (``simulator.analytics.attempts``) and loaded with
   COPY: sessions, grades (the full JSON), score, criterion and finding facts, plus training plans. Turn rows
   are left out — no analytics page reads them.
3. Starts the real server (``simulator serve``, one process) on that database and requests each page
   ``--rounds`` times as a trainer (two teams) and as an admin (everyone), reporting median and p95 per page.

    .venv/bin/python bench/analytics_dashboard.py [--conversations 100000] [--rounds 40] [--keep]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))

from pgserver import PostgresServer, find_bindir  # noqa: E402
from web_harness import CSRF_RE, free_port  # noqa: E402

TZ = "Asia/Shanghai"


def grade_pool(n: int, seed: int) -> list[tuple[dict, object, object]]:
    """(grade dict, transcript, agent profile) for ``n`` generated chats, graded by the offline grader."""
    from simulator.analytics import demo
    from simulator.analytics.chatlog import parse_csv_text
    from simulator.engine import Engine
    from simulator.settings import Settings

    rng = random.Random(seed)
    profiles = []
    for i in range(40):
        skill = rng.betavariate(5, 2)
        bad = 1 - skill
        profiles.append(
            demo.Agent(
                f"p{i}",
                f"P{i}",
                no_greeting=bad * rng.random(),
                no_farewell=bad * rng.random(),
                curt=bad * rng.random() * 0.8,
                slow=bad * rng.random(),
                no_empathy=bad * rng.random(),
                over_promise=bad * rng.random() * 0.3,
            )
        )
    rows = []
    day = date(2026, 6, 1)
    while len({r[0] for r in rows}) < n:
        rows += demo.day_rows(day, tuple(profiles), per_agent=1.0, promo_since=day - timedelta(days=rng.randint(0, 1)))
        day += timedelta(days=1)
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(demo.HEADER)
    w.writerows(rows)
    parsed = parse_csv_text(buf.getvalue(), "pool.csv", TZ)
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="pool-")), _env_file=None)  # type: ignore[call-arg]
    engine = Engine(settings, knowledge_index=False)
    from simulator.transcript import Transcript

    pool = []
    for chat in parsed.chats[:n]:
        t = Transcript(id=chat.external_id, turns=chat.turns)
        pool.append((engine.grade(t).to_dict(), t, chat))
    return pool


def generate(url: str, conversations: int, agents: int, days: int, seed: int) -> dict[str, object]:
    """Fill the database; returns who to log in as and what to request."""
    import psycopg

    from simulator.analytics.attempts import _score_rows
    from simulator.analytics.kpis import kpis
    from simulator.grading.result import Grade
    from simulator.store import open_database
    from simulator.store.facts import ScoreFact
    from simulator.store.groups import add_members, create_group
    from simulator.store.users import create_user, password_hasher

    rng = random.Random(seed)
    t0 = time.monotonic()
    pool = grade_pool(600, seed)
    pool.sort(
        key=lambda p: sum(
            f["points"] for d in p[0]["dimensions"].values() for c in d["criteria"] for f in c["findings"]
        )
    )
    print(f"grade pool: {len(pool)} graded chats in {time.monotonic() - t0:.0f} s", flush=True)

    db = open_database(url)
    hasher = password_hasher(fast=True)
    team_size = 20
    with db.write() as s:
        trainers = [
            create_user(s, hasher, f"trainer{i}", "bench1234", role="trainer", display_name=f"主管{i}")
            for i in range(max(1, math.ceil(agents / team_size / 2)))
        ]
        create_user(s, hasher, "boss", "bench1234", role="admin", display_name="管理员")
        people = [
            create_user(s, hasher, f"agent{i:03d}", "bench1234", display_name=f"客服{i:03d}") for i in range(agents)
        ]
        for t in range(math.ceil(agents / team_size)):
            g = create_group(s, f"团队{t}", trainer_id=trainers[t // 2].id, kind="team")
            add_members(s, g.id, [u.id for u in people[t * team_size : (t + 1) * team_size]])
        agent_ids = [u.id for u in people]
        trainer_ids = [u.id for u in trainers]
    skill = {uid: rng.betavariate(4, 2) for uid in agent_ids}
    volume = {uid: rng.lognormvariate(0, 0.6) for uid in agent_ids}
    total_volume = sum(volume.values())
    end = datetime.now(ZoneInfo(TZ)).date()
    day_weights = []
    for back in range(days):
        d = end - timedelta(days=back)
        w = 1.0 if d.weekday() < 5 else 0.6
        if 20 <= back <= 26:  # a promotion a month ago
            w *= 2.2
        day_weights.append((d, w))
    day_list = [d for d, _ in day_weights]
    weight_list = [w for _, w in day_weights]

    sessions, grades, scores, crits, finds = [], [], [], [], []
    made_rows: dict[int, tuple] = {}
    made = 0
    for uid in agent_ids:
        n_agent = round(conversations * volume[uid] / total_volume)
        for _ in range(n_agent):
            if made >= conversations:
                break
            d = rng.choices(day_list, weights=weight_list)[0]
            kind = "real" if rng.random() < 0.8 else ("practice" if rng.random() < 0.9 else "exam")
            # skilled agents draw from the better part of the pool
            pos = min(len(pool) - 1, int(abs(rng.gauss(0, 1)) * (1 - skill[uid]) * len(pool) * 0.6))
            gdict, transcript, _chat = pool[pos]
            started = datetime.combine(
                d, dtime(rng.randint(8, 22), rng.randint(0, 59)), tzinfo=ZoneInfo(TZ)
            ).astimezone(UTC)
            sid = f"{made:08d}-0000-4000-8000-{rng.getrandbits(48):012x}"
            sessions.append(
                (
                    sid,
                    kind,
                    uid,
                    "" if kind == "real" else "presale-size-hesitant-office",
                    "",
                    0,
                    "{}",
                    "zh-CN",
                    "finished",
                    None,
                    None,
                    "scripted" if kind != "real" else "real",
                    None,
                    6,
                    6,
                    None,
                    started,
                    started,
                    started + timedelta(minutes=5),
                )
            )
            if pos not in made_rows:  # the production code makes each pool grade's rows once
                grade = Grade.from_dict(gdict)
                k = kpis(transcript)
                base = ScoreFact(
                    session_id="x",
                    user_id=0,
                    source="real",
                    shop="",
                    scenario_id="",
                    at=started,
                    day=d,
                    first_response_s=k.first_response_s,
                    mean_response_s=k.mean_response_s,
                    reply_ratio=k.reply_ratio,
                    reviewed=False,
                )
                score, crit_rows, find_rows = _score_rows(base, grade)
                sc = {key: v["score"] for key, v in gdict["dimensions"].items()}
                made_rows[pos] = (
                    (
                        grade.overall,
                        sc.get("service"),
                        sc.get("technique"),
                        sc.get("knowledge"),
                        sc.get("process"),
                        bool(grade.red_lines),
                        json.dumps(gdict, ensure_ascii=False),
                    ),
                    {c: getattr(score, c) for c in SCORE_COLS},
                    [tuple(getattr(c, x) for x in CRIT_COLS[5:]) for c in crit_rows],
                    [tuple(getattr(f, x) for x in FIND_COLS[5:]) for f in find_rows],
                )
            g, sfields, crow, frow = made_rows[pos]
            grades.append((sid, *g[:6], g[6], "bench", started))
            shop = rng.choice(["qinghe", "qinghe", "northwind"])
            row = {
                **sfields,
                "session_id": sid,
                "user_id": uid,
                "source": kind,
                "shop": shop,
                "at": started,
                "day": d,
                "converted": (rng.random() < 0.35 + 0.4 * skill[uid]) if rng.random() < 0.4 else None,
                "satisfaction": round(min(1.0, max(0.0, rng.gauss(0.5 + 0.4 * skill[uid], 0.15))), 3)
                if rng.random() < 0.35
                else None,
            }
            scores.append(tuple(row[c] for c in SCORE_COLS))
            head = (sid, uid, kind, shop, d)
            crits += [head + c for c in crow]
            finds += [head + f for f in frow]
            made += 1
    print(
        f"rows: {len(sessions)} sessions, {len(crits)} criterion facts, {len(finds)} findings "
        f"({time.monotonic() - t0:.0f} s)",
        flush=True,
    )
    raw = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(raw) as conn, conn.cursor() as cur:
        for table, cols, rows in (
            ("sessions", SESSION_COLS, sessions),
            ("grades", GRADE_COLS, grades),
            ("score_facts", SCORE_COLS, scores),
            ("criterion_facts", CRIT_COLS, crits),
            ("finding_facts", FIND_COLS, finds),
        ):
            with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
                for row in rows:
                    cp.write_row(row)
        names = {}
        for row in crits:
            names.setdefault(row[5], (row[6], row[7]))
        with cur.copy("COPY criteria (id, dimension, title) FROM STDIN") as cp:
            for cid, (dim, title) in names.items():
                cp.write_row((cid, dim, title))
        conn.commit()
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # what autovacuum does soon after a bulk load (index-only scans need it)
    # Training plans of the last months, so the plan and improvement pages have something to read.
    from simulator.analytics.plans import PlanRequest, create_plan
    from simulator.analytics.problems import ProblemType

    with db.write() as s:
        for i in range(40):
            members = rng.sample(agent_ids[: team_size * 2], 6)
            plan = create_plan(
                s,
                PlanRequest(
                    trainer_ids[0],
                    rng.choice(["greeting", "farewell", "empathy", "no-curt-replies"]),
                    "service",
                    f"计划{i}",
                    ProblemType.INDIVIDUAL,
                    members,
                    members[:2],
                    ["presale-size-hesitant-office"],
                ),
                tz=TZ,
                now=datetime.now(UTC) - timedelta(days=rng.randint(5, 120)),
            )
            from simulator.store.plans import plan_members

            for m in plan_members(s, plan.id):
                m.trained_at = plan.created_at + timedelta(days=3)
    db.dispose()
    print(f"data ready in {time.monotonic() - t0:.0f} s", flush=True)
    return {"trainer": "trainer0", "admin": "boss", "person": agent_ids[0]}


SESSION_COLS = (
    "id",
    "kind",
    "user_id",
    "scenario_id",
    "scenario_digest",
    "seed",
    "variables",
    "locale",
    "status",
    "outcome",
    "end_reason",
    "customer",
    "customer_state",
    "answered_seq",
    "last_seq",
    "exam_attempt_id",
    "started_at",
    "updated_at",
    "ended_at",
)
GRADE_COLS = (
    "session_id",
    "overall",
    "service",
    "technique",
    "knowledge",
    "process",
    "red_line",
    "detail",
    "grader_version",
    "created_at",
)
SCORE_COLS = (
    "session_id",
    "user_id",
    "source",
    "shop",
    "scenario_id",
    "at",
    "day",
    "overall",
    "service",
    "technique",
    "knowledge",
    "process",
    "passed",
    "red_line",
    "first_response_s",
    "mean_response_s",
    "reply_ratio",
    "converted",
    "satisfaction",
    "findings",
    "points_lost",
    "reviewed",
)
CRIT_COLS = (
    "session_id",
    "user_id",
    "source",
    "shop",
    "day",
    "criterion",
    "dimension",
    "title",
    "points",
    "earned",
    "lost",
)
FIND_COLS = (
    "session_id",
    "user_id",
    "source",
    "shop",
    "day",
    "criterion",
    "dimension",
    "points",
    "red_line",
    "turn",
    "message",
)


def start(url: str, data: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIM_")}
    env |= {"SIM_DATA_DIR": str(data), "SIM_DATABASE_URL": url, "SIM_DEMO": "false"}
    log = open(data / "server.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "serve", "--port", str(port), "--no-access-log"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    raise SystemExit("server did not start:\n" + (data / "server.log").read_text()[-3000:])


def login(base: str, user: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
    token = CSRF_RE.search(c.get("/login").text).group(1)  # type: ignore[union-attr]
    r = c.post("/login", data={"username": user, "password": "bench1234", "csrf_token": token, "next": "/"})
    assert r.status_code == 303, r.text
    return c


def measure(c: httpx.Client, path: str, rounds: int, headers: dict[str, str] | None = None) -> list[float]:
    c.get(path, headers=headers)  # warm
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        r = c.get(path, headers=headers)
        out.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--conversations", type=int, default=100_000)
    ap.add_argument("--agents", type=int, default=120)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="leave the server directory in /tmp")
    ap.add_argument("--hold", type=float, default=0, help="keep the server running this many seconds (profiling)")
    args = ap.parse_args()
    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL is not installed: apt-get install postgresql (scripts/system-deps.sh)")
    pg = PostgresServer(bindir).start()
    data = Path(tempfile.mkdtemp(prefix="dash-bench-"))
    proc = None
    try:
        url = pg.create_database("bench")
        who = generate(url, args.conversations, args.agents, args.days, args.seed)
        port = free_port()
        proc = start(url, data, port)
        base = f"http://127.0.0.1:{port}"
        trainer, admin = login(base, str(who["trainer"])), login(base, str(who["admin"]))
        hx = {"HX-Request": "true", "HX-Target": "dashboard-body"}
        pages = [
            ("trainer", "/trainer", None),
            ("trainer", "/trainer?days=7", None),
            ("trainer", "/trainer?days=90", hx),
            ("trainer", "/trainer?days=365", hx),
            ("admin", "/trainer", None),
            ("admin", "/trainer?days=90", hx),
            ("admin", "/trainer?days=365", hx),
            ("trainer", "/trainer/plans", None),
            ("trainer", "/trainer/improvement", None),
            ("trainer", f"/trainer/people/{who['person']}", None),
            ("trainer", "/trainer/reports", None),
            ("trainer", "/trainer/export/attempts.csv?days=30", None),
        ]
        print("\n| page | as | median ms | p95 ms | max ms |\n|---|---|---:|---:|---:|")
        for role, path, headers in pages:
            c = trainer if role == "trainer" else admin
            ms = sorted(measure(c, path, args.rounds, headers))
            p95 = ms[min(len(ms) - 1, math.ceil(0.95 * len(ms)) - 1)]
            print(
                f"| `{path}`{' (htmx)' if headers else ''} | {role} | {statistics.median(ms):.0f} | {p95:.0f} | "
                f"{ms[-1]:.0f} |",
                flush=True,
            )
        if args.hold:
            print(f"server pid {proc.pid} on {base}, database {url}; holding {args.hold:.0f} s", flush=True)
            time.sleep(args.hold)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        pg.stop()
        if not args.keep:
            import shutil

            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
