"""The LLM customer: the scenario's persona played by a chat model, kept honest by the scripted engine.

Per trainee reply:

1. The scripted engine plans the turn (acts, reactions, beat, patience, reveals, outcome). The plan is the
   authority on facts, patience and when the conversation must end; the model gets it as a private note.
2. The model answers with a JSON control object (:class:`~simulator.customer.prompt.Control`): the line and
   optionally an outcome. It is parsed and checked by :mod:`simulator.customer.guards`.
3. A broken answer (malformed JSON, role swap, echo, missing, leaked or invented fact, policy it does not know,
   repeat, restart, early end, too cooperative) is re-asked once with the reasons. If it is still broken — or
   the endpoint is down, times out or fails — the scripted line is used for this turn, marked ``llm-fallback``,
   with a short notice to the trainee.
4. An accepted line records only what it shows: the facts it states, and a mood that agrees with its tone.

The conversation always continues; nothing already said is lost.
"""

from __future__ import annotations

from simulator.customer.base import CustomerMessage, CustomerResponse, TurnContext
from simulator.customer.guards import Knowledge, clean_reply, violations
from simulator.customer.prompt import Control, ParseError, build_messages, parse_control
from simulator.customer.scripted import MOOD_MAX, MOOD_MIN, Plan, ScriptedCustomer
from simulator.customer.state import CustomerState
from simulator.customer.tone import mood_for_line
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
        self._known: dict[tuple[tuple[str, str], ...], Knowledge] = {}

    @property
    def scenario(self) -> Scenario:
        """The scenario being played."""
        return self._scenario

    def open(self, ctx: TurnContext) -> CustomerResponse:
        """The opening comes from the scenario (authored, so it is always in character)."""
        return self.scripted.open(ctx)

    def respond(self, ctx: TurnContext) -> CustomerResponse:
        """Answer one trainee reply through the model, guarded; falls back to the scripted line on failure.

        Nothing reaches ``ctx.on_delta`` before the guards have passed the line: the accepted line is handed over
        whole (a fallback hands over nothing — the final turn carries the scripted line and the notice). See
        docs/customer.md, "Streaming and guarding".
        """
        plan = self.scripted.plan(ctx)
        reply = ctx.reply or ""
        messages = build_messages(self._scenario, ctx.variables, ctx.transcript, reply, ctx.state, plan)
        usage = Usage(prompt_tokens=0, completion_tokens=0, calls=0)
        knowledge = self._knowledge(ctx)
        planned = self._planned_facts(plan, ctx)
        required = knowledge.facts.stated(plan.line, planned)
        reasons: list[str] = []
        rejected: list[str] = []
        kind = "guard"
        for attempt in range(2):
            prompt = messages if attempt == 0 else [*messages, *self._correction(reasons)]
            try:
                completion = self.model.complete(prompt, json_mode=self.json_mode, max_tokens=self.max_tokens)
            except LLMError:
                kind = "error"
                break
            _add_usage(usage, completion.prompt_tokens, completion.completion_tokens, completion.cached_tokens)
            try:
                control = parse_control(completion.text)
            except ParseError as exc:
                plain = _plain_reply(completion.text)
                if plain is not None:  # small models often answer in plain words: the words are what matter
                    control = Control(reply=plain)
                else:
                    rejected.append("malformed")
                    reasons = [
                        f"your output was not the JSON object asked for ({exc})",
                        f"last output: {completion.text[:200]!r}",
                    ]
                    continue
            control.reply = clean_reply(control.reply)
            found = violations(
                control,
                scenario=self._scenario,
                variables=ctx.variables,
                transcript=ctx.transcript,
                reply=reply,
                plan=plan,
                knowledge=knowledge,
                required_facts=required,
            )
            if not found and control.reply:
                response = self._accept(control, ctx, plan, usage, planned, knowledge)
                _count(response.state, rejected)
                if ctx.on_delta is not None:
                    ctx.on_delta(control.reply)
                return response
            rejected += [v.rule for v in found]
            reasons = [v.reason for v in found]
        response = self._fallback(plan, kind, usage if usage.calls else None)
        _count(response.state, rejected)
        return response

    # -- internals -------------------------------------------------------------------------------------------

    def _knowledge(self, ctx: TurnContext) -> Knowledge:
        key = tuple(sorted(ctx.variables.items()))
        if key not in self._known:
            self._known[key] = Knowledge(self._scenario, ctx.variables)
        return self._known[key]

    @staticmethod
    def _planned_facts(plan: Plan, ctx: TurnContext) -> list[str]:
        """Facts this turn gives away according to the plan (the beat's and the ones asked for), not yet given."""
        keys = [f.key for f in plan.answered_facts]
        if plan.beat is not None:
            keys += [k for k in plan.beat.reveals if k not in keys]
        return [k for k in keys if k not in ctx.state.revealed]

    @staticmethod
    def _correction(reasons: list[str]) -> list[ChatMessage]:
        text = "Your answer broke the rules: " + "; ".join(reasons) + ". Answer again as the customer, JSON only."
        return [ChatMessage("user", text)]

    def _accept(
        self, control: Control, ctx: TurnContext, plan: Plan, usage: Usage, planned: list[str], knowledge: Knowledge
    ) -> CustomerResponse:
        state = plan.state.model_copy(deep=True)
        # Facts: only those the line really states count as given — the trainee saw nothing else.
        stated = set(knowledge.facts.stated(control.reply, planned))
        state.revealed = [k for k in state.revealed if k in ctx.state.revealed or k in stated]
        # Mood: the plan's (persona reactions, beat), moved to agree with what the line sounds like.
        state.mood = mood_for_line(max(MOOD_MIN, min(MOOD_MAX, state.mood)), control.reply)
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


def _count(state: CustomerState, rules: list[str]) -> None:
    for rule in rules:
        state.guard_rejections[rule] = state.guard_rejections.get(rule, 0) + 1


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


def _plain_reply(text: str) -> str | None:
    """A plain-text answer (no JSON at all) taken as the customer's line; ``None`` for broken JSON or nothing."""
    t = text.strip()
    if not t or "{" in t or "}" in t or len(t) > 600:
        return None
    return t
