"""The customer's reaction: how satisfied the customer was, message by message, read from their own words.

The criteria judge what the agent did; the customer's reaction is the other half of the evidence. Each customer
message gets a satisfaction estimate on the customer's scale (−2 furious … +2 delighted) from the cues it shows —
anger, a threat to complain (差评, 投诉, 12315), sarcasm, urgency, a problem still unresolved, the same question
asked again, leaving (算了), thanks, acceptance (可以了, ok thanks), praise — each with the words that showed it.
The conversation gets a final state, a trend and one satisfaction figure that the overall score blends in
(:class:`~simulator.grading.result.Grade`).

In a practice session the simulated customer's outcome (bought, left, bad review …) and mood are known; they are
the strongest evidence and outweigh the words.

The cue vocabulary is ``reaction.yaml`` in the rules folder (both languages in one file), hand-written from
service-desk experience. Deterministic and fast: a few compiled patterns per message.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from simulator.errors import ConfigError
from simulator.grading.lexicon import check_entries
from simulator.scenario.vocabulary import Outcome
from simulator.scenario.yamlsource import read_model
from simulator.text import char_bigrams, dice, has_cjk, normalise_text
from simulator.transcript import Transcript

FILE_NAME = "reaction.yaml"
SHIPPED = Path(__file__).resolve().parent.parent.parent / "scenarios" / "rules" / FILE_NAME

SCALE = 2.0
"""The satisfaction scale runs from −SCALE (furious) to +SCALE (delighted); 0 is neutral."""

# Cue kinds in the order they claim words: a word read as sarcasm ("oh great") is not read again as acceptance.
KINDS: tuple[str, ...] = (
    "complaint",
    "sarcasm",
    "leaving",
    "unresolved",
    "anger",
    "urgency",
    "doubt",
    "praise",
    "thanks",
    "acceptance",
)
REPEATED = "repeated"
NEGATIVE_KINDS = frozenset({"complaint", "sarcasm", "leaving", "unresolved", "anger", "urgency", "doubt", REPEATED})
# Acceptance in a question ("可以了吗？", "ok?") accepts nothing yet.
QUESTION = re.compile(r"[?？吗]")
# A repeated message is a repeated question only when it asks something; links, ids, bracketed placeholders and
# figures (a pasted order card, a product link) are left out before comparing.
ASKING = re.compile(
    r"[?？吗呢]|怎么|什么|为什么|为啥|多久|多少|哪|能不能|可不可以|有没有|是不是|几时|何时"
    r"|\b(why|how|what|when|where|which|can|could|will|is|are|do|does)\b",
    re.IGNORECASE,
)
PASTED = re.compile(r"https?://\S+|\[[^\]]*\]|[0-9a-z_:/.\-]{6,}|\d+", re.IGNORECASE)
NEGATION_WINDOW = 3  # characters before a Chinese hit that a negation may sit in (English: two words)

# How the conversation's figure is made from its messages (weights tuned on the tune split of the real-chat sets,
# bench/real_chats.py; the figures are flat around them). The customer's opening message states the problem — its
# anger is about the goods, not yet about the agent — so it counts little; what the customer says after the agent
# has answered is the reaction to the service: every negative cue there counts, the end counts again (how the
# customer left), and a long last message means the customer is still explaining or arguing.
END_WEIGHT = 0.5  # the last message with any cue, among the last END_WINDOW messages
END_WINDOW = 2
REACTION_NEGATIVE_WEIGHT = 0.5  # the negative cues of the messages after the first reply, summed
OPENING_NEGATIVE_WEIGHT = 0.2  # the negative cues of the opening (before any reply), summed
POSITIVE_WEIGHT = 0.2  # the positive cues of the messages after the first reply, summed
LONG_LAST_WEIGHT = 0.2  # per e-fold of the last message's length against a short one (TYPICAL_LAST characters)
TYPICAL_LAST = 10
# In a practice session: the simulated customer's mood and outcome against the words.
SIMULATION_WEIGHT = 0.7
SATURATION = 2.0  # a raw figure of ±2 reaches three quarters of the scale

OUTCOME_SATISFACTION: dict[str, float] = {
    Outcome.BOUGHT.value: 1.5,
    Outcome.RESOLVED.value: 1.5,
    Outcome.INFORMED.value: 1.0,
    Outcome.ESCALATED.value: -0.5,
    Outcome.LEFT.value: -1.5,
    Outcome.BAD_REVIEW.value: -2.0,
    Outcome.ABANDONED.value: -1.0,
    Outcome.TIMED_OUT.value: -1.0,
}
"""What each end of a practice session says about the customer's satisfaction."""

