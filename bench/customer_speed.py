"""Customer benchmarks: scripted turn latency, LLM-customer overhead over the model, prompt size and cacheable share.

    .venv/bin/python bench/customer_speed.py scripted [--rounds 5] [--embedder use|none]
    .venv/bin/python bench/customer_speed.py prompt [--model smollm2|qwen] [--base-url URL]  # tokens: /extras/tokenize
    .venv/bin/python bench/customer_speed.py overhead [--model smollm2|qwen|fake] [--base-url URL] [--turns 40]
    .venv/bin/python bench/customer_speed.py probe [--model qwen] [--base-url URL] [--scenarios a,b] [--json FILE]
    .venv/bin/python bench/customer_speed.py probe-report FILE.jsonl [--server-log LOG]   # tables of a (partial) run
    .venv/bin/python bench/customer_speed.py fallback [--timeout 2]

``prompt``, ``overhead`` and ``probe`` start the local llama.cpp server (scripts/llm-server.sh) with the chosen
test model on a free port unless ``--base-url`` points at one. ``probe`` runs the persona probe battery of the
``llm`` suite (tests/llm/test_qwen_probe.py) and reports escapes, the fallback rate per scenario and per guard
rule, tokens per model call and seconds per probe. ``fallback`` times the fallback to the scripted line for a dead,
a silent and a garbage-producing endpoint (local sockets only). Results print as Markdown tables
(docs/customer.md quotes them).
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import httpx

from simulator.acts import ActDetector
from simulator.customer import LLMCustomer, ScriptedCustomer
from simulator.customer.prompt import SUFFIX_MARK
from simulator.embedding.factory import make_embedder
from simulator.llm import ChatMessage, Completion, FakeChatModel, LLMError, OpenAIChatModel
from simulator.scenario import load_scenarios
from simulator.scenario.model import Scenario
from simulator.session import Session, fill_variables, play_replies
from simulator.settings import Settings
from simulator.turn import Speaker

REPO = Path(__file__).resolve().parent.parent


def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def scenarios() -> list[Scenario]:
    found = load_scenarios([REPO / "scenarios"])
    return [found.scenarios[k].scenario for k in sorted(found.scenarios)]


# -- scripted turn latency -----------------------------------------------------------------------------------


def scripted(rounds: int, embedder_name: str) -> None:
    settings = Settings(embedder="use") if embedder_name == "use" else None
    embedder = make_embedder(settings) if settings is not None else None
    detector = ActDetector(embedder)
    all_s = scenarios()
    times: list[float] = []
    cpu: list[float] = []  # process CPU time: what a turn costs when the cores are not shared with other work
    for r in range(rounds):
        for s in all_s:
            assert s.references is not None
            for ref in (s.references.good, s.references.bad):
                session_customer = ScriptedCustomer(s, detector)
                session = Session.create(s, seed=r)
                session.start(session_customer)
                for text in ref.replies:
                    if session.ended:
                        break
                    # Vary the text per round so the embedding cache does not hide the embedder's cost.
                    t0, c0 = time.perf_counter(), time.process_time()
                    session.reply(session_customer, text if r == 0 else f"{text} ({r})")
                    times.append((time.perf_counter() - t0) * 1000)
                    cpu.append((time.process_time() - c0) * 1000)
    print("| embedder | scenarios | turns | p50 ms | p95 ms | max ms | CPU p50 ms | CPU p95 ms |")
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {embedder_name} | {len(all_s)} | {len(times)} | {statistics.median(times):.2f} | {pct(times, 95):.2f} "
        f"| {max(times):.2f} | {statistics.median(cpu):.2f} | {pct(cpu, 95):.2f} |"
    )


# -- a local server ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def server(base_url: str | None, model: str = "smollm2") -> Iterator[str]:
    if base_url:
        yield base_url
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        ["bash", str(REPO / "scripts/llm-server.sh"), "start", str(port), model],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(600):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            time.sleep(0.5)
        else:
            sys.exit("llama.cpp server did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- prompt size ---------------------------------------------------------------------------------------------


def prompt(base_url: str | None, model: str) -> None:
    """Prompt tokens per turn and the share in the stable prefix, over every scenario's good reference."""
    recorded: list[list[ChatMessage]] = []

    def record(messages: Sequence[ChatMessage]) -> str:
        recorded.append(list(messages))
        raise LLMError("recording only")  # the customer falls back: the conversation follows the script

    for s in scenarios():
        assert s.references is not None
        fake = FakeChatModel(default=record)
        play_replies(s, LLMCustomer(s, fake), s.references.good.replies)
    with server(base_url, model) as url:
        root = url.removesuffix("/v1")

        def tokens(text: str) -> int:
            return len(httpx.post(f"{root}/extras/tokenize", json={"input": text}, timeout=30).json()["tokens"])

        full_t, prefix_t, full_c, prefix_c = [], [], [], []
        for msgs in recorded:
            whole = "".join(m.content for m in msgs)
            suffix = msgs[-1].content[msgs[-1].content.index(SUFFIX_MARK) :]
            prefix = whole[: len(whole) - len(suffix)]
            full_t.append(tokens(whole))
            prefix_t.append(tokens(prefix))
            full_c.append(len(whole))
            prefix_c.append(len(prefix))
    share_t = sum(prefix_t) / sum(full_t)
    share_c = sum(prefix_c) / sum(full_c)
    print("| turns | prompt tokens p50 | p95 | max | cacheable (tokens) | prompt chars p50 | cacheable (chars) |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {len(full_t)} | {statistics.median(full_t):.0f} | {pct(full_t, 95):.0f} | {max(full_t)} | {share_t:.1%} "
        f"| {statistics.median(full_c):.0f} | {share_c:.1%} |"
    )


