"""The LLM customer: the scenario's persona played by a chat model, kept honest by the scripted engine.

Per trainee reply:

1. The scripted engine plans the turn (acts, reactions, beat, patience, reveals, outcome). The plan is the
   authority on facts, patience and when the conversation must end; the model gets it as a private note.
2. The model answers with a JSON control object (:class:`~simulator.customer.prompt.Control`): the line, a mood
   change and optionally an outcome. It is parsed and checked by :mod:`simulator.customer.guards`.
3. A broken answer (malformed JSON, role swap, leaked or invented fact, restart, early end, too cooperative) is
   re-asked once with the reasons. If it is still broken — or the endpoint is down, times out or fails — the
   scripted line is used for this turn, marked ``llm-fallback``, with a short notice to the trainee.

The conversation always continues; nothing already said is lost.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import ClassVar

from simulator.customer.base import CustomerMessage, CustomerResponse, TurnContext
from simulator.customer.guards import clean_reply, scenario_numbers, violations
from simulator.customer.prompt import Control, ParseError, build_messages, parse_control
from simulator.customer.scripted import MOOD_MAX, MOOD_MIN, Plan, ScriptedCustomer
from simulator.llm.base import ChatMessage, ChatModel, LLMError
from simulator.scenario.model import Scenario
from simulator.scenario.vocabulary import Locale, Outcome
from simulator.turn import TurnSource, Usage

NOTICE = {
    Locale.ZH_CN: {
        "error": "（AI 顾客暂时连不上，本轮由离线剧本顾客回复，对话继续。）",
        "guard": "（AI 顾客的回复不符合设定，本轮由离线剧本顾客回复。）",
    },
    Locale.EN: {
        "error": "(The AI customer is unavailable right now; the scripted customer answered this turn.)",
        "guard": "(The AI customer's answer broke its role; the scripted customer answered this turn.)",
    },
}


class ReplyStream:
    """Pulls the ``reply`` string out of a streamed JSON object so the trainee sees only the customer's words."""

    _ESCAPES: ClassVar[dict[str, str]] = {
        '"': '"',
        "\\": "\\",
        "/": "/",
        "n": "\n",
        "t": "\t",
        "r": "",
        "b": "",
        "f": "",
    }

    def __init__(self, sink: Callable[[str], None]):
        self._sink = sink
        self._buf = ""
        self._pos = -1  # index in _buf where the reply string's content starts; -1 = not found yet
        self._done = False

    def __call__(self, piece: str) -> None:
        if self._done:
            return
        self._buf += piece
        if self._pos < 0:
            key = self._buf.find('"reply"')
            if key < 0:
                return
            colon = self._buf.find(":", key + 7)
            quote = self._buf.find('"', colon + 1) if colon >= 0 else -1
            if quote < 0:
                return
            self._pos = quote + 1
        out: list[str] = []
        i = self._pos
        while i < len(self._buf):
            ch = self._buf[i]
            if ch == "\\":
                if i + 1 >= len(self._buf):
                    break
                nxt = self._buf[i + 1]
                if nxt == "u":
                    if i + 6 > len(self._buf):
                        break
                    with contextlib.suppress(ValueError):
                        out.append(chr(int(self._buf[i + 2 : i + 6], 16)))
                    i += 6
                    continue
                out.append(self._ESCAPES.get(nxt, nxt))
                i += 2
                continue
            if ch == '"':
                self._done = True
                i += 1
                break
            out.append(ch)
            i += 1
        self._pos = i
        if out:
            self._sink("".join(out))


