"""Restart to serving, and what the first trainee then waits for.

Starts the server the way a person does (``make run`` by default) on a data directory that is already set up
(database, demo accounts, knowledge index), polls ``GET /healthz`` every 10 ms, and reports the seconds from
the command to the first answer, and the CPU seconds the server's processes used until then (a figure that
other work on the machine does not inflate). Then a first trainee — with no pause after ``/healthz`` by
default, the worst case — logs in, opens the catalogue, starts the example scenario, sends two replies and
gets the customer's answers, searches the knowledge panel, ends the conversation and opens the graded report;
every request is timed. The same trainee flow is run once more by a second trainee right after, to show the
latencies of a warm server next to the first ones. Median (and min-max) over ``--runs`` restarts.

    .venv/bin/python bench/startup.py [--runs 5] [--think 0] [--command "make run"] [--data-dir DIR] [--json]

Without ``--data-dir`` a fresh one is set up first by one untimed-for-the-table start (its time is printed:
it builds the knowledge index). ``--think S`` waits S seconds after ``/healthz`` before the first trainee
starts (a person needs longer than that to type a password). The figures are in docs/deploy.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from web_harness import AFTER_RE, CSRF_RE, REPO, free_port, load_average

SCENARIO = "presale-size-hesitant-office"
REPLIES = ["亲，您好～请问您平时穿什么码？身高体重多少呀？", "根据您的身高体重，建议您拍M码哦"]
CLK_TCK = os.sysconf("SC_CLK_TCK")
STEPS = ["login page", "log in", "catalogue", "start", "reply", "answer", "kb search", "reply 2", "answer 2"]
STEPS += ["end", "report"]


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of the live processes in process group ``pgid`` (from /proc)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:  # fields[0] is the state; pgrp is field 5 of stat
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


def start(command: list[str], data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("SIM_")}
    env |= {"SIM_DATA_DIR": str(data_dir), "SIM_PORT": str(port), "SIM_HOST": "127.0.0.1", "SIM_DEMO": "true"}
    with log.open("ab") as out:
        return subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


WARMED_RE = re.compile(r"Warmed up in ([0-9.]+) s \(([0-9.]+) CPU s")


def warm_up_seconds(log: Path, offset: int) -> tuple[float, float]:
    """The background warm-up of the run whose log starts at ``offset`` (its line in the server log): seconds
    from the app's start-up, and CPU seconds of the server meanwhile; NaN if the server logged none."""
    with log.open("rb") as f:
        f.seek(offset)
        found = WARMED_RE.findall(f.read().decode(errors="replace"))
    return (float(found[-1][0]), float(found[-1][1])) if found else (float("nan"), float("nan"))


