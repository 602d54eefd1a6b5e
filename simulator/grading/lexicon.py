"""The service-rule lexicon: words and phrases the offline grader looks for, kept as trainer-editable YAML.

One file per locale in the rules folder (``scenarios/rules/zh-CN.yaml``, ``en.yaml``; ``Settings.rules_dir``).
Entries are case-insensitive substrings, or regular expressions when they start with ``re:``. Loading
validates every entry (unknown keys, bad regular expressions, duplicate ids) and reports all problems with
``path:line:col``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from simulator.phrases import EXCEPT_WINDOW, CompiledRule, Hit, compile_entry  # noqa: F401 (re-exported)
from simulator.scenario.vocabulary import RedLineKind
from simulator.scenario.yamlsource import read_model

Entry = Annotated[str, Field(min_length=1, max_length=300)]


def check_entries(v: list[str]) -> list[str]:
    """Validate a word list: every "re:" entry must be a valid regular expression (ValueError says which)."""
    for e in v:
        if e.startswith("re:"):
            try:
                re.compile(e[3:])
            except re.error as exc:
                raise ValueError(f"{e!r} is not a valid regular expression: {exc}") from None
    return v


class Cues(BaseModel):
    """Named word lists that recognise what a message does."""

    model_config = ConfigDict(extra="forbid")

    greeting: list[Entry] = Field(description="A greeting (您好, hello).")
    closing: list[Entry] = Field(description="A proper closing (感谢, 祝您, anything else I can help with).")
    polite: list[Entry] = Field(description="Polite address or softeners (您, 请, please).")
    empathy: list[Entry] = Field(description="Acknowledging the customer's feeling (理解, 着急, I understand).")
    apology: list[Entry] = Field(description="An apology (抱歉, sorry).")
    hollow: list[Entry] = Field(
        default_factory=list,
        description="Boilerplate apologies that acknowledge nothing (Sorry for any inconvenience): not empathy.",
    )
    upset: list[Entry] = Field(description="Customer is upset (投诉, 差评, !!!, ridiculous).")
    positive: list[Entry] = Field(
        default_factory=list,
        description="Customer is pleased (谢谢, 太好了, thanks, great): repeated !! with these is joy, not anger.",
    )
    objection: list[Entry] = Field(description="Customer objects or hesitates (贵, 考虑一下, too expensive).")
    question: list[Entry] = Field(description="The agent asks something (？, 请问, could you).")
    recommend: list[Entry] = Field(description="The agent recommends (建议, 推荐, I recommend).")
    praise: list[Entry] = Field(description="Praise of the customer's choice (眼光, great choice).")
    feature: list[Entry] = Field(description="A product feature or figure (面料, 88cm, waterproof).")
    benefit: list[Entry] = Field(description="What the feature does for the customer (显瘦, 舒服, keeps you dry).")
    urge_payment: list[Entry] = Field(description="Moving to payment (下单, 拍下, place the order).")
    escalate: list[Entry] = Field(description="Escalating (申请, 组长, supervisor).")
    verify: list[Entry] = Field(description="Verifying the order or the problem (订单号, 照片, order number).")
    remedy: list[Entry] = Field(description="A remedy (退款, 换货, 补偿, refund).")
    action: list[Entry] = Field(description="Acting on a remedy now (已为您, 给您办理, I've processed).")
    reassure: list[Entry] = Field(description="Reassurance (放心, 运费险, don't worry).")
    offer: list[Entry] = Field(description="Words near an amount that make it an offer (补偿, 优惠, credit).")
    negation: list[Entry] = Field(description="Negations that stop a clause from being a claim (不是, not).")
    yes_no_question: list[Entry] = Field(
        default_factory=list,
        description="A customer question a bare yes or no answers (是不是…, 吗, Is it…?, So it works now?).",
    )
    yes_no_answer: list[Entry] = Field(
        default_factory=list,
        description="A whole reply that answers a yes/no question (是的, 可以的, yes please), matched against the "
        "reply's words without punctuation; anchor with ^…$.",
    )

    _check = field_validator("*")(check_entries)


class ProcessCues(BaseModel):
    """Word lists the process checks read: authority, escalation, verifying first and the remedy ladder.

    Agent-side lists look at a trainee reply, customer-side lists at the customer's messages. A hit inside a
    negated clause ("不能破例", "I can't make an exception") does not count, except for ``escalation_refusal``,
    whose entries are refusals themselves.
    """

    model_config = ConfigDict(extra="forbid")

    remedy_done: list[Entry] = Field(
        default_factory=list,
        description="Agent: a remedy carried out now, not offered (已经给您安排换货了, 退款已原路退回, I've swapped "
        "your order, Done, the new one is on its way).",
    )
    ruling: list[Entry] = Field(
        default_factory=list,
        description="Agent: a verdict on the request, yes or no (可以退的, 退不了, can't be returned, you can send "
        "them back).",
    )
    policy_exception: list[Entry] = Field(
        default_factory=list,
        description="Agent: bending the policy (这次特殊给您办, 破例, 按您拆开那天算, I'll make an exception this "
        "once).",
    )
    personal_payment: list[Entry] = Field(
        default_factory=list,
        description="Agent: money from the agent's own pocket or outside the platform (我私人给您转, 微信转您, out "
        "of my own pocket, PayPal).",
    )
    escalation_refusal: list[Entry] = Field(
        default_factory=list,
        description="Agent: refusing to pass the case up (我们没有经理, 找谁都一样, there's no supervisor, a manager "
        "will tell you the same).",
    )
    refusal: list[Entry] = Field(
        default_factory=list,
        description="Agent: saying no or citing the agent's own limit (给不了, 只能, 已经是最多了, not possible, "
        "all I can do).",
    )
    flat_refusal: list[Entry] = Field(
        default_factory=list,
        description="Agent: saying no to what the buyer needs — a return, a remedy, any way out (退不了, 没有别的办法, "
        "只能等, can't be returned, nothing I can do); without an alternative it is a refusal with nothing to offer.",
    )
    policy_reason: list[Entry] = Field(
        default_factory=list,
        description="Agent: a refusal that names the rule behind it (规定, 不参与价保, 签收之日, policy, not covered).",
    )
    agree_demand: list[Entry] = Field(
        default_factory=list,
        description="Agent: agreeing to the amount the customer named (您说多少就多少, 100就100, whatever you "
        "want, as you asked).",
    )
    free_gift: list[Entry] = Field(
        default_factory=list,
        description="Agent: goods given free on the agent's own say (送您一条, 当小礼物, 不收钱, throw in a free, on "
        "the house); shipping and insurance are not goods.",
    )
    published: list[Entry] = Field(
        default_factory=list,
        description="Published promotions any agent may quote: their amounts are not the agent's offer (满399减30, "
        "店铺券, 运费险, shipping insurance).",
    )
    manager_request: list[Entry] = Field(
        default_factory=list,
        description="Customer: asks for a manager or someone senior (叫你们经理来, 你做不了主, get me a supervisor).",
    )
    return_request: list[Entry] = Field(
        default_factory=list,
        description="Customer: asks to return the goods or for a refund (我要退货, 退钱, refund, send them back).",
    )
    cashback_ask: list[Entry] = Field(
        default_factory=list,
        description="Customer: a reward for a good review (好评返现, 五星, 5-star review) — a red-line request, not "
        "one to escalate.",
    )
    quality_problem: list[Entry] = Field(
        default_factory=list,
        description="Customer: a fault in the goods, which needs photos before a remedy (线头, 起球, 破了, faulty, "
        "broken, stain).",
    )
    evidence: list[Entry] = Field(
        default_factory=list,
        description="Photos or video asked for or sent ([图片], 照片, 拍一下, photo, picture).",
    )

    _check = field_validator("*")(check_entries)


class Exemplars(BaseModel):
    """Sentences that mean one thing, and near misses that do not, for the embedder's nearest-neighbour test."""

    model_config = ConfigDict(extra="forbid")

    examples: list[Entry] = Field(min_length=1, description="Sentences that mean it.")
    counter: list[Entry] = Field(
        default_factory=list,
        description="Near misses that must not count (an offer in principle, a refusal naming the rule, escalating).",
    )


