"""A scripted ``ChatModel`` for tests: returns queued outputs, fails on demand, records every prompt."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from simulator.llm.base import ChatMessage, Completion, LLMError

Output = str | Exception | Callable[[Sequence[ChatMessage]], str]


class FakeChatModel:
    """Plays back ``outputs`` one per call.

    Each output is a string (returned as the completion), an exception instance (raised — use
    :class:`~simulator.llm.base.LLMError` to simulate an endpoint failure), or a function of the prompt returning
    a string. When the queue is empty, ``default`` is used (an ``LLMError`` when it is ``None``).

    Attributes:
        calls: Every prompt received, in order.
    """

    def __init__(self, outputs: Iterable[Output] = (), *, default: Output | None = None, name: str = "fake"):
        self._outputs = list(outputs)
        self._default = default
        self._name = name
        self.calls: list[list[ChatMessage]] = []

    @property
    def name(self) -> str:
        return self._name

    def push(self, *outputs: Output) -> None:
        """Queue more outputs."""
        self._outputs.extend(outputs)

    def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        json_mode: bool = False,
        max_tokens: int | None = None,
        on_delta: Callable[[str], None] | None = None,
    ) -> Completion:
        self.calls.append(list(messages))
        out = self._outputs.pop(0) if self._outputs else self._default
        if out is None:
            raise LLMError("fake model: no more scripted outputs")
        if isinstance(out, Exception):
            raise out
        text = out(messages) if callable(out) else out
        if on_delta is not None:
            for i in range(0, len(text), 8):
                on_delta(text[i : i + 8])
        prompt = sum(len(m.content) for m in messages) // 2
        return Completion(text=text, prompt_tokens=prompt, completion_tokens=len(text) // 2, model=self._name)
