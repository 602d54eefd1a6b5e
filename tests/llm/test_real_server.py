"""The real client path against llama.cpp's OpenAI-compatible server: streaming, usage, JSON mode, timeouts,
an endpoint that dies mid-conversation, and the LLM customer falling back when the small model misbehaves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import Played

from simulator.customer import LLMCustomer
from simulator.customer.prompt import ParseError, parse_control
from simulator.llm import ChatMessage, LLMError, OpenAIChatModel
from simulator.scenario import load_scenario
from simulator.session import Session, play_replies
from simulator.turn import Speaker, TurnKind, TurnSource

from .conftest import Server, free_port

pytestmark = pytest.mark.llm
REPO = Path(__file__).resolve().parents[2]
PROMPT = [ChatMessage("system", "You are a shopper in an online store."), ChatMessage("user", "Hello! How can I help?")]


def model(server: Server, **kw: object) -> OpenAIChatModel:
    return OpenAIChatModel(server.base_url, "smollm2", seed=1, temperature=0.2, timeout=60, **kw)  # type: ignore[arg-type]


def test_streaming_deltas_add_up_to_the_text(llm_server: Server) -> None:
    deltas: list[str] = []
    c = model(llm_server).complete(PROMPT, max_tokens=24, on_delta=deltas.append)
    assert c.text and "".join(deltas) == c.text and len(deltas) > 1
    assert c.first_token_seconds is not None and 0 < c.first_token_seconds <= c.seconds


def test_non_streaming_reports_token_usage(llm_server: Server) -> None:
    c = model(llm_server, stream=False).complete(PROMPT, max_tokens=8)
    assert c.prompt_tokens and c.prompt_tokens > 10 and c.completion_tokens and c.completion_tokens <= 8


def test_json_mode_gives_parseable_json(llm_server: Server) -> None:
    c = model(llm_server).complete(
        [ChatMessage("system", 'Answer with a JSON object {"reply": "..."}'), ChatMessage("user", "Hi")],
        json_mode=True,
        max_tokens=6,
    )
    # Grammar-constrained to JSON; it may still be cut off at max_tokens — which the customer treats as malformed.
    assert c.text.lstrip().startswith("{")
    try:
        json.loads(c.text)
    except json.JSONDecodeError:
        with pytest.raises(ParseError):
            parse_control(c.text)


def test_timeout_becomes_llm_error(llm_server: Server) -> None:
    m = OpenAIChatModel(llm_server.base_url, "smollm2", timeout=0.001, retries=1, backoff=0.01)
    with pytest.raises(LLMError, match="timed out after 2 attempt"):
        m.complete(PROMPT, max_tokens=50)


def test_nothing_listening_becomes_llm_error() -> None:
    m = OpenAIChatModel(f"http://127.0.0.1:{free_port()}/v1", "smollm2", timeout=2, retries=1, backoff=0.01)
    with pytest.raises(LLMError, match="failed after 2 attempt"):
        m.complete(PROMPT)


def test_llm_customer_plays_a_scenario_to_its_outcome(llm_server: Server) -> None:
    s = load_scenario(REPO / "scenarios/qinghe/presale-size-hesitant-office.yaml")
    assert s.references is not None
    session = play_replies(
        s, LLMCustomer(s, model(llm_server), max_tokens=24, json_mode=False), s.references.good.replies
    )
    assert session.outcome in s.references.good.expect_outcome
    customer = session.messages(Speaker.CUSTOMER)[1:]
    assert customer and all(t.source in (TurnSource.LLM, TurnSource.LLM_FALLBACK) for t in customer)
    assert all(t.usage is not None and t.usage.calls >= 1 for t in customer)
    # SmolLM2 cannot write Chinese: the guards must catch it and the script must carry the scene.
    fallbacks = [t for t in customer if t.source is TurnSource.LLM_FALLBACK]
    notices = [t for t in session.turns if t.kind is TurnKind.NOTICE and t.role is Speaker.SYSTEM]
    assert len(notices) >= len(fallbacks)


def test_endpoint_dying_mid_conversation_loses_nothing(own_server: Server) -> None:
    s = load_scenario(REPO / "scenarios/qinghe/presale-size-hesitant-office.yaml")
    m = OpenAIChatModel(own_server.base_url, "smollm2", timeout=10, retries=1, backoff=0.05)
    session = Played(Session.create(s, seed=1), LLMCustomer(s, m, max_tokens=40, json_mode=False))
    session.start()
    session.reply("亲，您好～方便告诉我您的身高体重吗？")
    before = [t.model_dump() for t in session.turns]
    own_server.stop()
    turns = session.reply("165cm、104斤建议拍M码哦")
    assert [t.model_dump() for t in session.turns[: len(before)]] == before
    assert any(t.kind is TurnKind.NOTICE and "连不上" in t.text for t in turns)
    assert turns[-1].source is TurnSource.LLM_FALLBACK and not session.ended