class Meaning(BaseModel):
    """Exemplar sentences per process concept; used only when the grader has an embedder."""

    model_config = ConfigDict(extra="forbid")

    remedy_done: Exemplars | None = Field(default=None, description="A remedy carried out now.")
    policy_exception: Exemplars | None = Field(default=None, description="An exception to the policy.")
    personal_payment: Exemplars | None = Field(default=None, description="Money outside the platform.")
    escalation_refusal: Exemplars | None = Field(default=None, description="Refusing to escalate.")


class Rule(BaseModel):
    """A phrase that costs points, with the reason and a better way to say it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", description="Rule id shown in findings.")
    pattern: Entry = Field(description="Substring, or regular expression after 're:'.")
    except_: list[Entry] = Field(
        default_factory=list, alias="except", description="Patterns near a hit that make it acceptable."
    )
    note: str = Field(default="", max_length=200, description="Why it costs points (shown in findings).")
    suggestion: str = Field(default="", max_length=300, description="A better reply, used when no 话术 fits.")

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, v: str) -> str:
        return check_entries([v])[0]

    @field_validator("except_")
    @classmethod
    def _excepts(cls, v: list[str]) -> list[str]:
        return check_entries(v)


class LexiconRedLine(BaseModel):
    """A red line that applies to every conversation in this locale."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    kind: RedLineKind
    description: str = Field(min_length=1, max_length=300)
    patterns: list[Entry] = Field(min_length=1)

    _check = field_validator("patterns")(check_entries)


