"""Grading speed: one 10-turn transcript (p50/p95) and 1,000 transcripts in one process.

Transcripts are the scenarios' reference trainees played through the scripted customer, cut or padded to
10 turns (5 customer, 5 agent). Two configurations:

* ``offline`` — rules + act detector, no knowledge base (what `simulator check` uses);
* ``kb cold`` — plus the built knowledge base and its embedder (retrieval per customer question, contradiction
  checks, 话术 suggestions), the knowledge base's query-vector cache emptied before every transcript;
* ``kb warm`` — the same with the cache kept (the 54 transcripts repeat, as scripted customers' lines do).
  Both skipped when no index exists (`simulator kb build` first).

    .venv/bin/python bench/grader_speed.py [--n 1000] [--no-kb]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from simulator.acts import ActDetector
from simulator.customer.scripted import ScriptedCustomer
from simulator.grading import Grader
from simulator.scenario.loader import load_scenarios
from simulator.scenario.model import Scenario
from simulator.session import play_reference
from simulator.settings import Settings
from simulator.transcript import Transcript
from simulator.turn import Turn

ROOT = Path(__file__).resolve().parent.parent


def ten_turns(t: Transcript) -> Transcript:
    turns = list(t.turns)
    while len(turns) < 10:  # pad with a polite exchange so every transcript has 10 turns
        turns += [
            Turn(role="customer", text="好的，还有别的要注意的吗？"),
            Turn(role="agent", text="亲，没有啦，有问题随时找我哦～"),
        ]
    return Transcript(id=t.id, turns=turns[:10], scenario=t.scenario, complete=True, outcome=t.outcome)


def corpus(settings: Settings) -> list[tuple[Transcript, Scenario]]:
    loaded = load_scenarios([settings.scenarios_dir])
    det = ActDetector(None)
    out: list[tuple[Transcript, Scenario]] = []
    for _sid, item in sorted(loaded.scenarios.items()):
        s = item.scenario
        if s.references is None:
            continue
        for side in ("good", "bad"):
            session = play_reference(s, getattr(s.references, side), ScriptedCustomer(s, det))
            out.append((ten_turns(session.transcript()), s))
    return out


def run(name: str, grader: Grader, items: list, n: int, before_each: Callable[[], None] = lambda: None) -> None:
    for t, s in items[:5]:
        grader.grade(t, s)  # warm caches (regexes, lexicon, embedder)
    times = []
    t0 = time.perf_counter()
    for i in range(n):
        t, s = items[i % len(items)]
        t = Transcript(id=f"{t.id}-{i}", turns=t.turns, scenario=t.scenario, complete=t.complete, outcome=t.outcome)
        before_each()
        a = time.perf_counter()
        grader.grade(t, s)
        times.append((time.perf_counter() - a) * 1000)
    total = time.perf_counter() - t0
    times.sort()
    p95 = times[int(0.95 * (len(times) - 1))]
    print(
        f"{name:<8} n={n}  p50 {statistics.median(times):.1f} ms  p95 {p95:.1f} ms  max {times[-1]:.1f} ms  "
        f"total {total:.1f} s"
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--no-kb", action="store_true")
    args = ap.parse_args()
    settings = Settings()
    items = corpus(settings)
    print(f"{len(items)} distinct 10-turn transcripts from {len(items) // 2} scenarios")
    run("offline", Grader(settings), items, args.n)
    if not args.no_kb:
        from simulator.engine import Engine

        engine = Engine(settings)
        kb = engine.knowledge_base()
        if kb is None:
            print("kb       skipped: no knowledge index (build it with `simulator kb build`)")
        else:
            grader = Grader(settings, retriever=kb, embedder=engine.embedder(), detector=engine.detector())
            # Cold: every transcript's questions embedded afresh, as if no buyer had ever asked them before.
            run("kb cold", grader, items, args.n, before_each=getattr(kb, "forget_queries", lambda: None))
            # Warm: the same 54 transcripts again and again, so the questions' vectors are cached — what a
            # server sees when many trainees play the same scripted customers.
            run("kb warm", grader, items, args.n)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