# The reaction's share of the overall score. For a real chat (no scenario) tuned on the real-chat sets' tune split
# (bench/real_chats.py --sweep: 0.8 and 0.9 are equally good, below 0.7 agreement falls) — raters judge a real
# conversation by how the customer fared, and the criteria alone barely predict it. With a scenario its criteria
# carry the substance and the reaction only nudges.
REAL_CHAT_SHARE = 0.8
SCENARIO_SHARE = 0.1
NEUTRAL_SCORE = 80.0  # the reaction's score for a customer neither pleased nor displeased: good service still passes

# The final state, from the conversation's figure and the last messages.
SATISFIED_FROM = 0.5
DISSATISFIED_BELOW = -0.5
ANGRY_BELOW = -1.25
TREND_STEP = 0.5  # a rise or fall smaller than this is steady

Entry = Annotated[str, Field(min_length=1, max_length=300)]


def _compile(entry: str) -> str:
    """One entry as a pattern body: ``re:`` regular expression, else a literal; ASCII words match whole words."""
    if entry.startswith("re:"):
        return entry[3:]
    body = re.escape(entry)
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9' -]*", entry):
        body = rf"(?<![a-z0-9]){body}(?![a-z0-9])"
    return body


class CueWords(BaseModel):
    """One kind of cue: its words and what it says about satisfaction."""

    model_config = ConfigDict(extra="forbid")

    weight: float = Field(ge=-SCALE, le=SCALE, description="Satisfaction it adds, −2 … +2 (anger −1.25, thanks +1).")
    words: list[Entry] = Field(min_length=1, description="Words or re: patterns that show it (生气, 投诉, thanks).")

    _check = field_validator("words")(check_entries)


class RepeatedQuestion(BaseModel):
    """The same question asked again after an answer."""

    model_config = ConfigDict(extra="forbid")

    weight: float = Field(ge=-SCALE, le=0, description="Satisfaction it adds (negative).")
    similarity: float = Field(gt=0, le=1, description="Dice overlap of character pairs / words that makes it the same.")
    min_chars: int = Field(ge=1, description="Shorter messages (好的, 在吗) are never a repeated question.")


class ReactionFile(BaseModel):
    """``reaction.yaml`` as written."""

    model_config = ConfigDict(extra="forbid")

    negation: list[Entry] = Field(description="Words that cancel a cue right after them (不生气, not angry).")
    cues: dict[str, CueWords] = Field(description="Cue kinds: " + ", ".join(KINDS) + ".")
    repeated: RepeatedQuestion = Field(description="How a repeated question is recognised.")

    _check = field_validator("negation")(check_entries)

    @field_validator("cues")
    @classmethod
    def _known_kinds(cls, cues: dict[str, CueWords]) -> dict[str, CueWords]:
        unknown = sorted(set(cues) - set(KINDS))
        missing = [k for k in KINDS if k not in cues]
        problems = [f"unknown cue kind(s): {', '.join(unknown)}"] if unknown else []
        problems += [f"missing cue kind(s): {', '.join(missing)}"] if missing else []
        if problems:
            raise ValueError("; ".join(problems) + f" — the kinds are {', '.join(KINDS)}")
        return cues


@dataclass(frozen=True)
class CueHit:
    """A cue in a customer message: its kind, the customer's words that showed it, and its weight."""

    kind: str
    words: str
    weight: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {"kind": self.kind, "words": self.words, "weight": self.weight}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CueHit:
        """The inverse of :meth:`to_dict`."""
        return cls(str(data["kind"]), str(data.get("words", "")), float(data.get("weight", 0.0)))


