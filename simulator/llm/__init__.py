"""Chat models: the ``ChatModel`` protocol, the OpenAI-compatible implementation and a fake for tests."""

from simulator.llm.base import ChatMessage, ChatModel, Completion, LLMError
from simulator.llm.fake import FakeChatModel
from simulator.llm.openai_compatible import OpenAIChatModel

__all__ = ["ChatMessage", "ChatModel", "Completion", "FakeChatModel", "LLMError", "OpenAIChatModel"]