def wait_ready(proc: subprocess.Popen[bytes], port: int, log: Path, timeout: float = 900) -> tuple[float, float]:
    """Seconds until ``/healthz`` answers 200 (from the moment the process was started), and CPU seconds."""
    started = time.perf_counter()
    with httpx.Client(timeout=2) as c:
        while True:
            try:
                if c.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    return time.perf_counter() - started, group_cpu_seconds(proc.pid)
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.perf_counter() - started > timeout:
                stop(proc)
                raise SystemExit("the server did not start:\n" + log.read_text(errors="replace")[-3000:])
            time.sleep(0.01)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Ctrl+C to the server's process group (make and the server it started), as in a terminal."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def trainee(base: str, username: str) -> dict[str, float]:
    """One trainee's first minute, every request timed (seconds by step name)."""
    times: dict[str, float] = {}
    hx: dict[str, str] = {}

    def timed(step: str, method: str, url: str, expect: int = 200, **kw: object) -> httpx.Response:
        t0 = time.perf_counter()
        r = c.request(method, url, **kw)  # type: ignore[arg-type]
        times[step] = time.perf_counter() - t0
        if r.status_code != expect:
            raise SystemExit(f"{step}: {method} {url} answered {r.status_code}: {r.text[:300]}")
        return r

    with httpx.Client(base_url=base, timeout=120, follow_redirects=False) as c:
        token = CSRF_RE.search(timed("login page", "GET", "/login").text)
        assert token, "no CSRF token on the login page"
        form = {"username": username, "password": "demo1234", "csrf_token": token.group(1), "next": "/"}
        timed("log in", "POST", "/login", expect=303, data=form)
        catalogue = timed("catalogue", "GET", "/").text
        token = CSRF_RE.search(catalogue)
        assert token and SCENARIO in catalogue, "the catalogue does not list the example scenario"
        hx = {"HX-Request": "true", "X-CSRF-Token": token.group(1)}
        r = timed("start", "POST", f"/practice/{SCENARIO}", expect=303, data={"csrf_token": token.group(1)})
        sid = r.headers["location"].rsplit("/", 1)[-1]
        c.get(f"/chat/{sid}")
        for n, text in enumerate(REPLIES, 1):
            suffix = "" if n == 1 else f" {n}"
            r = timed(f"reply{suffix}", "POST", f"/chat/{sid}/reply", data={"text": text}, headers=hx)
            after = AFTER_RE.search(r.text) or re.search(r'data-after="(\d+)"', r.text)
            assert after, "the reply's acknowledgement carries no 'after'"
            r = timed(f"answer{suffix}", "POST", f"/chat/{sid}/customer", data={"after": after.group(1)}, headers=hx)
            assert 'class="turn customer"' in r.text, "no customer answer"
            if n == 1:
                timed("kb search", "GET", "/kb/search", params={"q": "165 52斤穿什么码"}, headers=hx)
        timed("end", "POST", f"/chat/{sid}/end", expect=303, data={"csrf_token": token.group(1)})
        report = timed("report", "GET", f"/reports/{sid}")
        assert 'id="overall-score"' in report.text, "the report has no grade"
    return times


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="restarts to time (median reported)")
    parser.add_argument("--think", type=float, default=0.0, help="seconds between /healthz and the first trainee")
    parser.add_argument("--command", default="make run", help="how the server is started (run from the repo root)")
    parser.add_argument("--data-dir", type=Path, help="an existing set-up (default: a new one, set up first)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    command = args.command.split()
    tmp = None
    if args.data_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="startup-bench-")
        args.data_dir = Path(tmp.name)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    log = args.data_dir / "startup-bench.log"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    first_start = None
    if not (args.data_dir / "simulator.db").exists():
        proc = start(command, args.data_dir, port, log)
        first_start = wait_ready(proc, port, log)[0]
        stop(proc)
        print(f"first start (database, demo accounts, knowledge index): {first_start:.1f} s", file=sys.stderr)

    ready: list[float] = []
    cpu: list[float] = []
    first: dict[str, list[float]] = {s: [] for s in STEPS}
    warm: dict[str, list[float]] = {s: [] for s in STEPS}
    loads = []
    warm_ups: list[tuple[float, float]] = []
    for run in range(args.runs):
        loads.append(load_average())
        offset = log.stat().st_size if log.exists() else 0
        proc = start(command, args.data_dir, port, log)
        try:
            seconds, cpu_seconds = wait_ready(proc, port, log)
            time.sleep(args.think)
            one = trainee(base, "xiaoman")
            two = trainee(base, "ajie")
        finally:
            stop(proc)
        ready.append(seconds)
        cpu.append(cpu_seconds)
        warm_ups.append(warm_up_seconds(log, offset))
        for s in STEPS:
            first[s].append(one[s])
            warm[s].append(two[s])
        print(
            f"run {run + 1}: serving after {seconds:.2f} s ({cpu_seconds:.2f} CPU s); first trainee "
            f"{sum(one.values()):.2f} s over {len(one)} requests, second {sum(two.values()):.2f} s; "
            f"warm-up {warm_ups[-1][0]:.2f} s ({warm_ups[-1][1]:.2f} CPU s) (load {loads[-1]})",
            file=sys.stderr,
        )
    result = {
        "command": args.command,
        "runs": args.runs,
        "think_s": args.think,
        "load_average_1m": loads,
        "first_start_s": first_start,
        "restart_to_healthz_s": summary(ready),
        "restart_cpu_s": summary(cpu),
        "warm_up_s": summary([w for w, _ in warm_ups]),
        "warm_up_cpu_s": summary([c for _, c in warm_ups]),
        "first_trainee_s": {s: summary(v) for s, v in first.items()},
        "second_trainee_s": {s: summary(v) for s, v in warm.items()},
        "first_trainee_total_s": summary([sum(x) for x in zip(*first.values(), strict=True)]),
        "second_trainee_total_s": summary([sum(x) for x in zip(*warm.values(), strict=True)]),
    }
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        r = result["restart_to_healthz_s"]
        print(f"restart → /healthz: median {r['median']:.2f} s (min {r['min']:.2f}, max {r['max']:.2f})")
        c = result["restart_cpu_s"]
        print(f"CPU until serving:  median {c['median']:.2f} s (min {c['min']:.2f}, max {c['max']:.2f})")
        w = result["warm_up_s"]
        print(f"background warm-up: median {w['median']:.2f} s after start-up (min {w['min']:.2f}, max {w['max']:.2f})")
        print(f"{'request':<12} {'first trainee (median, max)':>30} {'second trainee (median)':>26}")
        for s in STEPS:
            f, w = result["first_trainee_s"][s], result["second_trainee_s"][s]
            print(f"{s:<12} {f['median'] * 1000:>20.0f} ms {f['max'] * 1000:>6.0f} ms {w['median'] * 1000:>23.0f} ms")
        print(f"load average (1 min) before each run: {', '.join(loads)}")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