@dataclass
class MessageReaction:
    """One customer message: its satisfaction estimate (−2 … +2) and the cues behind it."""

    turn: int
    satisfaction: float
    cues: list[CueHit] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {"turn": self.turn, "satisfaction": self.satisfaction, "cues": [c.to_dict() for c in self.cues]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MessageReaction:
        """The inverse of :meth:`to_dict`."""
        return cls(int(data["turn"]), float(data["satisfaction"]), [CueHit.from_dict(c) for c in data.get("cues", [])])


@dataclass
class Reaction:
    """The customer's reaction over a conversation.

    Attributes:
        messages: One estimate per customer message, in order.
        satisfaction: The conversation's figure, −2 … +2 (what the overall score blends in).
        final: Where the customer ended, −2 … +2.
        trend: ``rising``, ``falling`` or ``steady`` (the end against the start).
        state: ``satisfied``, ``neutral``, ``dissatisfied`` or ``angry`` — how the customer left.
        complained: The customer threatened a complaint or a bad review at the end (or the session ended in one).
        outcome: The practice session's outcome when known (bought, left, bad-review …).
        mood: The simulated customer's last mood level (−3 … +2) when known.
    """

    messages: list[MessageReaction]
    satisfaction: float
    final: float
    trend: str
    state: str
    complained: bool = False
    outcome: str | None = None
    mood: int | None = None

    @property
    def score(self) -> float:
        """The reaction as a score the overall blends in: neutral 80 (a customer who says nothing either way is no
        evidence against the agent), delighted 100, furious 0 — losing a customer weighs more than pleasing one."""
        room = 100 - NEUTRAL_SCORE if self.satisfaction >= 0 else NEUTRAL_SCORE
        return round(NEUTRAL_SCORE + room / SCALE * self.satisfaction, 1)

    @property
    def left_unhappy(self) -> bool:
        """The customer left angry or complaining — with rude or curt service, the attempt cannot pass."""
        return self.state == "angry" or self.complained

    @property
    def simulated(self) -> bool:
        """True when the simulated customer's outcome or mood was part of the evidence."""
        return self.outcome is not None or self.mood is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "satisfaction": self.satisfaction,
            "final": self.final,
            "trend": self.trend,
            "state": self.state,
            "complained": self.complained,
            "outcome": self.outcome,
            "mood": self.mood,
            "messages": [m.to_dict() for m in self.messages],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reaction:
        """The inverse of :meth:`to_dict`."""
        mood = data.get("mood")
        return cls(
            messages=[MessageReaction.from_dict(m) for m in data.get("messages", [])],
            satisfaction=float(data["satisfaction"]),
            final=float(data.get("final", data["satisfaction"])),
            trend=str(data.get("trend", "steady")),
            state=str(data.get("state", "neutral")),
            complained=bool(data.get("complained", False)),
            outcome=data.get("outcome"),
            mood=None if mood is None else int(mood),
        )


def _clamp(x: float) -> float:
    return max(-SCALE, min(SCALE, x))


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text) if len(w) >= 3}


