"""The ``ChatModel`` protocol: one chat completion from any OpenAI-compatible endpoint (or a fake)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from simulator.errors import SimulatorError


class LLMError(SimulatorError):
    """The model endpoint failed: down, timed out, HTTP 5xx after retries, or refused the request.

    Callers (the LLM customer, the judge) catch it and carry on without the model; the message says what
    happened and which endpoint, never a traceback.
    """


@dataclass(frozen=True)
class ChatMessage:
    """One message of a chat prompt."""

    role: Literal["system", "user", "assistant"]
    content: str


@dataclass
class Completion:
    """What the model returned, with its cost and timing.

    Attributes:
        text: The full text.
        prompt_tokens: Tokens in the prompt (``None`` when the endpoint does not say, e.g. llama.cpp streams).
        completion_tokens: Tokens generated (``None`` when the endpoint does not say).
        cached_tokens: Prompt tokens served from the provider's cache, when reported.
        model: Model name the endpoint reported.
        seconds: Wall time of the call, including retries.
        first_token_seconds: Time to the first streamed text (``None`` when not streamed).
        attempts: Requests made (1 = no retry).
    """

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    model: str = ""
    seconds: float = 0.0
    first_token_seconds: float | None = None
    attempts: int = 1
    extra: dict[str, object] = field(default_factory=dict)


@runtime_checkable
class ChatModel(Protocol):
    """A chat model behind some endpoint."""

    @property
    def name(self) -> str:
        """Model name (shown in transcripts and benchmarks)."""
        ...

    def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        json_mode: bool = False,
        max_tokens: int | None = None,
        on_delta: Callable[[str], None] | None = None,
    ) -> Completion:
        """Complete the chat.

        Args:
            messages: The prompt.
            json_mode: Ask the endpoint for a JSON object (``response_format``); the caller still validates.
            max_tokens: Cap on generated tokens.
            on_delta: Streams text pieces as they arrive; without it the call may still stream internally.

        Raises:
            LLMError: The endpoint failed after retries.
        """
        ...
