"""How many simultaneous active conversations the app serves with p95 page/fragment latency ≤ 200 ms.

Starts the real server (``simulator serve``, default offline engine: scripted customer, grader, USE embedder)
on a free loopback port with a temp data dir, then for each level N keeps N virtual trainees in conversation at
once: each sends a reply (POST, committed before the answer), waits for the typing indicator's 0.7 s, asks for
the customer's answer (the SSE stream the page's script reads, timed to its last event; ``--plain``: the
htmx POST), thinks for ``--think`` seconds (uniform ±50 %), and starts a new scenario when a
conversation ends. Latency is measured per request on the client; p95 over the level's measured window.

    .venv/bin/python bench/web_load.py --levels 50,100,200,300 --duration 60

Prints one table row per level and the largest N whose p95 ≤ the target.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from web_harness import (
    Trainee,
    create_trainees,
    free_port,
    good_scripts,
    load_average,
    percentile,
    start_server,
    stop_server,
)


async def run_level(base: str, names: list[str], scripts: dict[str, list[str]], args: argparse.Namespace) -> dict:
    rng = random.Random(args.seed)
    trainees = [Trainee(base, name, scripts, random.Random(rng.random()), stream=not args.plain) for name in names]
    # Log in and open a conversation for everyone before the clock starts (a ramp-up, not measured).
    sem = asyncio.Semaphore(20)

    async def prepare(t: Trainee) -> None:
        async with sem:
            await t.login()
            await t.start()

    await asyncio.gather(*(prepare(t) for t in trainees))
    t_start = time.monotonic() + args.warmup
    t_end = t_start + args.duration

    async def loop(t: Trainee) -> None:
        await asyncio.sleep(rng.uniform(0, args.think))  # desynchronise
        while time.monotonic() < t_end:
            going = await t.turn()
            if not going:
                await t.start()
            await asyncio.sleep(args.think * rng.uniform(0.5, 1.5))

    await asyncio.gather(*(loop(t) for t in trainees))
    lat = [s for t in trainees for (when, _what, s) in t.latencies if t_start <= when <= t_end]
    by_kind: dict[str, list[float]] = {}
    for t in trainees:
        for when, what, s in t.latencies:
            if t_start <= when <= t_end:
                by_kind.setdefault(what, []).append(s)
    errors = sum(len(t.errors) for t in trainees)
    kinds: dict[str, int] = {}
    for t in trainees:
        for e in t.errors:
            kinds[e[:60]] = kinds.get(e[:60], 0) + 1
    for e, count in sorted(kinds.items(), key=lambda x: -x[1])[:5]:
        print(f"  error ×{count}: {e}", file=sys.stderr, flush=True)
    for t in trainees:
        await t.close()
    return {
        "n": len(names),
        "requests": len(lat),
        "rps": len(lat) / args.duration,
        "p50": percentile(lat, 50) * 1000,
        "p95": percentile(lat, 95) * 1000,
        "p99": percentile(lat, 99) * 1000,
        "p95_reply": percentile(by_kind.get("reply", []), 95) * 1000,
        "p95_customer": percentile(by_kind.get("customer", []), 95) * 1000,
        "errors": errors,
        "load": load_average(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--levels", default="50,100,200,300", help="Comma-separated numbers of simultaneous trainees.")
    ap.add_argument("--duration", type=float, default=60, help="Measured seconds per level.")
    ap.add_argument("--warmup", type=float, default=10, help="Unmeasured seconds at the start of each level.")
    ap.add_argument("--think", type=float, default=5.0, help="Mean seconds a trainee takes to write a reply.")
    ap.add_argument("--target-ms", type=float, default=200.0, help="p95 latency target.")
    ap.add_argument("--data-dir", type=Path, default=None, help="Reuse a data dir (keeps the knowledge index).")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, default=1, help="Server processes (simulator serve --workers).")
    ap.add_argument(
        "--plain", action="store_true", help="Fetch answers with the htmx POST instead of the stream the page uses."
    )
    args = ap.parse_args()

    levels = [int(x) for x in args.levels.split(",")]
    data = args.data_dir or Path(tempfile.mkdtemp(prefix="sim-load-"))
    data.mkdir(parents=True, exist_ok=True)
    names = create_trainees(data, max(levels))
    scripts = good_scripts()
    port = free_port()
    print(f"starting server (data dir {data}) …", flush=True)
    proc = start_server(data, port, workers=args.workers)
    base = f"http://127.0.0.1:{port}"
    rows = []
    try:
        print(
            "| simultaneous conversations | requests/s | p50 ms | p95 ms | p99 ms | p95 reply ms | p95 answer ms "
            "| errors | load avg |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n in levels:
            row = asyncio.run(run_level(base, names[:n], scripts, args))
            rows.append(row)
            print(
                f"| {row['n']} | {row['rps']:.1f} | {row['p50']:.0f} | {row['p95']:.0f} | {row['p99']:.0f} "
                f"| {row['p95_reply']:.0f} | {row['p95_customer']:.0f} | {row['errors']} | {row['load']} |",
                flush=True,
            )
    finally:
        stop_server(proc)
        if args.data_dir is None:
            shutil.rmtree(data, ignore_errors=True)
    ok = [r["n"] for r in rows if r["p95"] <= args.target_ms and r["errors"] == 0]
    print(f"\nlargest level with p95 ≤ {args.target_ms:.0f} ms and no errors: {max(ok) if ok else 'none'}")


if __name__ == "__main__":
    main()
