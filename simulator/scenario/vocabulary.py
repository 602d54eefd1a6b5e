"""The named values scenario files use — categories, moods, acts, outcomes, dimensions … (the values are what
authors type in YAML, and what the engine, the grader and the pages share)."""

from __future__ import annotations

from enum import StrEnum

# ---------------------------------------------------------------------------------------------------------
# Enumerations (values are what authors type in YAML)


class Locale(StrEnum):
    """Language of the conversation."""

    ZH_CN = "zh-CN"
    EN = "en"


class Category(StrEnum):
    """Kind of service situation."""

    PRE_SALES = "pre-sales"
    AFTER_SALES = "after-sales"
    COMPLAINT = "complaint"
    LOGISTICS = "logistics"
    BAD_REVIEW = "bad-review"


class ScriptCategory(StrEnum):
    """话术 categories a shop keeps reply scripts for."""

    PRODUCT = "product"
    SIZE = "size"
    BARGAINING = "bargaining"
    RETURNS_EXCHANGE = "returns-exchange"
    INVOICE = "invoice"
    REVIEW_CASHBACK = "review-cashback"
    MATCHING = "matching"
    LOGISTICS = "logistics"
    BAD_REVIEW = "bad-review"
    COMPLAINT = "complaint"
    AFTER_SALES = "after-sales"
    PAYMENT = "payment"
    GREETING = "greeting"


class Difficulty(StrEnum):
    """How hard the customer is to serve well."""

    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"
    EXPERT = "expert"


class Tier(StrEnum):
    """Knowledge tier: 必会 must know before going live, 掌握 needed daily, 了解 look up when needed."""

    MUST_KNOW = "必会"
    MASTER = "掌握"
    AWARE = "了解"


class AgeGroup(StrEnum):
    """Customer's age bracket (different ages need different handling)."""

    TEEN = "under-18"
    YOUNG = "18-24"
    ADULT = "25-34"
    MIDDLE = "35-49"
    SENIOR = "50-64"
    ELDER = "65+"


class Mood(StrEnum):
    """Customer mood, from furious to delighted. The engine tracks it as a level from -3 to +2."""

    FURIOUS = "furious"
    ANGRY = "angry"
    ANNOYED = "annoyed"
    NEUTRAL = "neutral"
    PLEASED = "pleased"
    DELIGHTED = "delighted"

    @property
    def level(self) -> int:
        """Numeric level: furious -3 … delighted +2."""
        return _MOOD_LEVELS[self]

    @classmethod
    def from_level(cls, level: int) -> Mood:
        """The mood for a numeric level, clamped to the range."""
        level = max(-3, min(2, level))
        return next(m for m, v in _MOOD_LEVELS.items() if v == level)


_MOOD_LEVELS: dict[Mood, int] = {
    Mood.FURIOUS: -3,
    Mood.ANGRY: -2,
    Mood.ANNOYED: -1,
    Mood.NEUTRAL: 0,
    Mood.PLEASED: 1,
    Mood.DELIGHTED: 2,
}


class Act(StrEnum):
    """What a trainee's reply does. The customer engine detects these (keywords + meaning) to pick beats;
    the grader uses the same vocabulary for process steps."""

    GREET = "greet"
    ASK = "ask"
    ANSWER = "answer"
    RECOMMEND = "recommend"
    EXPLAIN_PRODUCT = "explain-product"
    STATE_POLICY = "state-policy"
    OFFER_DISCOUNT = "offer-discount"
    OFFER_GIFT = "offer-gift"
    OFFER_COMPENSATION = "offer-compensation"
    OFFER_EXCHANGE = "offer-exchange"
    OFFER_RETURN = "offer-return"
    OFFER_REFUND = "offer-refund"
    REFUSE = "refuse"
    APOLOGISE = "apologise"
    EMPATHISE = "empathise"
    REASSURE = "reassure"
    PRAISE = "praise"
    VERIFY_ORDER = "verify-order"
    CHECK_LOGISTICS = "check-logistics"
    PROMISE_ACTION = "promise-action"
    ESCALATE = "escalate"
    URGE_PAYMENT = "urge-payment"
    CLOSE = "close"
    NOTE = "note"
    CURT = "curt"
    RUDE = "rude"
    BLAME = "blame"
    OVER_PROMISE = "over-promise"
    CASHBACK = "cashback"
    WRONG_INFO = "wrong-info"
    SLOW = "slow"
    ANY = "any"


class Outcome(StrEnum):
    """How a conversation ends."""

    BOUGHT = "bought"
    RESOLVED = "resolved"
    INFORMED = "informed"
    LEFT = "left"
    ESCALATED = "escalated"
    BAD_REVIEW = "bad-review"
    ABANDONED = "abandoned"
    TIMED_OUT = "timed-out"


class Dimension(StrEnum):
    """The four grade dimensions (problem attributes)."""

    SERVICE = "service"
    TECHNIQUE = "technique"
    KNOWLEDGE = "knowledge"
    PROCESS = "process"


class Technique(StrEnum):
    """Communication techniques a scenario expects."""

    NEEDS_DISCOVERY = "needs-discovery"
    FABE = "fabe"
    ASK_ANSWER_PRAISE_RECOMMEND = "ask-answer-praise-recommend"
    MATCHING = "matching"
    OBJECTION_HANDLING = "objection-handling"
    CLOSING = "closing"
    EMPATHY_SANDWICH = "empathy-sandwich"
    REASSURANCE = "reassurance"
    DE_ESCALATION = "de-escalation"
    EXPECTATION_SETTING = "expectation-setting"


class RedLineKind(StrEnum):
    """Kinds of red line: crossing one fails an exam regardless of points."""

    ABUSE = "abuse"
    FORBIDDEN_PHRASE = "forbidden-phrase"
    OVER_PROMISE = "over-promise"
    AUTHORITY = "authority"
    DATA_LEAK = "data-leak"
    CASHBACK = "cashback"
    INVENTED_FACT = "invented-fact"


class VariableKind(StrEnum):
    """How an exam randomises a variable."""

    CHOICE = "choice"
    INTEGER = "integer"
    DIGITS = "digits"
    DATE = "date"


class AuthorityLimit(StrEnum):
    """An agent's authority limit a randomised amount is checked against (a field of ``expectations.authority``)."""

    DISCOUNT = "max_discount_yuan"
    COMPENSATION = "max_compensation_yuan"
    REFUND = "max_refund_yuan"


class AuthoritySide(StrEnum):
    """Which side of the authority limit a randomised amount must fall on."""

    WITHIN = "within"
    ABOVE = "above"
