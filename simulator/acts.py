"""What a trainee's reply *does*: the acts (greet, ask, recommend, apologise, blame …) and trigger matching.

The customer engine uses the detected acts to pick beats and apply reactions; the grader uses the same
vocabulary for process steps. Everything here is deterministic: the same reply, scenario and embedder give the
same acts every time.

Detection has two layers:

* **Lexicons** (zh-CN and English, always both — trainees mix languages): phrases or regular expressions per
  act. Negated forms are removed first, so "不能保证" is not an over-promise and "not your fault" is not blame.
* **Exemplars** (optional): with an embedder, a reply close in meaning to an act's example sentences also
  performs that act. Only courteous acts use this path; the negative acts (rude, blame, over-promise,
  cash-back) are lexicon-only, because a false "rude" would punish a good trainee for nothing.

Three acts need context: ``slow`` needs the response time, ``wrong-info`` needs the scenario's required facts
(the grader's own fact check, :mod:`simulator.facts`, finds the reply contradicting one), ``curt`` looks at the
length of the reply.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simulator.embedding.base import Embedder
from simulator.facts import FactChecker
from simulator.facts import substitute as substitute
from simulator.phrases import performs, shared_rules
from simulator.scenario.beats import EndConditions, Trigger
from simulator.scenario.expectations import RequiredFact
from simulator.scenario.model import Scenario
from simulator.scenario.vocabulary import Act
from simulator.text import char_bigrams, count_cjk, dice, normalise_text

# ---------------------------------------------------------------------------------------------------------
# Lexicons. Each entry is a regular expression matched against the normalised reply (NFKC, case-folded).
# Keep them specific: a pattern that fires on ordinary polite replies makes the customer unfair.

# Phrases removed before one act's patterns run: they contain its words but mean something else.
_MASKS: dict[Act, re.Pattern[str]] = {
    # "我帮您推荐" announces a recommendation that has not been made yet.
    Act.RECOMMEND: re.compile(r"(帮|为|给)(您|你).{0,4}(推荐|挑选|选)|(help|let) me (recommend|suggest)"),
    # "我们没有经理" / "找主管也没用" refuse to escalate.
    Act.ESCALATE: re.compile(
        r"(没有|没|不能|无法|不用|不必|别)(找|转|联系|叫)?(经理|主管|上级|领导|组长)|(找|叫)(经理|主管|领导).{0,4}(也)?没用"
        r"|(no|there is no|can'?t get( you)?( a)?) (manager|supervisor)|no need to escalate"
    ),
}

# fmt: off
LEXICON: dict[Act, tuple[str, ...]] = {
    Act.GREET: (
        r"您好", r"你好", r"在的", r"欢迎光临", r"欢迎", r"很高兴为您", r"哈喽", r"嗨",
        r"我是.{0,12}客服", r"\bhello\b", r"^hi\b", r"\bhi there\b", r"good (morning|afternoon|evening)",
        r"\bwelcome\b", r"thanks for (contacting|reaching out)", r"my name is", r"this is .{0,20} from",
    ),
    Act.RECOMMEND: (
        r"推荐", r"建议", r"(可以|建议|就)?(选|拍|穿|入|买|试试)\s?(这款|那款|[smlx0-9]{1,3}\s?(码|号))",
        r"(拍|选|穿)[smlx]{1,3}\b", r"[smlx]{1,3}(码|号)(就|比较|更|刚好|正好)?(合适|适合|可以|ok)",
        r"适合(您|你)", r"更适合", r"入手", r"\brecommend", r"\bsuggest", r"i'?d (go|pick|choose)",
        r"would suit", r"(best|better) (choice|option|fit) for you", r"\btry (the|a|size)\b", r"go with (the|a|size)",
    ),
    Act.EXPLAIN_PRODUCT: (
        r"面料", r"材质", r"版型", r"做工", r"工艺", r"含(棉|毛|羊|麻)", r"(纯)?棉", r"羊毛", r"真丝", r"雪纺",
        r"透气", r"弹力", r"起球", r"胸围", r"衣长", r"腰围", r"袖长", r"尺码表", r"洗涤", r"机洗", r"手洗",
        r"\d+\s?(cm|厘米|mm|g|克|ml|毫升|mah|w|瓦)\b", r"防水", r"续航", r"保修", r"\bfabric\b", r"\bmaterial\b",
        r"\bcotton\b", r"\bwool\b", r"\bwaterproof\b", r"\bbattery\b", r"\bwarranty\b", r"\bsize chart\b",
        r"\bmeasure", r"\bmachine[- ]wash",
    ),
    Act.STATE_POLICY: (
        r"(七|7)\s?天", r"无理由", r"运费险", r"政策", r"规定", r"签收", r"价保", r"保价", r"包邮",
        r"(小时|天)内(发货|发出)",
        r"售后(服务|规则)", r"退换(货)?(规则|政策|流程)?", r"质量问题.{0,8}(我们|店铺|商家)?(承担|负责)",
        r"\bpolicy\b", r"\bwithin \d+ days\b", r"\bfree (shipping|returns?)\b", r"\breturn window\b",
        r"\bprice protection\b", r"\bwe cover\b",
    ),
    Act.OFFER_DISCOUNT: (
        r"优惠券", r"优惠", r"(店铺|专属|无门槛)?券", r"打.{0,2}折", r"\d+(\.\d)?\s?折", r"满减", r"立减", r"减\d+",
        r"便宜\d+", r"(少|减|让)(您|你)?\d+", r"\bcoupon\b", r"\bdiscount\b", r"\d+\s?% off", r"\bpromo code\b",
    ),
    Act.OFFER_GIFT: (
        r"赠品", r"赠送", r"送(您|你)(一|个|份|支|双|条|件)", r"小礼物", r"\bgift\b", r"\bcomplimentary\b",
    ),
    Act.OFFER_COMPENSATION: (
        r"补偿", r"红包", r"补贴", r"赔偿", r"补(您|你)", r"返(您|你)\d+", r"\bcompensat", r"\bstore credit\b",
        r"\bgoodwill\b", r"for the inconvenience",
    ),
    Act.OFFER_EXCHANGE: (
        r"换货", r"换(一|个|件|码|尺码|新)", r"(给|帮|为)(您|你).{0,4}换", r"调换", r"更换", r"\bexchange\b",
        r"\breplacement\b", r"\bswap\b", r"\breplace (it|the)\b",
    ),
    Act.OFFER_RETURN: (
        r"退货", r"寄回", r"退回", r"\breturn (it|them|the)\b", r"\bsend (it|them) back\b", r"\breturn label\b",
    ),
    Act.OFFER_REFUND: (r"退款", r"退钱", r"退差价", r"退(您|你)\d+", r"\brefund", r"\bmoney back\b"),
    Act.REFUSE: (
        r"不能", r"无法", r"不可以", r"没办法", r"不支持", r"做不到", r"不行", r"\bcan'?t\b", r"\bcannot\b",
        r"\bunable\b", r"\bnot (possible|able)\b", r"\bunfortunately\b",
    ),
    Act.APOLOGISE: (r"抱歉", r"对不起", r"不好意思", r"致歉", r"\bsorry\b", r"\bapolog", r"\bmy bad\b"),
    Act.EMPATHISE: (
        r"理解(您|你)", r"能理解", r"明白(您|你)", r"换(做|作)(是)?我",
        r"(让|给)(您|你).{0,4}(久等|着急|担心|失望|麻烦|添麻烦)",
        r"(您|你)的心情", r"辛苦(您|你)了", r"确实(挺|很|让人)?(着急|糟心|生气|闹心)", r"着急", r"心疼",
        r"\bi understand\b", r"\bi (can )?see how\b", r"\bfrustrat", r"\bi hear you\b", r"that must (be|have)",
        r"\bannoying\b", r"\bi know how\b",
    ),
    Act.REASSURE: (
        r"放心", r"别担心", r"不用担心", r"无需担心", r"有保障", r"没问题", r"不会(有|出)问题", r"请相信",
        r"\bdon'?t worry\b", r"\brest assured\b", r"\bno problem\b", r"\byou'?re covered\b", r"\bno worries\b",
    ),
    Act.PRAISE: (
        r"眼光", r"有品味", r"(选|挑)得(真|很|太)?好", r"会选", r"很(衬|适合)(您|你)", r"爆款", r"回购",
        r"\bgreat (choice|taste|pick)\b", r"\bgood (choice|eye|taste)\b", r"\bexcellent choice\b",
    ),
    Act.VERIFY_ORDER: (
        r"订单号", r"订单编号", r"订单信息", r"核实", r"核对", r"查(一下|下)?(您的)?订单", r"收件人", r"下单(的)?手机",
        r"手机号", r"\border (number|id|no)\b", r"\bverify\b", r"\bconfirm your order\b", r"\blook up your order\b",
    ),
    Act.CHECK_LOGISTICS: (
        r"物流", r"快递", r"查件", r"运单", r"派送", r"派件", r"揽收", r"驿站", r"\btracking\b", r"\bcourier\b",
        r"\bshipment\b", r"\bdelivery status\b", r"\bcarrier\b",
    ),
    Act.PROMISE_ACTION: (
        r"我(帮|给|为)(您|你)", r"(马上|立即|立刻)", r"我这边", r"(为|给)(您|你)(申请|处理|安排|登记|催)", r"跟进",
        r"催(一下|促)", r"会在.{0,8}(内|前)", r"\bi'?ll\b", r"\bi will\b", r"\blet me\b", r"\bwe will\b",
        r"\bwe'?ll\b", r"\bright away\b",
    ),
    Act.ESCALATE: (
        r"主管", r"上级", r"专员", r"组长", r"经理", r"转接", r"升级(处理)?", r"(反馈|提交|上报)给", r"售后组",
        r"\bsupervisor\b", r"\bmanager\b", r"\bescalat", r"\bspecialist\b", r"\bteam lead\b",
    ),
    Act.URGE_PAYMENT: (
        r"拍下", r"付款", r"下单", r"尽快", r"库存(不多|紧张|有限)", r"今天.{0,4}发(货|出)", r"抓紧", r"手慢无",
        r"现在拍", r"活动(今天|马上)?(结束|截止)", r"\bplace (the|your) order\b", r"\bcheck ?out\b", r"\bpay now\b",
        r"\border (today|now)\b", r"\bselling fast\b",
    ),
    Act.CLOSE: (
        r"祝(您|你)", r"感谢", r"谢谢(您|你|亲)", r"还有(什么|其他).{0,6}(帮|问题|需要)", r"随时(找|联系|问)",
        r"再见", r"期待", r"欢迎(再来|下次|常来)", r"\bthank you\b", r"\bthanks for\b", r"\banything else\b",
        r"\bhave a (nice|great|good)\b", r"\bgoodbye\b", r"\bbye\b",
    ),
    Act.NOTE: (
        r"备注", r"插旗", r"(做|已)(了)?(记录|登记)", r"标记", r"\bnote(d)? (on|in) (the|your) order\b", r"\bflag",
    ),
    Act.RUDE: (
        r"爱买不买", r"爱要不要", r"滚", r"烦不烦", r"有病", r"神经", r"废话", r"闭嘴", r"(蠢|笨|傻)", r"你懂不懂",
        r"听不懂(吗|啊)?", r"说了多少(遍|次)", r"事儿?(真)?多", r"别烦", r"自己不会(看|查)", r"不会自己(看|查)",
        r"你是不是", r"关我(什么|啥)事", r"\bstupid\b", r"\bidiot", r"\bshut up\b", r"\bwhatever\b",
        r"\bdeal with it\b", r"\bare you blind\b", r"\bnot my problem\b", r"\bread it yourself\b",
    ),
    Act.CASHBACK: (
        r"好评返(现|钱|红包)", r"返现", r"(好评|五星|5星|晒图|追评).{0,10}(返|红包|送|奖励|现金)",
        r"(返|红包|送|奖励).{0,6}(好评|五星|5星|晒图)", r"\bcash ?back\b",
        r"\b(5|five)[- ]star.{0,20}(refund|reward|cash)",
        r"\breview.{0,20}(refund|reward|cash|rebate)",
    ),
}
# fmt: on

# One-word and brush-off replies. Matched on the whole (short) reply, not as substrings of long ones.
_CURT_PHRASES = re.compile(
    r"^(嗯+|哦+|噢|好|好的|行|对|是|有|没有|不知道|不清楚|不晓得|随便|看详情(页)?|自己看.*|看尺码表|看图|没货|不行|可以"
    r"|ok|k|okay|yes|no|yep|nope|idk|dunno|no idea|check (the )?(page|website|listing)|see (the )?(page|listing)"
    r"|look it up|read the description)[。.!！~～]*$"
)
_BRUSH_OFF = re.compile(r"自己看|不知道|不清楚|随便|看详情|\bidk\b|\bdunno\b|look it up yourself|check it yourself")

# Exemplars for the embedder path: only courteous acts, where a missed keyword costs the trainee a beat.
EXEMPLARS: dict[Act, tuple[str, ...]] = {
    Act.GREET: ("亲，您好，很高兴为您服务", "Hello, thanks for contacting us, how can I help?"),
    Act.APOLOGISE: ("非常抱歉给您带来不好的体验", "I'm so sorry about this."),
    Act.EMPATHISE: ("我特别理解您现在着急的心情", "I understand how frustrating this must be for you."),
    Act.REASSURE: ("您放心，这个问题我们一定负责到底", "Please don't worry, we will take care of it."),
    Act.CLOSE: ("感谢您的耐心，祝您生活愉快", "Thank you for your patience, have a great day."),
    Act.VERIFY_ORDER: ("麻烦提供一下您的订单号，我帮您核实", "Could you share your order number so I can check?"),
    Act.ESCALATE: ("这个我帮您反馈给主管处理", "Let me escalate this to my supervisor."),
}

_COMPILED: dict[Act, tuple[re.Pattern[str], ...]] = {
    act: tuple(re.compile(p) for p in patterns) for act, patterns in LEXICON.items()
}
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SENTENCE_END = re.compile(r"[。！？!?.~～\n]+")


def meaningful_length(text: str) -> int:
    """Length that counts: CJK characters plus Latin words (punctuation and emoji count for nothing)."""
    norm = normalise_text(text)
    return count_cjk(norm) + len(_WORD.findall(norm))


def is_curt(text: str) -> bool:
    """A one-word or brush-off reply: 嗯 / 哦 / M / 自己看 / 不知道 / ok / idk.

    Short replies (≤ 3 counted units) are curt unless they are a complete courteous formula; short replies (≤ 12
    units) that brush the customer off (自己看, 不知道, 随便) are curt too.
    """
    norm = normalise_text(text).strip()
    if not norm:
        return True
    n = meaningful_length(norm)
    if _CURT_PHRASES.match(norm):
        return True
    if n <= 2:
        return True
    return n <= 12 and bool(_BRUSH_OFF.search(norm))


# ---------------------------------------------------------------------------------------------------------
# Detection


@dataclass(frozen=True)
class DetectContext:
    """What act detection may know beyond the reply itself.

    Attributes:
        scenario: The scenario (its required facts make ``wrong-info`` detectable).
        variables: Resolved variable values for ``{name}`` in facts and keywords.
        response_seconds: How long the trainee took to reply.
        customer_texts: What the customer has said so far; numbers the customer gave (165, 104) are echoes, not
            claims, so they never count as wrong information.
    """

    scenario: Scenario | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    response_seconds: float | None = None
    customer_texts: Sequence[str] = ()


SHIPPED_RULES = Path(__file__).resolve().parent.parent / "scenarios" / "rules"
VECTOR_CACHE_SIZE = 20_000  # examples plus recent replies whose vectors a detector keeps


class ActDetector:
    """Detects the acts a trainee reply performs, and matches scenario triggers.

    Args:
        embedder: Optional; enables exemplar similarity for courteous acts and trigger ``examples``. Without
            one, trigger examples match by character-bigram overlap instead.
        threshold: Cosine similarity at or above which a reply is "close in meaning" to an example.
        lexical_threshold: Dice overlap of character bigrams used for examples when there is no embedder.
        facts: The fact checker (shared with the grader); one with the shipped vocabulary if omitted.
        rules_dir: The rule files whose ``blame`` and ``over_promise`` rules are the customer's blame and
            over-promise acts — the grader's own (simulator/phrases.py); the shipped ones if omitted.
    """

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        threshold: float = 0.62,
        lexical_threshold: float = 0.6,
        facts: FactChecker | None = None,
        rules_dir: Path | None = None,
    ):
        self.embedder = embedder
        self.shared = shared_rules(Path(rules_dir) if rules_dir is not None else SHIPPED_RULES)
        self.facts = facts or FactChecker()
        self.threshold = threshold
        self.lexical_threshold = lexical_threshold
        # Vectors of examples and recent replies. Bounded: a server's detector sees every trainee reply, and
        # keeping all of them (2 KB each with USE) grew without end. Shared by request threads, hence the lock.
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._vectors_lock = threading.Lock()

    # -- embeddings ------------------------------------------------------------------------------------------

    def _embed(self, texts: Iterable[str]) -> list[np.ndarray]:
        assert self.embedder is not None
        texts = list(texts)
        found: dict[str, np.ndarray] = {}
        with self._vectors_lock:
            for t in dict.fromkeys(texts):
                if t in self._vectors:
                    self._vectors.move_to_end(t)
                    found[t] = self._vectors[t]
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            fresh = {
                t: np.asarray(v, dtype=np.float32) for t, v in zip(missing, self.embedder.embed(missing), strict=True)
            }
            found.update(fresh)
            with self._vectors_lock:
                self._vectors.update(fresh)
                while len(self._vectors) > VECTOR_CACHE_SIZE:
                    self._vectors.popitem(last=False)
        return [found[t] for t in texts]

    def similarity(self, reply: str, examples: Sequence[str]) -> float:
        """Highest similarity of ``reply`` to any example (cosine with an embedder, bigram Dice without)."""
        if not examples:
            return 0.0
        if self.embedder is None:
            return max(similarity(reply, e) for e in examples)
        vecs = self._embed([reply, *examples])
        return float(max(float(vecs[0] @ v) for v in vecs[1:]))

    def _close(self, reply: str, examples: Sequence[str]) -> bool:
        limit = self.threshold if self.embedder is not None else self.lexical_threshold
        return self.similarity(reply, examples) >= limit

    # -- acts ------------------------------------------------------------------------------------------------

    def detect(self, reply: str, context: DetectContext | None = None) -> list[Act]:
        """The acts ``reply`` performs, in the order of :class:`Act` (stable, so transcripts diff cleanly)."""
        ctx = context or DetectContext()
        norm = normalise_text(reply)
        found: set[Act] = set()
        for act, patterns in _COMPILED.items():
            mask = _MASKS.get(act)
            text = mask.sub(" ", norm) if mask is not None else norm
            if any(p.search(text) for p in patterns):
                found.add(act)
        for act, rules in self.shared.items():
            if performs(rules, reply):
                found.add(act)
        if _asks(norm):
            found.add(Act.ASK)
        if self.embedder is not None and norm.strip():
            for act, examples in EXEMPLARS.items():
                if act not in found and self._close(reply, examples):
                    found.add(act)
        if is_curt(reply):
            found.add(Act.CURT)
        elif _answers(norm):
            found.add(Act.ANSWER)
        if ctx.scenario is not None and self.wrong_facts(reply, ctx):
            found.add(Act.WRONG_INFO)
        if ctx.response_seconds is not None:
            end = ctx.scenario.end if ctx.scenario is not None else EndConditions()
            if ctx.response_seconds > end.slow_reply_seconds:
                found.add(Act.SLOW)
        return [a for a in Act if a in found]

    def wrong_facts(self, reply: str, context: DetectContext) -> list[RequiredFact]:
        """Required facts the reply contradicts: a different number, size, material or invoice type on the fact's
        topic, or the opposite of what the fact says (negation) — the grader's own check
        (:meth:`simulator.facts.FactChecker.read`), so the customer reacts to exactly what the grader marks.

        Numbers the customer said and known-fact values are echoes, never claims; a fact that depends on the
        customer's measurements is only judged once she has given them.
        """
        scenario = context.scenario
        if scenario is None or not scenario.expectations.facts:
            return []
        variables = scenario.variable_values(dict(context.variables))  # defaults for what the caller did not draw
        facts = self.facts.compile(scenario.expectations.facts, variables)
        readings = self.facts.read(
            reply,
            facts,
            customer=list(context.customer_texts),
            known=[substitute(k.value, variables) for k in scenario.known_facts],
            prompt=context.customer_texts[-1] if context.customer_texts else "",
            similarity=self._cosine if self.embedder is not None else None,
        )
        wrong = {r.fact.id for r in self.facts.wrong(readings)}
        return [f for f in scenario.expectations.facts if f.id in wrong]

    def _cosine(self, a: str, b: str) -> float:
        va, vb = self._embed([a, b])
        return float(va @ vb)

    # -- triggers --------------------------------------------------------------------------------------------

    def matches(
        self,
        trigger: Trigger,
        reply: str,
        scenario: Scenario | None = None,
        *,
        acts: Sequence[Act] | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> bool:
        """Whether ``trigger`` matches ``reply``, exactly as :class:`~simulator.scenario.model.Trigger` documents.

        * ``not_keywords``: any of them in the reply → no match, whatever else holds.
        * ``keywords`` / ``examples`` given → they decide: any keyword as a substring (case- and width-
          insensitive) or the reply close in meaning to any example. ``act`` is then documentation only.
        * neither → ``act`` decides through :meth:`detect` (pass ``acts`` to reuse a detection). For ``ask``
          (or ``any``) with ``about`` naming a known fact that has ``ask_keywords``: the reply contains one of
          them — and, for ``ask``, the reply is a question or request (so "您平时穿M" echoing the customer
          is not asking). ``about`` that is not a known fact is a topic label and does not narrow the match.

        Args:
            trigger: The trigger.
            reply: The trainee's reply.
            scenario: Needed for ``about`` (known facts) and for detecting ``wrong-info``.
            acts: Acts already detected for this reply.
            variables: Values for ``{name}`` in keywords and examples.
        """
        vars_ = variables or {}
        norm = normalise_text(reply)
        if any(_contains(norm, substitute(k, vars_)) for k in trigger.not_keywords):
            return False
        if trigger.keywords or trigger.examples:
            if any(_contains(norm, substitute(k, vars_)) for k in trigger.keywords):
                return True
            return bool(trigger.examples) and self._close(reply, [substitute(e, vars_) for e in trigger.examples])
        if trigger.about and scenario is not None and trigger.act in (Act.ASK, Act.ANY):
            fact = next((f for f in scenario.known_facts if f.key == trigger.about), None)
            if fact is not None and fact.ask_keywords:
                if not any(_contains(norm, substitute(k, vars_)) for k in fact.ask_keywords):
                    return False
                if trigger.act is Act.ANY:
                    return True
        if trigger.act is Act.ANY:
            return False
        if acts is None:
            acts = self.detect(reply, DetectContext(scenario=scenario, variables=vars_))
        return trigger.act in acts


# A keyword right after one of these is denied, not said: "不是全额" does not state 全额, "not free" is not "free".
_DENIED_BEFORE = re.compile(r"(不是|并非|并不|不|没有|没|非|\bnot|\bisn't|\bno)\s*$")


def _contains(norm_reply: str, needle: str) -> bool:
    """Whether ``needle`` occurs in ``norm_reply`` at least once without a negation right before it."""
    n = normalise_text(needle).strip()
    if not n:
        return False
    start = norm_reply.find(n)
    while start >= 0:
        if not _denied(norm_reply, start):
            return True
        start = norm_reply.find(n, start + 1)
    return False


def _denied(norm_reply: str, start: int) -> bool:
    lo = max(0, start - 4)
    m = _DENIED_BEFORE.search(norm_reply[lo:start])
    if m is None:
        return False
    neg, at = m.group(1), lo + m.start(1)
    # An A-not-A question asks, it does not deny: 是不是拍错, 能不能换, 有没有货.
    after = neg[1] if len(neg) > 1 else norm_reply[start : start + 1]
    return not (neg[0] in "不没" and at > 0 and norm_reply[at - 1] == after)


_REQUEST = re.compile(
    r"[?？]|请问|想(问|了解)一下|方便(告诉|说|提供|发|问|透露)|能(不能)?(告诉|说|提供|发)|麻烦.{0,4}(提供|发|告诉|说|报)"
    r"|(说|告诉|报|发|提供)(我)?一?下(您|你)?的?|请(您|你)?(告诉|提供|发|说)|(您|你)(可以|能)?(告诉|说给|发给|发)我"
    r"|\b(could|can|may|would) you (please )?(tell|share|send|let me know|confirm|provide|give)\b"
    r"|\bplease (tell|share|send|let me know|confirm|provide)\b|\blet me know\b|\bmay i (have|ask|know)\b"
)


def asks(text: str) -> bool:
    """Whether ``text`` asks something: a question mark, a request (请问, could you tell), 吗/呢, a question word."""
    return _asks(normalise_text(text))


def _asks(norm: str) -> bool:
    # 什么/哪/多少 also appear in statements ("什么时候都可以换"), so a question needs a question mark, a request
    # phrase (请问, 方便告诉), a sentence ending in 吗/呢, or an English sentence opening with a question word.
    if _REQUEST.search(norm):
        return True
    for sentence in _SENTENCE_END.split(norm):
        s = sentence.strip()
        if s and (re.search(r"(吗|呢)$", s) or re.match(r"(what|which|how|when|where|do you|did you|are you)\b", s)):
            return True
    return False


def _answers(norm: str) -> bool:
    # A substantive statement: some sentence that is not a question and has at least six counted units.
    for sentence in re.split(r"(?<=[。！!.~～\n])", norm):
        s = sentence.strip()
        if s and not re.search(r"[?？]|(吗|呢)[。!！~～]*$", s) and meaningful_length(s) >= 6:
            return True
    return False


def similarity(a: str, b: str) -> float:
    """Character-bigram Dice overlap of two texts (width- and case-folded), 0 … 1; no embedder needed."""
    return dice(
        char_bigrams(normalise_text(a), keep_single=True),
        char_bigrams(normalise_text(b), keep_single=True),
    )