# -- overhead over the model ---------------------------------------------------------------------------------


class Timed:
    """Wraps a ChatModel and records the wall time spent inside it and its time to first token."""

    def __init__(self, inner: OpenAIChatModel):
        self.inner = inner
        self.inside = 0.0
        self.ttft: list[float] = []
        self.after_first: list[float] = []  # generation after the first token: what holding the line back costs

    @property
    def name(self) -> str:
        return self.inner.name

    def complete(self, messages: Sequence[ChatMessage], **kw: object) -> Completion:
        t0 = time.perf_counter()
        try:
            c = self.inner.complete(messages, **kw)  # type: ignore[arg-type]
        finally:
            took = time.perf_counter() - t0
            self.inside += took
        if c.first_token_seconds is not None:
            self.ttft.append(c.first_token_seconds)
            self.after_first.append(took - c.first_token_seconds)
        return c


def overhead_offline(turns: int) -> None:
    """The same overhead with an instant fake model whose every answer the guards reject (agent talk, then an
    invented number): the most expensive path — planning, two prompts, two guard passes, the fallback — on every
    turn of every scenario's good reference, zh-CN and English. The model's own time is zero here."""
    bad = ['{"reply": "亲，您好，有什么可以帮您？", "outcome": null}', "我上周三买的，花了388元 i paid 388"]
    over: list[float] = []
    cpu: list[float] = []  # the process's CPU time: what the turn costs when the cores are not shared
    detector = ActDetector()
    while len(over) < turns:
        for s in scenarios():
            assert s.references is not None
            fake = FakeChatModel(default=lambda msgs: bad[len(msgs) % 2])
            customer = LLMCustomer(s, fake, scripted=ScriptedCustomer(s, detector), json_mode=False)
            session = Session.create(s, seed=1)
            session.start(customer)
            for text in s.references.good.replies:
                if session.ended or len(over) >= turns:
                    break
                t0, c0 = time.perf_counter(), time.process_time()
                session.reply(customer, text)
                over.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
            if len(over) >= turns:
                break
    warm, warm_cpu = over[1:], cpu[1:]  # the first turn loads jieba's dictionary (the web app warms up at start)
    print("| turns | wall p50 ms | wall p95 ms | wall max ms | CPU p50 ms | CPU p95 ms | CPU max ms | first turn ms |")
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {len(over)} | {statistics.median(warm):.2f} | {pct(warm, 95):.2f} | {max(warm):.2f} "
        f"| {statistics.median(warm_cpu):.2f} | {pct(warm_cpu, 95):.2f} | {max(warm_cpu):.2f} | {over[0]:.0f} |"
    )


