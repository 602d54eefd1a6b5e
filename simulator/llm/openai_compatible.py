"""``ChatModel`` over the ``openai`` client, for any OpenAI-compatible endpoint (OpenAI, DeepSeek, Qwen, vLLM,
Ollama, llama.cpp's server …)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import openai

from simulator.llm.base import ChatMessage, Completion, LLMError
from simulator.settings import Settings

# Worth another try: the endpoint may come back. 4xx other than 408/409/429 is our request's fault — no retry.
_TRANSIENT = (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)
_RETRY_STATUS = {408, 409, 429}


class OpenAIChatModel:
    """Chat completions from an OpenAI-compatible endpoint, streamed, with retries and token accounting.

    Args:
        base_url: The endpoint, e.g. ``http://127.0.0.1:8080/v1``.
        model: Model name at the endpoint.
        api_key: Key (local servers accept anything).
        timeout: Seconds per request (connect + read).
        retries: Extra attempts on connection errors, timeouts, HTTP 408/409/429/5xx.
        backoff: First wait between attempts in seconds; doubles each time.
        temperature: Sampling temperature.
        seed: Sampling seed, for endpoints that honour it.
        stream: Stream responses (needed for time-to-first-token and live typing in the web app).
        http_client: A custom client of the httpx family the installed openai package uses (proxies, tests
            with a mock transport).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str = "not-needed",
        timeout: float = 30.0,
        retries: int = 2,
        backoff: float = 0.5,
        temperature: float = 0.7,
        seed: int | None = None,
        stream: bool = True,
        http_client: Any = None,
    ):
        self.base_url = base_url
        self.model = model
        self.retries = max(0, retries)
        self.backoff = backoff
        self.temperature = temperature
        self.seed = seed
        self.stream = stream
        # The client's own retries are off: ours are counted, logged in the Completion and tested.
        self._client = openai.OpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0, http_client=http_client
        )
        self._usage_in_stream = True

    @classmethod
    def from_settings(cls, settings: Settings, *, seed: int | None = None) -> OpenAIChatModel:
        """The model ``SIM_LLM_*`` settings describe (``llm_base_url`` must be set)."""
        if not settings.llm_base_url:
            raise LLMError("no LLM endpoint configured — set SIM_LLM_BASE_URL (or use the scripted customer)")
        return cls(
            settings.llm_base_url,
            settings.llm_model,
            api_key=settings.llm_api_key.get_secret_value(),
            timeout=settings.llm_timeout_s,
            retries=settings.llm_retries,
            temperature=settings.llm_temperature,
            seed=seed,
        )

    @property
    def name(self) -> str:
        return self.model

    def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        json_mode: bool = False,
        max_tokens: int | None = None,
        on_delta: Callable[[str], None] | None = None,
    ) -> Completion:
        """One completion, retried with exponential backoff on transient failures.

        Raises:
            LLMError: Every attempt failed, or the endpoint rejected the request.
        """
        started = time.perf_counter()
        last: Exception | None = None
        for attempt in range(1, self.retries + 2):
            try:
                result = self._once(messages, json_mode=json_mode, max_tokens=max_tokens, on_delta=on_delta)
            except openai.APIStatusError as exc:
                if exc.status_code < 500 and exc.status_code not in _RETRY_STATUS:
                    raise LLMError(
                        f"{self.base_url} rejected the request (HTTP {exc.status_code}): {_brief(exc)}"
                    ) from None
                last = exc
            except _TRANSIENT as exc:
                last = exc
            except openai.OpenAIError as exc:  # malformed stream, unexpected payload
                last = exc
            else:
                result.seconds = time.perf_counter() - started
                result.attempts = attempt
                return result
            if attempt <= self.retries:
                time.sleep(self.backoff * 2 ** (attempt - 1))
        kind = "timed out" if isinstance(last, openai.APITimeoutError) else "failed"
        raise LLMError(f"LLM endpoint {self.base_url} {kind} after {self.retries + 1} attempt(s): {_brief(last)}")

    def _once(
        self,
        messages: Sequence[ChatMessage],
        *,
        json_mode: bool,
        max_tokens: int | None,
        on_delta: Callable[[str], None] | None,
    ) -> Completion:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "temperature": self.temperature,
        }
        if self.seed is not None:
            kwargs["seed"] = self.seed
        if max_tokens is not None:
            kwargs["max_tokens"] = max_tokens
        if json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        if not self.stream:
            resp = self._client.chat.completions.create(**kwargs)
            text = (resp.choices[0].message.content or "") if resp.choices else ""
            if on_delta is not None and text:
                on_delta(text)
            return _with_usage(Completion(text=text, model=resp.model or self.model), resp.usage)
        started = time.perf_counter()
        first: float | None = None
        parts: list[str] = []
        usage = None
        model = self.model
        if self._usage_in_stream:
            kwargs["stream_options"] = {"include_usage": True}
        try:
            stream = self._client.chat.completions.create(stream=True, **kwargs)
        except openai.BadRequestError:
            if "stream_options" not in kwargs:
                raise
            # Some servers reject stream_options; remember and stream without usage.
            self._usage_in_stream = False
            kwargs.pop("stream_options")
            stream = self._client.chat.completions.create(stream=True, **kwargs)
        with stream:
            for chunk in stream:
                model = chunk.model or model
                if chunk.usage is not None:
                    usage = chunk.usage
                for choice in chunk.choices or ():
                    piece = choice.delta.content if choice.delta else None
                    if piece:
                        if first is None:
                            first = time.perf_counter() - started
                        parts.append(piece)
                        if on_delta is not None:
                            on_delta(piece)
        return _with_usage(Completion(text="".join(parts), model=model, first_token_seconds=first), usage)


def _with_usage(c: Completion, usage: Any) -> Completion:
    if usage is not None:
        prompt, completion = getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None)
        c.prompt_tokens = int(prompt) if prompt is not None else None
        c.completion_tokens = int(completion) if completion is not None else None
        details = getattr(usage, "prompt_tokens_details", None)
        cached = getattr(details, "cached_tokens", None) if details is not None else None
        c.cached_tokens = int(cached) if cached is not None else None
    return c


def _brief(exc: Exception | None) -> str:
    if exc is None:
        return "no response"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
