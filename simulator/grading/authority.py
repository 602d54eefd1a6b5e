"""Authority and escalation (流程): what the agent may decide alone, and passing up what they may not.

**Authority** — a reply is beyond the scenario's ``authority`` when it

* offers or grants money above the limit of its kind: compensation (红包, credit, a goodwill gesture), a
  discretionary refund (money back while the customer keeps the goods) or a discount (a price cut, "改价到1199",
  "打八折"). Compensation and refunds on one order add up when the reply says the amount comes on top (再/另外/加,
  "another", "more"). A figureless "全额退/full refund", "退一半/half", "八折" is a share of the order amount
  (:mod:`simulator.grading.offers`); agreeing to the customer's figure ("您说多少就多少") is that figure;
* bends the policy ("这次特殊给您办", "I'll make an exception this once");
* pays out of the agent's own pocket or outside the platform ("我私人给您转点钱", "PayPal");
* gives goods away free on the agent's own say (a scarf "当小礼物"); shipping and insurance are not goods;
* arranges a return or refund (or an exchange) the role may not (``may_refund``/``may_exchange`` false).

Asking someone who may decide ("我帮您向组长申请100元", "I'll ask my supervisor") is not a promise; a negated
or conditional clause offers nothing; published promotions (满399减30, 运费险) are not the agent's offers; a
refund that goes with returning the goods is a standard return (policy decides, not an amount). One finding per
reply.

**Escalation** — owed when the customer asks for money above the authority (compensation or a refund, in a
figure or "the whole order") or for a manager. The first reply after such a request fails when it refuses to
escalate ("我们没有经理", "找谁都一样", "a supervisor will tell you the same"), refuses the money flatly without
naming a rule and without escalating ("Sorry, that's not possible. The express refund is all I can do"), or —
when the customer asks for a manager again, or after the agent has already offered what they can — goes on
without escalating. Bargaining over a price, a reward for a review (a red line) and a return the policy decides
are not escalation requests.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.grading.context import GradingContext
from simulator.grading.intents import PERSONAL_PAYMENT, POLICY_EXCEPTION, cue_hits, negated_at
from simulator.grading.lexicon import Hit
from simulator.grading.offers import COMPENSATION, DISCOUNT, REFUND, Demand, Offer
from simulator.grading.remedies import Remedies
from simulator.grading.result import CriterionResult, Finding, Source, deduct, unscored
from simulator.grading.scorer import evidence_finding
from simulator.scenario.expectations import Authority
from simulator.scenario.vocabulary import Act, Dimension

D = Dimension.PROCESS
AUTHORITY_POINTS = 25.0
ESCALATION_POINTS = 15.0
_SHIPPING_WORDS = ("运费", "邮费", "包邮", "运费险", "shipping", "postage", "delivery", "express", "insurance")
_GRANT_RETURN_WORDS = ("退", "寄回", "return", "refund", "send it back", "send them back")


KIND_MESSAGES = {COMPENSATION: "money.compensation", REFUND: "money.refund", DISCOUNT: "money.discount"}


def limit_of(authority: Authority, kind: str) -> float:
    """The authority's limit for a kind of money."""
    return {
        COMPENSATION: authority.max_compensation_yuan,
        DISCOUNT: authority.max_discount_yuan,
        REFUND: authority.max_refund_yuan,
    }[kind]


@dataclass(frozen=True)
class _Excess:
    """One reason a reply is beyond authority, with its words."""

    message: str
    hit: Hit | None


def _money_source(ctx: GradingContext, auth: Authority) -> Source:
    return Source(
        "scenario",
        auth.source or "authority",
        ctx.say(
            "authority.limits",
            discount=auth.max_discount_yuan,
            compensation=auth.max_compensation_yuan,
            refund=auth.max_refund_yuan,
        ),
    )


def authority_result(ctx: GradingContext, rem: Remedies) -> CriterionResult:
    """The ``authority`` criterion: one finding for each reply that goes beyond the scenario's authority."""
    cid, title = "authority", ctx.say("authority.title")
    if ctx.scenario is None:
        return unscored(D, cid, title, AUTHORITY_POINTS, "no scenario, so the agent's authority is unknown")
    auth = ctx.scenario.expectations.authority
    given = {COMPENSATION: 0.0, REFUND: 0.0, DISCOUNT: 0.0}
    demands: list[Demand] = []
    findings: list[Finding] = []
    for i, turn in enumerate(ctx.transcript.turns):
        if turn.role == "customer":
            demands += rem.money.demands(i, demands)
            continue
        excess = _money_excess(ctx, auth, rem.offers(i), given, demands)
        excess = excess or _other_excess(ctx, auth, rem, i)
        if excess is not None:
            findings.append(
                evidence_finding(
                    ctx,
                    D,
                    cid,
                    AUTHORITY_POINTS,
                    excess.message,
                    i,
                    excess.hit,
                    source=_money_source(ctx, auth),
                    topic=ctx.say("authority.topic"),
                    suggestion_fallback=ctx.say("authority.better"),
                    red_line="authority-exceeded",
                )
            )
    return deduct(D, cid, title, AUTHORITY_POINTS, findings)