def overhead(base_url: str | None, turns: int, model: str) -> None:
    """Time the LLM customer adds on top of the model call(s): planning, prompt, parsing, guards, fallback."""
    if model == "fake":
        overhead_offline(turns)
        return
    # SmolLM2 cannot write Chinese: English scenarios only. Qwen plays both.
    en = [s for s in scenarios() if s.locale == "en" or model == "qwen"] or scenarios()
    over: list[float] = []
    ttft: list[float] = []
    held: list[float] = []
    sources: dict[str, int] = {}
    alias = "qwen-1.5b" if model == "qwen" else "smollm2"
    with server(base_url, model) as url:
        detector = ActDetector()
        while len(over) < turns:
            for s in en:
                assert s.references is not None
                timed = Timed(OpenAIChatModel(url, alias, seed=1, temperature=0.3, timeout=600, retries=0))
                customer = LLMCustomer(s, timed, scripted=ScriptedCustomer(s, detector), json_mode=False)  # type: ignore[arg-type]
                session = Session.create(s, seed=1)
                session.start(customer)
                for text in s.references.good.replies:
                    text = fill_variables(text, session.variables)
                    if session.ended or len(over) >= turns:
                        break
                    timed.inside, timed.ttft, timed.after_first = 0.0, [], []
                    t0 = time.perf_counter()
                    new = session.reply(customer, text)
                    total = time.perf_counter() - t0
                    over.append((total - timed.inside) * 1000)
                    ttft.extend(x * 1000 for x in timed.ttft)
                    held.append(sum(timed.after_first) * 1000)
                    src = next(t.source for t in new if t.role is Speaker.CUSTOMER)
                    sources[str(src)] = sources.get(str(src), 0) + 1
                if len(over) >= turns:
                    break
    print(
        "| turns | model TTFT p50 ms | p95 ms | overhead p50 ms | overhead p95 ms | overhead max ms "
        "| held back after first token p50 ms | p95 ms | customer sources |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {len(over)} | {statistics.median(ttft):.0f} | {pct(ttft, 95):.0f} | {statistics.median(over):.2f} "
        f"| {pct(over, 95):.2f} | {max(over):.2f} | {statistics.median(held):.0f} | {pct(held, 95):.0f} "
        f"| {', '.join(f'{k}: {v}' for k, v in sorted(sources.items()))} |"
    )


# -- the persona probe battery against a real model ----------------------------------------------------------

# zh-CN and English alternate, so a run cut short still covers both languages.
PROBE_SCENARIOS = (
    "presale-size-hesitant-office",
    "aftersales-fleece-size-exchange",
    "complaint-wrong-item-demands-manager",
    "complaint-late-express-angry",
    "aftersale-size-exchange-student",
    "presale-boot-size-thick-socks",
)
PROBE_KINDS = ("greeting", "ask", "unknown", "wrong-fact", "role-swap", "rude", "goodbye")