class LLMCustomer:
    """A customer played by a chat model, with the scripted customer as planner and fallback.

    Args:
        scenario: The scenario.
        model: Any :class:`~simulator.llm.base.ChatModel`.
        scripted: The scripted engine (planner and fallback); a default one when not given.
        max_tokens: Cap on the model's answer.
        json_mode: Ask the endpoint for a JSON object (``response_format``). The answer is validated either way;
            turn it off for servers where constrained decoding is slow (llama.cpp's grammar sampler on a busy CPU).
    """

    name = "llm"

    def __init__(
        self,
        scenario: Scenario,
        model: ChatModel,
        *,
        scripted: ScriptedCustomer | None = None,
        max_tokens: int = 160,
        json_mode: bool = True,
    ):
        self._scenario = scenario
        self.model = model
        self.scripted = scripted or ScriptedCustomer(scenario)
        self.max_tokens = max_tokens
        self.json_mode = json_mode
        self._numbers: dict[tuple[tuple[str, str], ...], set[str]] = {}

    @property
    def scenario(self) -> Scenario:
        """The scenario being played."""
        return self._scenario

    def open(self, ctx: TurnContext) -> CustomerResponse:
        """The opening comes from the scenario (authored, so it is always in character)."""
        return self.scripted.open(ctx)

    def respond(self, ctx: TurnContext) -> CustomerResponse:
        """Answer one trainee reply through the model, guarded; falls back to the scripted line on failure."""
        plan = self.scripted.plan(ctx)
        reply = ctx.reply or ""
        messages = build_messages(self._scenario, ctx.variables, ctx.transcript, reply, ctx.state, plan)
        usage = Usage(prompt_tokens=0, completion_tokens=0, calls=0)
        reasons: list[str] = []
        kind = "guard"
        for attempt in range(2):
            prompt = messages if attempt == 0 else [*messages, *self._correction(reasons)]
            sink = ReplyStream(ctx.on_delta) if ctx.on_delta is not None and attempt == 0 else None
            try:
                completion = self.model.complete(
                    prompt, json_mode=self.json_mode, max_tokens=self.max_tokens, on_delta=sink
                )
            except LLMError:
                kind = "error"
                break
            _add_usage(usage, completion.prompt_tokens, completion.completion_tokens, completion.cached_tokens)
            try:
                control = parse_control(completion.text)
            except ParseError as exc:
                reasons = [
                    f"your output was not the JSON object asked for ({exc})",
                    f"last output: {completion.text[:200]!r}",
                ]
                continue
            control.reply = clean_reply(control.reply)
            reasons = violations(
                control,
                scenario=self._scenario,
                variables=ctx.variables,
                transcript=ctx.transcript,
                reply=reply,
                plan=plan,
                allowed_numbers=self._allowed_numbers(ctx),
            )
            if not reasons and control.reply:
                return self._accept(control, ctx, plan, usage)
        return self._fallback(plan, kind, usage if usage.calls else None)

    # -- internals -------------------------------------------------------------------------------------------

    def _allowed_numbers(self, ctx: TurnContext) -> set[str]:
        key = tuple(sorted(ctx.variables.items()))
        if key not in self._numbers:
            self._numbers[key] = scenario_numbers(self._scenario, ctx.variables)
        return self._numbers[key]

    @staticmethod
    def _correction(reasons: list[str]) -> list[ChatMessage]:
        text = "Your answer broke the rules: " + "; ".join(reasons) + ". Answer again as the customer, JSON only."
        return [ChatMessage("user", text)]

    def _accept(self, control: Control, ctx: TurnContext, plan: Plan, usage: Usage) -> CustomerResponse:
        state = plan.state.model_copy(deep=True)
        # Mood follows the model (within bounds); patience, facts and endings follow the plan.
        state.mood = max(MOOD_MIN, min(MOOD_MAX, ctx.state.mood + control.mood_delta))
        outcome, reason = plan.outcome, plan.end_reason
        ending = control.outcome if control.outcome is not None else (Outcome.LEFT if control.stop else None)
        if outcome is None and ending is not None:
            outcome, reason = ending, "llm"
        beat_id = plan.beat.id if plan.beat else None
        msgs = [CustomerMessage(control.reply, source=TurnSource.LLM, beat_id=beat_id, usage=usage)]
        return CustomerResponse(msgs, state, list(plan.acts), outcome, reason)

    def _fallback(self, plan: Plan, kind: str, usage: Usage | None) -> CustomerResponse:
        response = plan.response(TurnSource.LLM_FALLBACK)
        response.state.llm_fallbacks += 1
        if response.messages:
            response.messages[0].usage = usage
        notice = CustomerMessage(NOTICE[self._scenario.locale][kind], notice=True)
        response.messages.insert(0, notice)
        return response


def _add_usage(usage: Usage, prompt: int | None, completion: int | None, cached: int | None) -> None:
    usage.calls += 1
    if prompt is None or usage.prompt_tokens is None:
        usage.prompt_tokens = None
    else:
        usage.prompt_tokens += prompt
    if completion is None or usage.completion_tokens is None:
        usage.completion_tokens = None
    else:
        usage.completion_tokens += completion
    if cached is not None:
        usage.cached_prompt_tokens = (usage.cached_prompt_tokens or 0) + cached
