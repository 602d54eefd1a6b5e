"""Money in a conversation: what the agent offers or grants, what the customer demands, what the order cost.

Amounts are read through :mod:`simulator.quantities` (digits, Chinese numerals, English number words, ¥/元/块/$),
plus bare numbers in a clause about money ("给您补偿50", "100就100"). An amount with no figure is a share of
the order: "全额退/full refund/the whole order" is the order amount, "退一半/half" half of it, "打八折/20% off"
a fifth of it, "改价到1199" the difference to the order amount. The **order amount** is the largest amount the
scenario states (known facts, variables, summary) or the customer mentions outside a demand; when nothing gives
one, a share of it is unknown and is not judged.

Kinds follow the shops' authority tables: **compensation** (红包, 补偿, store credit, a goodwill gesture), **refund**
(a partial or discretionary refund: money back while the customer keeps the goods, a fee, a price difference)
and **discount** (a price cut or coupon before payment). A refund that goes with sending the goods back is a
standard return, decided by policy rather than by an amount, and is not an offer here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from simulator.grading.intents import NEGATION, clause_spans
from simulator.grading.lexicon import Hit, Lexicon
from simulator.quantities import quantities, to_digits

COMPENSATION, REFUND, DISCOUNT = "compensation", "refund", "discount"

_COMP = re.compile(
    r"补偿|赔|红包|补贴|补(您|你)|心意|歉意|礼金|\bcredit|compensat|goodwill|gesture"
    r"|for the (trouble|inconvenience|hassle|wait)|\bapolog|\bvoucher",
    re.I,
)
_REFUND = re.compile(
    r"退|返还|\brefund|money back|\bback to you|\bback on your|\breimburs|\bget your .{0,12}\bback", re.I
)
_DISCOUNT = re.compile(
    r"优惠|便宜|减|折|让利|让价|改价|抹.?零|券|少收|\bdiscount|\boff\b|\bprice\b|\bknock|\bcoupon|\bcheaper", re.I
)
# The agent gives to the customer: 给您/退您/我来…, "I'll", "let me", "refund you".
_TO_CUSTOMER = re.compile(
    r"(给|为|帮|送|补|返|赔|退|转|少收|便宜|减|让)(您|你)|我(来|这边|可以|就|再|先|直接|马上|私下|自己)?(给|送|补|退|转|赔|减|加|让|打|改)"
    r"|直接(给|送|补|退|转|减|打)|(您|你)(可以)?(领|拿到|获得|得到|收到)"
    r"|\b(i|we)('ll| will| can| could|'ve| have|'m going to| am going to| shall)\b|\blet me\b"
    r"|\b(give|offer|credit|refund|send|pay|add|knock) (you|your)\b|\byou('ll| will) (get|receive|have)\b",
    re.I,
)
_CONDITIONAL = re.compile(
    r"如果|若是|要是|假如|假设|万一|一旦|只要"
    r"|\bif\b|\bunless\b|\bin case\b|\bonce (we|i|it)\b|\bas soon as\b|\bprovided\b",
    re.I,
)
_ADDITIONAL = re.compile(
    r"再(?!次|见|看)|另外|额外|加(?!急|油|微信|入|快)|多给"
    r"|\bon top\b|\bextra\b|\banother\b|\badditional\b|\bmore\b|\bas well\b",
    re.I,
)
_QUOTE = re.compile(
    r"(您|你)(说|提|要|想要)的|(您|你)提出的|\byou (asked|mentioned|said|wanted|requested)\b|\byour (request|demand)",
    re.I,
)
_LIMIT = re.compile(r"权限|上限|\bauthori[sz]|\blimit\b|\ballowed to\b", re.I)
_NO = re.compile(r"(给|退|补|送|减|便宜|做|办)不了|做不到|办不到|不行|没办法|没法|\bnot possible\b", re.I)
WHOLE = re.compile(
    r"全额|全款|全部(的)?(钱|货款|退)|退全|整单|整个订单|(full|whole|entire|complete) (refund|order|amount|price)"
    r"|refund (the |your )?(whole|entire|full)|\ball (of )?your money|\bevery (penny|cent)",
    re.I,
)
_PRICE_TALK = re.compile(r"价|贵|花了|买的|付了|实付|\bpaid\b|\bcost|\bprice|\bspent\b|\bbought\b", re.I)
_HALF = re.compile(r"一半|半价|\bhalf\b", re.I)
# The customer asking to send the goods back: a return the policy decides, not a sum to escalate.
_RETURN_ASK = re.compile(
    r"退货|退掉|退了|要退|想退|寄回|\bsend (it|them) back\b|\breturn (it|them|this|these|my)\b", re.I
)
KEEP_ITEM = re.compile(
    r"(您|你)?留着|不用(退回|寄回|退货|寄)|不需要(退回|寄回)|\bkeep (it|them|the)\b|\bno need to (send|return)", re.I
)
GOODS_RETURN = re.compile(
    r"退货|寄回|退回来|寄回来|\b(send|post|ship|mail) (it|them|the \w+) back\b|\breturn (it|them|the)\b|\breturn label",
    re.I,
)
_SHIPPING = re.compile(r"运费|邮费|包邮|\bshipping\b|\bpostage\b|\bdelivery\b|\bexpress\b|\breturn label", re.I)
_PRICE_CHANGE = re.compile(
    r"(改价|改成|改到|便宜到|降到|算您|按)\s*(到|成|为)?\s*[¥￥$]?\s*(?P<a>\d+(?:\.\d+)?)"
    r"|\b(drop|lower|reduce|bring|knock) (the price|it|that|them)( down)? to \$?(?P<b>\d+(?:\.\d+)?)"
    r"|\b(do|sell|let you have) (it|them|that|the \w+) for \$?(?P<c>\d+(?:\.\d+)?)",
    re.I,
)
# A bare number that is money: not a long id, not glued to letters or to a unit of something else.
_BARE = re.compile(
    r"(?<![\d.\-#A-Za-z满周期拜月])(\d{1,5}(?:\.\d+)?)"
    r"(?![\d.]|[a-zA-Z]|\s?(?:%|％|折|码|号|个|件|天|小时|次|岁|斤|日|点|月|cm|kg|km))"
)
_CN_RUN = re.compile(r"[一二两三四五六七八九十百千]*[十百千][一二三四五六七八九十百千]*|[一二两三四五六七八九][十百千]")
_TENTH = re.compile(r"(\d+(?:\.\d+)?)\s?折")
_PCT_OFF = re.compile(r"(\d+(?:\.\d+)?)\s?(%|％|percent)\s?(off|discount|优惠|折扣)", re.I)


@dataclass(frozen=True)
class Offer:
    """Money the agent offers or grants in one clause.

    Attributes:
        turn: The agent turn.
        kind: compensation, refund or discount.
        amount: The amount, or None when it is a share of an order amount nobody stated.
        hit: The clause that says it (offsets in the turn's text).
        additional: Marked as on top of what was given before (再/另外/加, "another", "more").
        asked: Phrased as asking someone who may decide (申请, supervisor), not promised.
        agreed: Agreeing to the amount the customer named ("您说多少就多少", "100就100").
    """

    turn: int
    kind: str
    amount: float | None
    hit: Hit
    additional: bool = False
    asked: bool = False
    agreed: bool = False


@dataclass(frozen=True)
class Demand:
    """Money the customer asks for in one message (kind, amount, or the whole order when amount is None)."""

    turn: int
    kind: str
    amount: float | None


def _sentence(text: str, pos: int) -> str:
    """The sentence holding ``pos`` ("If it is lost, we refund you" is one conditional sentence of two clauses)."""
    for m in re.finditer(r"[^。！!？?\n]+", text):
        if m.start() <= pos < m.end():
            return m.group(0)
    return ""


def kind_of(clause: str) -> str | None:
    """compensation, refund or discount — the first that the clause's words show, in that order."""
    if _COMP.search(clause):
        return COMPENSATION
    if _REFUND.search(clause):
        return REFUND
    if _DISCOUNT.search(clause):
        return DISCOUNT
    return None


def _cn_numbers(clause: str) -> str:
    """Chinese numerals with no unit after them ("补偿五十") as digits, in a clause already known to be about money."""
    from simulator.quantities import _cn  # the one cn2an wrapper

    return _CN_RUN.sub(lambda m: _cn(m.group(0)) if clause[m.end() : m.end() + 1] != "分" else m.group(0), clause)


def amounts(clause: str, *, bare: bool) -> list[float]:
    """Amounts of money in a clause (digit form): ¥/元/块/$/dollars, and bare numbers when ``bare``."""
    digits = to_digits(clause)
    money = [q for q in quantities(digits) if q.unit in ("yuan", "usd")]
    if money:
        return [q.hi for q in money]
    if not bare:
        return []
    digits = _cn_numbers(digits)
    taken = [(q.start, q.end) for q in quantities(digits)]
    out = []
    for m in _BARE.finditer(digits):
        if any(a <= m.start() < b for a, b in taken):
            continue
        out.append(float(m.group(1)))
    return out


class Money:
    """Offers, demands and the order amount of one transcript (computed once)."""

    def __init__(self, lexicon: Lexicon, texts: Sequence[str], roles: Sequence[str], scenario_texts: Sequence[str]):
        self.lexicon = lexicon
        self.texts = texts
        self.roles = roles
        self.scenario_texts = scenario_texts

    # -- the order -------------------------------------------------------------------------------------------

    @cached_property
    def order_amount(self) -> float | None:
        """The largest amount the scenario states or the customer mentions outside a demand, or None."""
        found: list[float] = []
        for text in self.scenario_texts:
            found += amounts(text, bare=False)
        for text, role in zip(self.texts, self.roles, strict=True):
            if role != "customer":
                continue
            for a, b in clause_spans(text):
                clause = text[a:b]
                if kind_of(clause) in (COMPENSATION, REFUND) or _DISCOUNT.search(clause):
                    continue
                # "这个大衣1299也太贵了": a bare number is a price where the clause talks about paying.
                found += amounts(clause, bare=bool(_PRICE_TALK.search(clause)))
        return max(found) if found else None

    def share(self, clause: str) -> float | None:
        """The amount a figureless clause means as a share of the order (全额, 一半, 八折, 20% off), or None."""
        digits = to_digits(clause)
        frac = None
        if WHOLE.search(clause):
            frac = 1.0
        elif _HALF.search(clause):
            frac = 0.5
        elif m := _TENTH.search(digits):
            v = float(m.group(1))
            v = v / 10 if v > 10 else v
            frac = 1 - v / 10 if 0 < v < 10 else None
        elif m := _PCT_OFF.search(digits):
            frac = float(m.group(1)) / 100
        if frac is None:
            return None
        order = self.order_amount
        return None if order is None else round(frac * order, 2)

    # -- the agent's offers ----------------------------------------------------------------------------------

    def offers(self, turn: int) -> list[Offer]:
        """Money the agent offers or grants at ``turn``, clause by clause."""
        text = self.texts[turn]
        out: list[Offer] = []
        sentence_escalates = self._escalating_sentences(text)
        agreed_turn = bool(self.lexicon.cue("agree_demand")(text))
        for a, b in clause_spans(text):
            clause = text[a:b]
            if self.lexicon.cue("published")(clause) or _QUOTE.search(clause) or _LIMIT.search(clause):
                continue
            if NEGATION.search(clause) or _NO.search(clause) or _CONDITIONAL.search(_sentence(text, a)):
                continue
            agreed = bool(self.lexicon.cue("agree_demand")(clause))
            kind = kind_of(clause)
            if kind is None and not agreed:
                continue
            if not (_TO_CUSTOMER.search(clause) or agreed):
                continue
            if kind == REFUND and GOODS_RETURN.search(text) and not KEEP_ITEM.search(text):
                continue  # a standard return: policy decides, not an amount
            found = amounts(clause, bare=True)
            if not found and (m := _PRICE_CHANGE.search(to_digits(clause))):
                order = self.order_amount
                price = float(next(g for g in (m.group("a"), m.group("b"), m.group("c")) if g))
                if order is not None and price < order:
                    found, kind = [order - price], DISCOUNT
            shared = None if found else self.share(clause)
            figureless = not found and shared is None and not (WHOLE.search(clause) or _HALF.search(clause))
            if figureless and not agreed:
                continue
            kind = kind or COMPENSATION
            amount = max(found) if found else shared
            out.append(
                Offer(
                    turn,
                    kind,
                    amount,
                    Hit(a, b, clause),
                    additional=bool(_ADDITIONAL.search(clause)),
                    asked=any(lo <= a < hi for lo, hi in sentence_escalates),
                    agreed=agreed or (agreed_turn and amount is None),
                )
            )
        return out

    def _escalating_sentences(self, text: str) -> list[tuple[int, int]]:
        out = []
        for m in re.finditer(r"[^。！!？?\n]+", text):
            if self.lexicon.cue("escalate")(m.group(0)):
                out.append((m.start(), m.end()))
        return out

    # -- the customer's demands ------------------------------------------------------------------------------

    def demands(self, turn: int, earlier: list[Demand]) -> list[Demand]:
        """Money the customer asks for at ``turn`` (compensation or refund; bargaining over a price is not a
        demand to escalate, nor is a reward for a review, nor a refund that comes with returning the goods)."""
        text = self.texts[turn]
        if self.lexicon.cue("cashback_ask")(text) or GOODS_RETURN.search(text) or _RETURN_ASK.search(text):
            return []
        out = []
        for a, b in clause_spans(text):
            clause = text[a:b]
            kind = kind_of(clause)
            if kind == DISCOUNT or _DISCOUNT.search(clause):
                continue
            if kind is None and earlier:
                kind = earlier[-1].kind  # "100，少一分都不行" repeats the last demand
            if kind is None:
                continue
            found = amounts(clause, bare=True)
            if found:
                out.append(Demand(turn, kind, max(found)))
            elif kind == REFUND and WHOLE.search(clause):
                out.append(Demand(turn, kind, self.order_amount))
        return out
