"""OpenAIChatModel against a mock HTTP transport: streaming, usage, retries with backoff, failures → LLMError."""

from __future__ import annotations

import json

import httpx
import pytest

from simulator.llm import ChatMessage, FakeChatModel, LLMError, OpenAIChatModel
from simulator.settings import Settings

PROMPT = [ChatMessage("system", "be a customer"), ChatMessage("user", "您好")]


def sse(*pieces: str, usage: bool = True) -> bytes:
    chunks = []
    for p in pieces:
        chunks.append(
            {
                "id": "x",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": "m",
                "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}],
            }
        )
    if usage:
        chunks.append(
            {
                "id": "x",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": "m",
                "choices": [],
                "usage": {
                    "prompt_tokens": 11,
                    "completion_tokens": 3,
                    "total_tokens": 14,
                    "prompt_tokens_details": {"cached_tokens": 8},
                },
            }
        )
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    return body.encode()


def model(handler, **kw) -> OpenAIChatModel:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return OpenAIChatModel("http://llm.test/v1", "m", http_client=client, backoff=0.001, **kw)


def test_streams_deltas_and_records_usage() -> None:
    seen: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, content=sse("你", "好呀"), headers={"content-type": "text/event-stream"})

    deltas: list[str] = []
    c = model(handler, seed=7, temperature=0.1).complete(PROMPT, json_mode=True, max_tokens=50, on_delta=deltas.append)
    assert c.text == "你好呀" and deltas == ["你", "好呀"]
    assert (c.prompt_tokens, c.completion_tokens, c.cached_tokens) == (11, 3, 8)
    assert c.first_token_seconds is not None and c.attempts == 1
    body = seen[0]
    assert body["stream"] is True and body["seed"] == 7 and body["temperature"] == 0.1 and body["max_tokens"] == 50
    assert body["response_format"] == {"type": "json_object"}
    assert body["messages"][0] == {"role": "system", "content": "be a customer"}


def test_stream_without_usage_reports_none() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=sse("ok", usage=False), headers={"content-type": "text/event-stream"})

    c = model(handler).complete(PROMPT)
    assert c.text == "ok" and c.prompt_tokens is None


def test_retries_5xx_with_backoff_then_succeeds() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) < 3:
            return httpx.Response(503, json={"error": {"message": "overloaded"}})
        return httpx.Response(200, content=sse("好"), headers={"content-type": "text/event-stream"})

    c = model(handler, retries=2).complete(PROMPT)
    assert c.text == "好" and c.attempts == 3 and len(calls) == 3


def test_gives_up_after_retries_with_a_clear_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"error": {"message": "boom"}})

    with pytest.raises(LLMError, match=r"http://llm.test/v1 failed after 2 attempt"):
        model(handler, retries=1).complete(PROMPT)


def test_client_errors_are_not_retried() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(401, json={"error": {"message": "bad key"}})

    with pytest.raises(LLMError, match="HTTP 401"):
        model(handler, retries=3).complete(PROMPT)
    assert len(calls) == 1


def test_connection_failures_and_timeouts_become_llm_errors() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    with pytest.raises(LLMError, match="failed after 1 attempt"):
        model(refused, retries=0).complete(PROMPT)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out")

    with pytest.raises(LLMError, match="timed out"):
        model(slow, retries=1).complete(PROMPT)


def test_server_rejecting_stream_options_is_remembered() -> None:
    bodies: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        if "stream_options" in body:
            return httpx.Response(400, json={"error": {"message": "unknown field stream_options"}})
        return httpx.Response(200, content=sse("好", usage=False), headers={"content-type": "text/event-stream"})

    m = model(handler)
    assert m.complete(PROMPT).text == "好"
    assert m.complete(PROMPT).text == "好"
    assert ["stream_options" in b for b in bodies] == [True, False, False]


def test_non_streaming_mode_and_settings() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "m",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "好的"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
            },
        )

    c = model(handler, stream=False).complete(PROMPT)
    assert (c.text, c.prompt_tokens, c.completion_tokens) == ("好的", 5, 2)
    with pytest.raises(LLMError, match="SIM_LLM_BASE_URL"):
        OpenAIChatModel.from_settings(Settings(llm_base_url=None))
    m = OpenAIChatModel.from_settings(Settings(llm_base_url="http://x/v1", llm_model="qwen", llm_retries=4), seed=3)
    assert (m.name, m.retries, m.seed) == ("qwen", 4, 3)


def test_fake_model_plays_outputs_and_failures() -> None:
    fake = FakeChatModel(["a", LLMError("down"), lambda msgs: msgs[-1].content.upper()])
    assert fake.complete(PROMPT).text == "a"
    with pytest.raises(LLMError):
        fake.complete(PROMPT)
    assert fake.complete([ChatMessage("user", "hi")]).text == "HI"
    with pytest.raises(LLMError, match="no more"):
        fake.complete(PROMPT)
    assert len(fake.calls) == 4