def _money_excess(
    ctx: GradingContext, auth: Authority, offers: list[Offer], given: dict[str, float], demands: list[Demand]
) -> _Excess | None:
    """The first offer of the reply that goes beyond the limits, counting what was given before; updates ``given``."""
    out: _Excess | None = None
    for o in offers:
        kind, amount = o.kind, o.amount
        if o.agreed and demands:
            kind = demands[-1].kind
            amount = amount if amount is not None else demands[-1].amount
        if amount is None:
            continue  # a share of an order amount nobody stated: not judged
        total = given[kind] + amount if o.additional else amount
        limit = limit_of(auth, kind)
        over = total > limit + 1e-9
        if kind in (COMPENSATION, REFUND):
            other = REFUND if kind == COMPENSATION else COMPENSATION
            # Compensation and partial refunds on one order add up against the refund limit.
            if given[other] > 0 and total + given[other] > max(auth.max_refund_yuan, limit) + 1e-9:
                over = True
        if over and o.asked:
            continue  # asking the team lead for it is right
        given[kind] = total if (o.additional or over) else max(given[kind], total)
        if over and out is None:
            out = _Excess(
                ctx.say(
                    "authority.amount",
                    kind=ctx.say(KIND_MESSAGES[kind]),
                    amount=f"{total:g}",
                    limit=limit,
                    currency=_currency(ctx),
                ),
                o.hit,
            )
    return out


def _currency(ctx: GradingContext) -> str:
    return "$" if ctx.locale.startswith("en") else "¥"


def _other_excess(ctx: GradingContext, auth: Authority, rem: Remedies, i: int) -> _Excess | None:
    """A policy exception, a personal payment, a free gift, or a return/exchange the role may not arrange."""
    found = rem.intents(i)
    if POLICY_EXCEPTION in found and not _asks_lead(ctx, i, found[POLICY_EXCEPTION].hit):
        return _Excess(ctx.say("authority.exception"), found[POLICY_EXCEPTION].hit)
    if PERSONAL_PAYMENT in found:
        return _Excess(ctx.say("authority.personal"), found[PERSONAL_PAYMENT].hit)
    text = ctx.texts[i]
    for hit in cue_hits(ctx.lexicon, "free_gift", text):
        clause = _clause(text, hit)
        if not any(w in clause.lower() for w in _SHIPPING_WORDS) and not _asks_lead(ctx, i, hit):
            return _Excess(ctx.say("authority.gift"), hit)
    if not auth.may_refund or not auth.may_exchange:
        grant = _grants_return_or_exchange(ctx, rem, i, refund=not auth.may_refund, exchange=not auth.may_exchange)
        if grant is not None:
            return _Excess(ctx.say("authority.no-refund-right"), grant)
    return None


def _clause(text: str, hit: Hit) -> str:
    from simulator.grading.intents import clause_spans

    for a, b in clause_spans(text):
        if a <= hit.start < b:
            return text[a:b]
    return hit.text


def _asks_lead(ctx: GradingContext, turn: int, hit: Hit | None) -> bool:
    """The sentence holding ``hit`` asks someone who may decide (申请, 组长, supervisor)."""
    text = ctx.texts[turn]
    if hit is None:
        return bool(ctx.lexicon.cue("escalate")(text))
    import re

    for m in re.finditer(r"[^。！!？?\n]+", text):
        if m.start() <= hit.start < m.end():
            return bool(ctx.lexicon.cue("escalate")(m.group(0)))
    return False