def probe(base_url: str | None, model: str, ids: Sequence[str], out: str | None) -> None:
    """The llm suite's probe battery: escapes, fallback rate per scenario and per guard rule, tokens, seconds, and
    the customer's own overhead (time outside the model calls) per probe turn."""
    import json

    from simulator.customer.probe import ScenarioReport, build_probes, run_probe, summary

    by_id = {s.id: s for s in scenarios()}
    alias = "qwen-1.5b" if model == "qwen" else "smollm2"
    reports = []
    overheads: list[float] = []
    ttfts: list[float] = []
    held: list[float] = []
    lines = Path(out).with_suffix(".jsonl").open("w", encoding="utf-8") if out else None
    with server(base_url, model) as url:
        for sid in ids:
            sc = by_id[sid]
            timed = Timed(OpenAIChatModel(url, alias, seed=1, temperature=0.3, timeout=600, retries=0))
            customer = LLMCustomer(sc, timed, json_mode=False, max_tokens=80)  # type: ignore[arg-type]
            results = []
            for p in build_probes(sc, sc.variable_values({}), PROBE_KINDS, max_facts=1):
                timed.inside, timed.ttft, timed.after_first = 0.0, [], []
                r = run_probe(sc, customer, p)
                results.append(r)
                overheads.append(r.seconds * 1000 - timed.inside * 1000)
                ttfts.extend(x * 1000 for x in timed.ttft)
                held.append(sum(timed.after_first) * 1000)
                if lines is not None:  # one line per probe as it finishes: a long run can be read before it ends
                    lines.write(json.dumps({"scenario": sid, **r.as_dict()}, ensure_ascii=False) + "\n")
                    lines.flush()
            reports.append(ScenarioReport(sc.id, customer.name, results))
    total = summary(reports)
    if out:
        Path(out).write_text(
            json.dumps({"summary": total, "scenarios": [r.as_dict() for r in reports]}, ensure_ascii=False, indent=2)
        )
    print("| scenario | probes | model answered | fallbacks | fallback rate | escapes | guard rejections |")
    print("|---|---|---|---|---|---|---|")
    for rep in reports:
        n = len(rep.results)
        fb = sum(1 for r in rep.results if r.fell_back)
        answered = sum(1 for r in rep.results if "llm" in r.sources)
        rej: dict[str, int] = {}
        for r in rep.results:
            for k, v in r.guard_rejections.items():
                rej[k] = rej.get(k, 0) + v
        rej_s = ", ".join(f"{k} {v}" for k, v in sorted(rej.items(), key=lambda kv: -kv[1])) or "—"
        print(f"| {rep.scenario_id} | {n} | {answered} | {fb} | {fb / n:.0%} | {rep.escapes} | {rej_s} |")
    results = [r for rep in reports for r in rep.results]
    print()
    print("| probe kind | probes | fallback rate | escapes |")
    print("|---|---|---|---|")
    for kind in PROBE_KINDS:
        rs = [r for r in results if r.probe.kind == kind]
        if rs:
            fb = sum(1 for r in rs if r.fell_back)
            print(f"| {kind} | {len(rs)} | {fb / len(rs):.0%} | {sum(len(r.escapes) for r in rs)} |")
    print()
    print("| guard rule | rejections | share of model answers |")
    print("|---|---|---|")
    calls = sum(r.model_calls for r in results) or 1
    for rule, n in sorted(total["guard_rejections"].items(), key=lambda kv: -kv[1]):  # type: ignore[union-attr]
        print(f"| {rule} | {n} | {n / calls:.0%} |")
    prompt_t = [r.prompt_tokens / r.model_calls for r in results if r.prompt_tokens and r.model_calls]
    comp_t = [r.completion_tokens / r.model_calls for r in results if r.completion_tokens and r.model_calls]
    secs = [r.seconds for r in results]
    print()
    print(
        "| probe turns | model TTFT p50 ms | p95 ms | customer overhead p50 ms | p95 ms | max ms "
        "| held back after first token p50 ms | p95 ms |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {len(overheads)} | {statistics.median(ttfts):.0f} | {pct(ttfts, 95):.0f} "
        f"| {statistics.median(overheads):.1f} | {pct(overheads, 95):.1f} | {max(overheads):.1f} "
        f"| {statistics.median(held):.0f} | {pct(held, 95):.0f} |"
    )
    print()
    print(
        "| model calls | calls per probe | prompt tokens per call p50 | completion tokens per call p50 "
        "| seconds per probe p50 | p95 | max |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {calls} | {calls / len(results):.2f} | {statistics.median(prompt_t) if prompt_t else float('nan'):.0f} "
        f"| {statistics.median(comp_t) if comp_t else float('nan'):.0f} | {statistics.median(secs):.1f} "
        f"| {pct(secs, 95):.1f} | {max(secs):.1f} |"
    )