class ReactionReader:
    """Reads the customer's messages of a transcript into a :class:`Reaction` (``reaction.yaml``'s cues)."""

    def __init__(self, data: ReactionFile, path: str = FILE_NAME):
        self.data = data
        self.path = path
        flags = re.IGNORECASE
        self._kinds = [
            (kind, data.cues[kind].weight, re.compile("|".join(_compile(w) for w in data.cues[kind].words), flags))
            for kind in KINDS
        ]
        negation = "|".join(_compile(w) for w in data.negation)
        self._negation = re.compile(negation, flags)
        self._negation_en = re.compile(rf"(?:^|\W)(?:{negation})\W+(?:\w+\W+)?$", flags)

    def _negated(self, text: str, start: int) -> bool:
        before = text[max(0, start - 16) : start]
        if has_cjk(text[start : start + 1]) or not before[-1:].isspace():
            return self._negation.search(before[-NEGATION_WINDOW:]) is not None
        return self._negation_en.search(" " + before) is not None

    def cues(self, text: str) -> list[CueHit]:
        """The cues of one message (each kind once, with the first words that showed it), before repetition."""
        folded = normalise_text(text)
        taken: list[tuple[int, int]] = []
        out: list[CueHit] = []
        for kind, weight, pattern in self._kinds:
            if kind == "acceptance" and QUESTION.search(folded):
                continue
            for m in pattern.finditer(folded):
                lo, hi = m.span()
                if hi <= lo or any(lo < b and a < hi for a, b in taken) or self._negated(folded, lo):
                    continue
                taken.append((lo, hi))
                if not any(c.kind == kind for c in out):
                    out.append(CueHit(kind, text[lo:hi] if len(text) == len(folded) else m.group(0), weight))
        return out

    def _same_question(self, a: str, b: str) -> bool:
        rule = self.data.repeated
        fa, fb = (PASTED.sub(" ", normalise_text(x)).strip() for x in (a, b))
        if len(fa) < rule.min_chars or len(fb) < rule.min_chars or not ASKING.search(fa):
            return False
        if has_cjk(fa) or has_cjk(fb):
            return dice(char_bigrams(fa), char_bigrams(fb)) >= rule.similarity
        return dice(_words(fa), _words(fb)) >= rule.similarity

    def read(self, transcript: Transcript) -> Reaction:
        """The customer's reaction over the transcript. In a simulation the customer's mood on each of its turns and
        the session's outcome are known: they outweigh the words."""
        messages: list[MessageReaction] = []
        mood: int | None = None
        asked: list[tuple[str, int]] = []  # earlier customer messages, with the number of agent replies before
        replies = 0
        for i, t in enumerate(transcript.turns):
            if t.role != "customer":
                replies += 1
                continue
            hits = self.cues(t.text)
            if any(r < replies and self._same_question(t.text, q) for q, r in asked):
                hits.append(CueHit(REPEATED, t.text.strip()[:40], self.data.repeated.weight))
            asked.append((t.text, replies))
            estimate = _clamp(sum(h.weight for h in hits))
            if t.mood is not None:
                mood = t.mood.level
                estimate = SIMULATION_WEIGHT * _clamp(float(mood)) + (1 - SIMULATION_WEIGHT) * estimate
            messages.append(MessageReaction(i, round(estimate, 2), hits))
        first_reply = next((i for i, t in enumerate(transcript.turns) if t.role != "customer"), len(transcript.turns))
        opening = sum(1 for m in messages if m.turn < first_reply)
        said = [t.text for t in transcript.turns if t.role == "customer"]
        return self._summarise(messages, opening, len(said[-1].strip()) if said else 0, transcript.outcome, mood)

    def _summarise(
        self, messages: list[MessageReaction], opening: int, last_chars: int, outcome: str | None, mood: int | None
    ) -> Reaction:
        """The conversation's figure, final state and trend; ``opening`` is the number of messages before the first
        reply."""
        reactions = messages[opening:]
        tail = messages[-END_WINDOW:]
        cued = [m for m in tail if m.cues]
        end = (cued[-1] if cued else tail[-1]).satisfaction if tail else 0.0

        def load(ms: list[MessageReaction], sign: int) -> float:
            return sum(c.weight for m in ms for c in m.cues if c.weight * sign > 0)

        raw = (
            END_WEIGHT * end
            + REACTION_NEGATIVE_WEIGHT * load(reactions, -1)
            + OPENING_NEGATIVE_WEIGHT * load(messages[:opening], -1)
            + POSITIVE_WEIGHT * load(reactions, 1)
            - LONG_LAST_WEIGHT * (math.log1p(last_chars) - math.log1p(TYPICAL_LAST))
        )
        satisfaction = SCALE * math.tanh(raw / SATURATION)  # saturates smoothly: no ties at the ends of the scale
        final = end
        tail_kinds = {c.kind for m in tail for c in m.cues}
        complained = "complaint" in tail_kinds or (mood is not None and outcome == Outcome.BAD_REVIEW.value)
        # The outcome is the simulated customer's decision; an imported real chat's (a conversion flag) is not a mood.
        decided = OUTCOME_SATISFACTION.get(outcome or "") if mood is not None else None
        known = decided is not None
        simulated = [v for v in (decided, _mood(mood)) if v is not None]
        if simulated:
            sim = sum(simulated) / len(simulated)
            satisfaction = SIMULATION_WEIGHT * sim + (1 - SIMULATION_WEIGHT) * satisfaction
            final = SIMULATION_WEIGHT * sim + (1 - SIMULATION_WEIGHT) * final
        start = messages[0].satisfaction if messages else 0.0
        trend = "steady"
        if final - start >= TREND_STEP:
            trend = "rising"
        elif start - final >= TREND_STEP:
            trend = "falling"
        if final <= ANGRY_BELOW or (complained and final < 0):
            state = "angry"
        elif satisfaction < DISSATISFIED_BELOW or final < DISSATISFIED_BELOW:
            state = "dissatisfied"
        elif satisfaction >= SATISFIED_FROM and final >= 0:
            state = "satisfied"
        else:
            state = "neutral"
        return Reaction(
            messages=messages,
            satisfaction=round(_clamp(satisfaction), 2),
            final=round(_clamp(final), 2),
            trend=trend,
            state=state,
            complained=complained,
            outcome=outcome if known else None,
            mood=mood,
        )


def _mood(level: int | None) -> float | None:
    return None if level is None else _clamp(float(level))


def load_reaction_words(path: Path | str) -> ReactionReader:
    """Read and validate a ``reaction.yaml``.

    Raises:
        ValidationFailed: with every problem, each pointing at ``path:line:col``.
    """
    data, source = read_model(path, ReactionFile, "reaction.yaml is a mapping (negation:, cues:, repeated:)")
    return ReactionReader(data, source)


@lru_cache(maxsize=8)
def _cached(path: str, mtime: float) -> ReactionReader:
    return load_reaction_words(path)


def reaction_reader_for(rules_dir: Path | None = None) -> ReactionReader:
    """The reader of ``reaction.yaml`` in ``rules_dir`` (reloaded when the file changes); the shipped one when the
    folder has none."""
    path = Path(rules_dir) / FILE_NAME if rules_dir is not None else SHIPPED
    if not path.is_file():
        path = SHIPPED
    if not path.is_file():
        raise ConfigError(f"no reaction vocabulary at {path} — restore scenarios/rules/{FILE_NAME}")
    return _cached(str(path), path.stat().st_mtime)
