"""Customer benchmarks: scripted turn latency, LLM-customer overhead over the model, prompt size and cacheable share.

    .venv/bin/python bench/customer_speed.py scripted [--rounds 5] [--embedder use|none]
    .venv/bin/python bench/customer_speed.py prompt [--base-url URL]      # tokens via llama.cpp /extras/tokenize
    .venv/bin/python bench/customer_speed.py overhead [--base-url URL] [--turns 40]

``prompt`` and ``overhead`` start the local llama.cpp server (scripts/llm-server.sh) on a free port unless
``--base-url`` points at one. Results print as Markdown tables (docs/customer.md quotes them).
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
    for r in range(rounds):
        for s in all_s:
            assert s.references is not None
            for ref in (s.references.good, s.references.bad):
                customer = ScriptedCustomer(s, detector)
                session = Session.create(s, seed=r)
                session.start(customer)
                for text in ref.replies:
                    if session.ended:
                        break
                    # Vary the text per round so the embedding cache does not hide the embedder's cost.
                    t0 = time.perf_counter()
                    session.reply(customer, text if r == 0 else f"{text} ({r})")
                    times.append((time.perf_counter() - t0) * 1000)
    print("| embedder | scenarios | turns | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|---|")
    print(
        f"| {embedder_name} | {len(all_s)} | {len(times)} | {statistics.median(times):.2f} | {pct(times, 95):.2f} "
        f"| {max(times):.2f} |"
    )


# -- a local server ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def server(base_url: str | None) -> Iterator[str]:
    if base_url:
        yield base_url
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        ["bash", str(REPO / "scripts/llm-server.sh"), "start", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(240):
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


def prompt(base_url: str | None) -> None:
    """Prompt tokens per turn and the share in the stable prefix, over every scenario's good reference."""
    recorded: list[list[ChatMessage]] = []

    def record(messages: Sequence[ChatMessage]) -> str:
        recorded.append(list(messages))
        raise LLMError("recording only")  # the customer falls back: the conversation follows the script

    for s in scenarios():
        assert s.references is not None
        fake = FakeChatModel(default=record)
        play_replies(s, LLMCustomer(s, fake), s.references.good.replies)
    with server(base_url) as url:
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

    @property
    def name(self) -> str:
        return self.inner.name

    def complete(self, messages: Sequence[ChatMessage], **kw: object) -> Completion:
        t0 = time.perf_counter()
        try:
            c = self.inner.complete(messages, **kw)  # type: ignore[arg-type]
        finally:
            self.inside += time.perf_counter() - t0
        if c.first_token_seconds is not None:
            self.ttft.append(c.first_token_seconds)
        return c


def overhead(base_url: str | None, turns: int) -> None:
    """Time the LLM customer adds on top of the model call(s): planning, prompt, parsing, guards, fallback."""
    en = [s for s in scenarios() if s.locale == "en"] or scenarios()
    over: list[float] = []
    ttft: list[float] = []
    sources: dict[str, int] = {}
    with server(base_url) as url:
        detector = ActDetector()
        while len(over) < turns:
            for s in en:
                assert s.references is not None
                timed = Timed(OpenAIChatModel(url, "smollm2", seed=1, temperature=0.3, timeout=120))
                customer = LLMCustomer(s, timed, scripted=ScriptedCustomer(s, detector), json_mode=False)  # type: ignore[arg-type]
                session = Session.create(s, seed=1)
                session.start(customer)
                for text in s.references.good.replies:
                    text = fill_variables(text, session.variables)
                    if session.ended or len(over) >= turns:
                        break
                    timed.inside, timed.ttft = 0.0, []
                    t0 = time.perf_counter()
                    new = session.reply(customer, text)
                    total = time.perf_counter() - t0
                    over.append((total - timed.inside) * 1000)
                    ttft.extend(x * 1000 for x in timed.ttft)
                    src = next(t.source for t in new if t.role is Speaker.CUSTOMER)
                    sources[str(src)] = sources.get(str(src), 0) + 1
                if len(over) >= turns:
                    break
    print("| turns | model TTFT p50 ms | overhead p50 ms | overhead p95 ms | overhead max ms | customer sources |")
    print("|---|---|---|---|---|---|")
    print(
        f"| {len(over)} | {statistics.median(ttft):.0f} | {statistics.median(over):.2f} | {pct(over, 95):.2f} "
        f"| {max(over):.2f} | {', '.join(f'{k}: {v}' for k, v in sorted(sources.items()))} |"
    )


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    a = sub.add_parser("scripted")
    a.add_argument("--rounds", type=int, default=5)
    a.add_argument("--embedder", choices=["use", "none"], default="use")
    b = sub.add_parser("prompt")
    b.add_argument("--base-url")
    c = sub.add_parser("overhead")
    c.add_argument("--base-url")
    c.add_argument("--turns", type=int, default=40)
    args = p.parse_args(argv)
    runners: dict[str, Callable[[], None]] = {
        "scripted": lambda: scripted(args.rounds, args.embedder),
        "prompt": lambda: prompt(getattr(args, "base_url", None)),
        "overhead": lambda: overhead(getattr(args, "base_url", None), getattr(args, "turns", 40)),
    }
    runners[args.what]()


if __name__ == "__main__":
    main()