def _grants_return_or_exchange(
    ctx: GradingContext, rem: Remedies, i: int, *, refund: bool, exchange: bool
) -> Hit | None:
    """Words by which the reply arranges a return/refund (or an exchange) outright: carried out, ruled "可以退的",
    or proposed as done ("给您走退货流程"); not in principle, not negated, not asked of the team lead."""
    if rem.in_principle(i):
        return None
    text = ctx.texts[i]
    acts = rem.remedy_acts(i)
    wanted = (refund and bool(acts & {Act.OFFER_RETURN, Act.OFFER_REFUND})) or (exchange and Act.OFFER_EXCHANGE in acts)
    found = rem.intents(i)
    candidates: list[Hit] = []
    # A red line rests on the lexicon's words here, never on a meaning guess alone.
    if "remedy_done" in found and found["remedy_done"].by == "lexicon":
        candidates.append(found["remedy_done"].hit)
    ruling = ctx.lexicon.cue("ruling").find(text)
    if ruling is not None and not negated_at(text, ruling.start, whole_clause=True) and "不了" not in ruling.text:
        candidates.append(ruling)
    if wanted and ctx.lexicon.cue("action")(text):
        hit = ctx.lexicon.cue("action").find(text)
        if hit is not None:
            candidates.append(hit)
    for hit in candidates:
        clause = _clause(text, hit).lower()
        about = (refund and any(w in clause for w in _GRANT_RETURN_WORDS)) or (exchange and "换" in clause)
        if about and not _asks_lead(ctx, i, hit) and not rem.is_question(i, hit):
            return hit
    return None


# -- escalation -------------------------------------------------------------------------------------------------


def escalation_result(ctx: GradingContext, rem: Remedies) -> CriterionResult:
    """The ``escalation`` criterion: requests above the authority, and the reply each one got."""
    cid, title = "escalation", ctx.say("escalation.title")
    if ctx.scenario is None:
        return unscored(D, cid, title, ESCALATION_POINTS, "no scenario, so the agent's authority is unknown")
    auth = ctx.scenario.expectations.authority
    source = Source("scenario", auth.source or "authority", ctx.say("escalation.rule"))
    demands: list[Demand] = []
    requests = 0
    manager_asked = False
    offered_before = False
    findings: list[Finding] = []
    for c in ctx.customer_indices():
        text = ctx.texts[c]
        new = rem.money.demands(c, demands)
        demands += new
        over = [d for d in new if d.amount is not None and d.amount > limit_of(auth, d.kind) + 1e-9]
        manager = bool(cue_hits(ctx.lexicon, "manager_request", text))
        replies = ctx.answers_to(c)
        offered_now = offered_before or any(rem.offers(i) or rem.remedy_acts(i) for i in ctx.agent_indices() if i < c)
        if not (over or manager):
            offered_before = offered_now
            continue
        requests += 1
        insisting = (manager and manager_asked) or offered_now
        manager_asked = manager_asked or manager
        offered_before = offered_now
        if not replies:
            continue
        r = replies[0]
        fault, hit = _escalation_fault(ctx, rem, r, money=bool(over), insisting=insisting)
        if fault:
            findings.append(
                evidence_finding(
                    ctx,
                    D,
                    cid,
                    ESCALATION_POINTS,
                    ctx.say("escalation.refused" if hit is not None else "escalation.ignored"),
                    r,
                    hit,
                    source=source,
                    topic=ctx.say("authority.topic"),
                    suggestion_fallback=ctx.say("escalation.better"),
                )
            )
    if not requests:
        return unscored(D, cid, title, ESCALATION_POINTS, "the customer asked for nothing beyond the agent's authority")
    return deduct(D, cid, title, ESCALATION_POINTS, findings)


def escalates(ctx: GradingContext, rem: Remedies, turn: int) -> bool:
    """The reply passes the case up (or says it will): 申请, 组长, supervisor — not "我们没有经理"."""
    if "escalation_refusal" in rem.intents(turn):
        return False
    return Act.ESCALATE in ctx.acts_of(turn) or bool(ctx.lexicon.cue("escalate")(ctx.texts[turn]))


def _escalation_fault(
    ctx: GradingContext, rem: Remedies, r: int, *, money: bool, insisting: bool
) -> tuple[bool, Hit | None]:
    """Whether the reply fails the request, with the words of a refusal (None: the request was passed over)."""
    found = rem.intents(r)
    if "escalation_refusal" in found:
        return True, found["escalation_refusal"].hit
    if escalates(ctx, rem, r):
        return False, None
    text = ctx.texts[r]
    if any(o.amount is not None or o.agreed for o in rem.offers(r)) or POLICY_EXCEPTION in found:
        return False, None  # granting it is the authority criterion's fault, not this one
    if money:
        refusal = ctx.lexicon.cue("refusal").find(text)
        if refusal is None and Act.REFUSE in ctx.acts_of(r):
            refusal = Hit(0, len(ctx.transcript.turns[r].text), ctx.transcript.turns[r].text)
        if refusal is not None and not ctx.lexicon.cue("policy_reason")(text):
            return True, refusal
    return insisting, None