class LexiconFile(BaseModel):
    """The YAML file as written."""

    model_config = ConfigDict(extra="forbid")

    locale: str = Field(description="zh-CN or en.")
    cues: Cues
    injection: list[Entry] = Field(default_factory=list, description="Instruction-like text to mask.")
    forbidden: list[Rule] = Field(default_factory=list)
    perfunctory: list[Rule] = Field(default_factory=list)
    blame: list[Rule] = Field(default_factory=list)
    abuse: list[Rule] = Field(default_factory=list)
    over_promise: list[Rule] = Field(default_factory=list)
    red_lines: list[LexiconRedLine] = Field(default_factory=list)
    anchors: list[Entry] = Field(default_factory=list, description="Words that tie a number to its meaning.")
    process: ProcessCues = Field(default_factory=ProcessCues, description="Word lists of the process checks.")
    meaning: Meaning = Field(default_factory=Meaning, description="Exemplar sentences (with an embedder only).")

    _check = field_validator("injection")(check_entries)

    @model_validator(mode="after")
    def _unique_ids(self) -> LexiconFile:
        seen: set[str] = set()
        for group in (self.forbidden, self.perfunctory, self.blame, self.abuse, self.over_promise, self.red_lines):
            for r in group:
                if r.id in seen:
                    raise ValueError(f"rule id '{r.id}' is used twice — give each rule a unique id")
                seen.add(r.id)
        return self


class CueSet:
    """One cue list, compiled."""

    def __init__(self, entries: list[str]):
        self._patterns = [compile_entry(e) for e in entries]

    def find(self, text: str) -> Hit | None:
        """The earliest hit, or None."""
        best: Hit | None = None
        for p in self._patterns:
            m = p.search(text)
            if m and m.end() > m.start() and (best is None or m.start() < best.start):
                best = Hit(m.start(), m.end(), m.group(0))
        return best

    def find_all(self, text: str) -> list[Hit]:
        """Every non-empty hit of every entry."""
        return [Hit(m.start(), m.end(), m.group(0)) for p in self._patterns for m in p.finditer(text) if m.group(0)]

    def __call__(self, text: str) -> bool:
        return any(p.search(text) for p in self._patterns)


class Lexicon:
    """A validated, compiled lexicon for one locale."""

    def __init__(self, data: LexiconFile, path: str = ""):
        self.data = data
        self.path = path
        self.locale = data.locale
        self.cues = {name: CueSet(getattr(data.cues, name)) for name in Cues.model_fields}
        self.cues.update({name: CueSet(getattr(data.process, name)) for name in ProcessCues.model_fields})
        self.meaning: dict[str, Exemplars] = {
            name: ex for name in Meaning.model_fields if (ex := getattr(data.meaning, name)) is not None
        }
        self.injection = CueSet(data.injection)
        self.forbidden = [CompiledRule(r, [r.pattern], r.except_) for r in data.forbidden]
        self.perfunctory = [CompiledRule(r, [r.pattern], r.except_) for r in data.perfunctory]
        self.blame = [CompiledRule(r, [r.pattern], r.except_) for r in data.blame]
        self.abuse = [CompiledRule(r, [r.pattern], r.except_) for r in data.abuse]
        self.over_promise = [CompiledRule(r, [r.pattern], r.except_) for r in data.over_promise]
        self.red_lines = [CompiledRule(r, r.patterns) for r in data.red_lines]
        self.anchors = [(a, compile_entry(a)) for a in data.anchors]

    def cue(self, name: str) -> CueSet:
        """The compiled cue list ``name`` (greeting, closing, … and the ``process`` lists)."""
        return self.cues[name]

    def injection_spans(self, text: str) -> list[tuple[int, int]]:
        """Spans of instruction-like text (each hit widened to its whole line)."""
        spans: list[tuple[int, int]] = []
        for p in self.injection._patterns:
            for m in p.finditer(text):
                lo = text.rfind("\n", 0, m.start()) + 1
                hi = text.find("\n", m.end())
                spans.append((lo, len(text) if hi < 0 else hi))
        return sorted(spans)


def load_lexicon(path: Path | str) -> Lexicon:
    """Read and validate one lexicon file.

    Raises:
        ValidationFailed: with every problem, each pointing at ``path:line:col``.
    """
    data, source = read_model(path, LexiconFile, "a lexicon is a mapping (locale:, cues:, forbidden: …)")
    return Lexicon(data, source)


def lexicon_for(rules_dir: Path, locale: str) -> Lexicon:
    """The lexicon for ``locale`` (``zh-CN`` or ``en``) from ``rules_dir``; English falls back to ``en``."""
    name = "en" if locale.lower().startswith("en") else "zh-CN"
    path = Path(rules_dir) / f"{name}.yaml"
    if not path.is_file():
        from simulator.errors import ConfigError

        raise ConfigError(f"no service-rule lexicon at {path} — set SIM_RULES_DIR to the folder with {name}.yaml")
    return load_lexicon(path)