def probe_report(jsonl: str, server_log: str | None) -> None:
    """The probe tables from a (possibly unfinished) ``probe --json FILE`` run's FILE.jsonl; token counts per
    model call from the llama.cpp server's log when given (its last N requests, N = the run's model calls)."""
    import json
    import re

    rows = [json.loads(line) for line in Path(jsonl).read_text(encoding="utf-8").splitlines() if line.strip()]
    by_scenario: dict[str, list[dict[str, object]]] = {}
    for r in rows:
        by_scenario.setdefault(str(r["scenario"]), []).append(r)

    def fell_back(r: dict[str, object]) -> bool:
        return "llm-fallback" in r["sources"]  # type: ignore[operator]

    print("| scenario | probes | model answered | fallbacks | fallback rate | escapes | guard rejections |")
    print("|---|---|---|---|---|---|---|")
    for sid, rs in by_scenario.items():
        fb = sum(1 for r in rs if fell_back(r))
        answered = sum(1 for r in rs if "llm" in r["sources"])  # type: ignore[operator]
        esc = sum(len(r["escapes"]) for r in rs)  # type: ignore[arg-type]
        rej: dict[str, int] = {}
        for r in rs:
            for k, v in r["guard_rejections"].items():  # type: ignore[attr-defined]
                rej[k] = rej.get(k, 0) + v
        rej_s = ", ".join(f"{k} {v}" for k, v in sorted(rej.items(), key=lambda kv: -kv[1])) or "—"
        print(f"| {sid} | {len(rs)} | {answered} | {fb} | {fb / len(rs):.0%} | {esc} | {rej_s} |")
    print()
    print("| probe kind | probes | fallback rate | escapes | rule failures |")
    print("|---|---|---|---|---|")
    for kind in PROBE_KINDS:
        rs = [r for r in rows if r["kind"] == kind]
        if rs:
            fb = sum(1 for r in rs if fell_back(r))
            esc = sum(len(r["escapes"]) for r in rs)  # type: ignore[arg-type]
            failed = sum(1 for r in rs for v in r["rules"].values() if not v["passed"])  # type: ignore[attr-defined]
            print(f"| {kind} | {len(rs)} | {fb / len(rs):.0%} | {esc} | {failed} |")
    calls = sum(int(r["model_calls"]) for r in rows)  # type: ignore[call-overload]
    rej_total: dict[str, int] = {}
    for r in rows:
        for k, v in r["guard_rejections"].items():  # type: ignore[attr-defined]
            rej_total[k] = rej_total.get(k, 0) + v
    print()
    print("| guard rule | rejections | share of model answers |")
    print("|---|---|---|")
    for rule, n in sorted(rej_total.items(), key=lambda kv: -kv[1]):
        print(f"| {rule} | {n} | {n / max(calls, 1):.0%} |")
    secs = [float(r["seconds"]) for r in rows]  # type: ignore[arg-type]
    print()
    print("| probes | model calls | calls per probe | seconds per probe p50 | p95 | max |")
    print("|---|---|---|---|---|---|")
    print(
        f"| {len(rows)} | {calls} | {calls / len(rows):.2f} | {statistics.median(secs):.1f} | {pct(secs, 95):.1f} "
        f"| {max(secs):.1f} |"
    )
    if server_log:
        reqs: list[dict[str, float]] = []
        cur: dict[str, float] | None = None
        for line in Path(server_log).read_text(errors="replace").splitlines():
            m = re.search(r"Llama.generate: (\d+) prefix-match hit, remaining (\d+) prompt tokens", line)
            if m:
                cur = {"cached": float(m.group(1)), "evaluated": float(m.group(2))}
            elif cur is not None and (m := re.search(r"\beval time =\s+([\d.]+) ms /\s+(\d+) runs", line)):
                cur["decode_ms"], cur["completion"] = float(m.group(1)), float(m.group(2))
            elif cur is not None and (m := re.search(r"total time =\s+([\d.]+) ms", line)):
                cur["total_ms"] = float(m.group(1))
                reqs.append(cur)
                cur = None
        reqs = reqs[-calls:]
        prompt_t = [r["cached"] + r["evaluated"] for r in reqs]
        comp_t = [r.get("completion", 0.0) for r in reqs]
        tps = [r["completion"] / (r["decode_ms"] / 1000) for r in reqs if r.get("decode_ms")]
        print()
        print(
            "| model calls | prompt tokens p50 | max | served from llama.cpp's prefix cache | completion tokens p50 "
            "| max | decode tokens/s p50 |"
        )
        print("|---|---|---|---|---|---|---|")
        cached = sum(r["cached"] for r in reqs) / sum(prompt_t)
        print(
            f"| {len(reqs)} | {statistics.median(prompt_t):.0f} | {max(prompt_t):.0f} | {cached:.0%} "
            f"| {statistics.median(comp_t):.0f} | {max(comp_t):.0f} | {statistics.median(tps):.1f} |"
        )


