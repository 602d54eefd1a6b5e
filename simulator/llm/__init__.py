"""Chat models: the ``ChatModel`` protocol, the OpenAI-compatible implementation and a fake for tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.llm.base import ChatMessage, ChatModel, Completion, LLMError
from simulator.llm.fake import FakeChatModel

if TYPE_CHECKING:
    from simulator.llm.openai_compatible import OpenAIChatModel

__all__ = ["ChatMessage", "ChatModel", "Completion", "FakeChatModel", "LLMError", "OpenAIChatModel"]


def __getattr__(name: str) -> Any:
    # The openai package takes ~0.7 s to import; only pay for it when an endpoint is actually used.
    if name == "OpenAIChatModel":
        from simulator.llm.openai_compatible import OpenAIChatModel

        return OpenAIChatModel
    raise AttributeError(name)