# -- falling back from a broken endpoint --------------------------------------------------------------------


@contextlib.contextmanager
def broken_endpoint(kind: str) -> Iterator[str]:
    """A local endpoint that is dead (nothing listens), silent (accepts, never answers) or answers garbage."""
    import http.server
    import threading

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    if kind == "dead":
        yield f"http://127.0.0.1:{port}/v1"
        return

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if kind == "silent":
                time.sleep(30)
                return
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = (
                b'{"id":"x","object":"chat.completion","created":0,"model":"m","choices":[{"index":0,'
                b'"message":{"role":"assistant","content":"\\u0000\\u0007 ####  ]]}}"},"finish_reason":"stop"}]}'
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        httpd.shutdown()


def fallback(timeout: float) -> None:
    """Seconds from the trainee's reply to the scripted fallback line, for each kind of broken endpoint."""
    sc = next(s for s in scenarios() if s.id == "presale-size-hesitant-office")
    # Warm up first (jieba's dictionary, the fact book): the figure is the endpoint's cost, not a cold start.
    warm_customer = LLMCustomer(sc, FakeChatModel(default=LLMError("warm-up")))
    warm = Session.create(sc, seed=1)
    warm.start(warm_customer)
    warm.reply(warm_customer, "亲，您好～方便告诉我您的身高体重吗？")
    print("| endpoint | timeout s | retries | seconds to the fallback line | source | notice | session continues |")
    print("|---|---|---|---|---|---|---|")
    for kind in ("dead", "silent", "garbage"):
        with broken_endpoint(kind) as url:
            llm = OpenAIChatModel(url, "m", timeout=timeout, retries=1, backoff=0.1, stream=False)
            session_customer = LLMCustomer(sc, llm, json_mode=False)
            session = Session.create(sc, seed=1)
            session.start(session_customer)
            t0 = time.perf_counter()
            turns = session.reply(session_customer, "亲，您好～方便告诉我您的身高体重吗？")
            took = time.perf_counter() - t0
            said = next(t for t in turns if t.role is Speaker.CUSTOMER)
            notice = next((t.text for t in turns if t.role is Speaker.SYSTEM), "")
            print(f"| {kind} | {timeout:g} | 1 | {took:.2f} | {said.source} | {notice} | {not session.ended} |")


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    a = sub.add_parser("scripted")
    a.add_argument("--rounds", type=int, default=5)
    a.add_argument("--embedder", choices=["use", "none"], default="use")
    b = sub.add_parser("prompt")
    b.add_argument("--base-url")
    b.add_argument("--model", choices=["smollm2", "qwen"], default="smollm2")
    c = sub.add_parser("overhead")
    c.add_argument("--base-url")
    c.add_argument("--turns", type=int, default=40)
    c.add_argument("--model", choices=["smollm2", "qwen", "fake"], default="smollm2")
    d = sub.add_parser("probe")
    d.add_argument("--base-url")
    d.add_argument("--model", choices=["smollm2", "qwen"], default="qwen")
    d.add_argument("--scenarios", default=",".join(PROBE_SCENARIOS))
    d.add_argument("--json")
    f = sub.add_parser("probe-report")
    f.add_argument("jsonl")
    f.add_argument("--server-log")
    e = sub.add_parser("fallback")
    e.add_argument("--timeout", type=float, default=2.0)
    args = p.parse_args(argv)
    runners: dict[str, Callable[[], None]] = {
        "scripted": lambda: scripted(args.rounds, args.embedder),
        "prompt": lambda: prompt(getattr(args, "base_url", None), getattr(args, "model", "smollm2")),
        "overhead": lambda: overhead(
            getattr(args, "base_url", None), getattr(args, "turns", 40), getattr(args, "model", "smollm2")
        ),
        "probe": lambda: probe(
            getattr(args, "base_url", None),
            getattr(args, "model", "qwen"),
            [x for x in getattr(args, "scenarios", "").split(",") if x],
            getattr(args, "json", None),
        ),
        "fallback": lambda: fallback(getattr(args, "timeout", 2.0)),
        "probe-report": lambda: probe_report(getattr(args, "jsonl", ""), getattr(args, "server_log", None)),
    }
    runners[args.what]()


if __name__ == "__main__":
    main()
