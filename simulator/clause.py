"""A text read for the fact check: clauses with their figures, concepts (and their polarity), entities and topics.

:mod:`simulator.facts` compares a reply's clauses with a fact's; this module only reads one text at a time, with
the vocabulary of ``facts.yaml`` (:mod:`simulator.factwords`). Figures come from :mod:`simulator.quantities`;
each keeps its shape — a point, a range, an upper bound ("7天内", "within 30 days", "up to $15") or a lower one
("满399", "over $75") — because a window and an amount inside a limit compare differently.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from simulator.factwords import FactWords
from simulator.quantities import quantities, to_digits
from simulator.text import CJK, CJK_RUN, normalise_text

_SEPARATOR = re.compile(r"[，,。！!？?；;\n]|\s/\s|\s[-–—]\s|(?<=[a-z0-9%)])\.(?=\s|$)|\.\s")
# An aside in brackets is a clause of its own; the words around it stay one clause
# ("直播间专属价（以及秒杀）不参与价保").
_ASIDE = re.compile(r"[（(【\[]([^（）()【】\[\]]*)[）)】\]]")
_QUESTION_END = re.compile(r"(吗|么|是否|多少|几[天次个号码])[呀呢啊哈~～]*$")
# 呢 ends a question only after a question word ("您穿多大的呢"), not a statement ("我在呢") or cloth (双面呢).
_QUESTION_NE = re.compile(
    r"(什么|哪|怎么|怎样|咋|多少|多大|多长|多久|多高|多重|几|谁|为什么|为啥|是不是|有没有|能不能|会不会|可不可以|要不要)"
    r".*(?<![面毛])呢[呀啊~～]*$"
)
# A sentence that opens with an auxiliary verb asks something even without "?" ("is it lined"); "what I can tell you
# is …" and ", which takes …" do not.
_EN_QUESTION = re.compile(r"^(is|are|do|does|did|can|could|will|would|should|shall)\b(?! (i|we) (can|could|do|say)\b)")
_SENTENCE_END = frozenset(".!?。！？\n")
_NUMBERISH = re.compile(
    r"[零〇一二两三四五六七八九十百千万半]|\d|\b(zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
    r"|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty"
    r"|ninety|hundred|thousand|million|billion|half|fortnight|an? (year|month|week|day|hour|minute))\b",
    re.I,
)
SIZE = re.compile(r"(?<![a-z0-9'])(x{0,3}[sml]|[2-5]xl|xxl|xxxl)(?![a-z0-9])")
WORD = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]")
NUM = re.compile(r"\d+(?:\.\d+)?")
_UPPER_BEFORE = re.compile(
    r"(≤|<=|<|不超过|不高于|最多|至多|最高|上限|封顶|up to|max\.?|maximum|at most|no more than|limit|within|in)"
    r"\s*(是|为|of|is|a maximum of)?\s*(约|大约|about|around)?\s*$",
    re.I,
)
_UPPER_AFTER = re.compile(r"^\s*(以内|以下|之内|内|封顶|or less|max)", re.I)
_LOWER_BEFORE = re.compile(r"(≥|>=|>|超过|高于|至少|最少|不低于|满|over|above|at least|more than|from)\s*$", re.I)
_LOWER_AFTER = re.compile(r"^\s*(以上|起|or more|\+)", re.I)
# A word list reads best as words.
EN_STOP = frozenset(
    """a an and are as at be been but by can could did do does for from get got had has have how i i'm i'll if
    in into is it it's its just me my of on or our so than that the their them then there these they this to
    was we we'll we're were what when where which who will with would you you'll you're your yours us very
    really also only all any some one here now let please thanks thank hi hello yes yep ok okay sure hey such""".split()  # noqa: SIM905
)
_ZH_STOP = frozenset(
    "的了吗呢啊吧呀哦嘛么哈啦呗嗯是我你他她它们这那在和与就都也还又很亲您可以能会要个有把被给让哒滴噢喔"
)
# Value families that compare with each other, and the factor to a common base: hours and days by 24; a workday
# compares with a day by its number (a reply saying "3–5 days" for "3–5 business days" is not wrong).
_COMPARE: dict[str, tuple[str, float]] = {"hour": ("time", 1.0), "day": ("time", 24.0), "workday": ("time", 24.0)}
DURATIONS = frozenset({"hour", "day", "workday", "month", "times"})
PREREQUISITE_UNITS = frozenset({"mm", "gram", "inch"})  # a fact's measurements the customer must give first
CODE = re.compile(r"(?<![A-Za-z])([A-Z]{1,3}-?[A-Z]?\d{2,4})(?![\d])")
_CLAUSE_CACHE_SIZE = 8192  # texts whose clauses are kept (customer messages are read again for later replies)
_WINDOW = 4  # units (Chinese characters or English words) a negation cue may sit before its concept


@dataclass(frozen=True)
class Value:
    """A number with its unit family, as a point, a range or a bound ("7天内" is an upper bound of 7 days)."""

    lo: float
    hi: float
    unit: str
    shape: str  # point | range | upper | lower
    written: str

    def compare_key(self) -> tuple[str, float]:
        return _COMPARE.get(self.unit, (self.unit, 1.0))

    def comparable(self, other: Value) -> bool:
        return self.compare_key()[0] == other.compare_key()[0]

    def scaled(self) -> tuple[float, float]:
        f = self.compare_key()[1]
        return self.lo * f, self.hi * f

    def agrees(self, fact: Value) -> bool:
        """Whether this (reply) value is consistent with a fact's value of a comparable unit."""
        lo, hi = self.scaled()
        flo, fhi = fact.scaled()

        def eq(a: float, b: float) -> bool:
            return abs(a - b) <= 1e-6 * max(1.0, abs(b))

        if fact.shape == "lower":  # "free over $75": only a threshold compares with it
            return self.shape != "lower" or eq(lo, flo)
        if self.shape == "upper":  # "within 5 days" names the window's end
            return eq(hi, fhi)
        if fact.shape == "upper":
            # A sum is not a claim about a money limit: inside it, it is allowed ("15元" within "¥20以内"); above it,
            # it is an authority question, not a wrong fact. A duration names the window itself.
            return (
                True
                if self.unit in ("yuan", "usd")
                else hi <= fhi + 1e-9
                if self.unit in ("pct", "times")
                else eq(hi, fhi)
            )
        return flo - 1e-9 <= lo and hi <= fhi + 1e-9


@dataclass(frozen=True)
class Echoes:
    """What the customer (or the order) already said: a reply repeating it claims nothing."""

    values: list[Value]
    bare: set[str]

    def repeats(self, v: Value) -> bool:
        """The same value and unit ("3 weeks" is not "3 years"), or a number she gave without a unit ("165")."""
        if any(
            v.comparable(e) and v.scaled() == e.scaled() and (v.shape == e.shape or v.shape in ("point", "range"))
            for e in self.values
        ):
            return True
        if v.unit in DURATIONS or v.shape in ("upper", "lower"):
            return False  # "70/30" said about a blend is not "30天内"; nobody gives a duration without its unit
        written = {fmt(x) for x in written_numbers(v)}
        return bool(written) and written <= self.bare

    def plain(self) -> set[str]:
        """Every number she said, as written."""
        return self.bare | {fmt(x) for e in self.values for x in written_numbers(e)}


@dataclass
class Clause:
    """One clause of a text, read once."""

    start: int
    end: int
    raw: str
    norm: str
    question: bool
    values: list[Value] = field(default_factory=list)
    bare: set[str] = field(default_factory=set)
    digits: str = ""
    stems: frozenset[str] = frozenset()
    terms: set[str] = field(default_factory=set)
    concepts: dict[str, set[str]] = field(default_factory=dict)  # concept -> {"+", "-", "~"}
    scope: frozenset[str] = frozenset()  # what the clause's concepts apply to (the return leg …); empty = anything
    entities: dict[str, set[str]] = field(default_factory=dict)  # kind -> values
    surface: dict[str, str] = field(default_factory=dict)  # entity value -> the words that named it
    anchors: dict[str, str] = field(default_factory=dict)  # what a window counts from (签收, 付款) -> its words
    leading: dict[str, set[str]] = field(default_factory=dict)  # kind -> values that open the clause
    sizes: set[str] = field(default_factory=set)
    ratings: dict[str, set[float]] = field(default_factory=dict)
    codes: set[str] = field(default_factory=set)
    size_context: bool = False
    memo: dict[tuple[str, ...], bool] = field(default_factory=dict, compare=False, repr=False)  # per-fact answers


class ClauseReader:
    """Reads texts into clauses with the fact-check vocabulary (cached per text; thread-safe).

    Args:
        words: The vocabulary (``facts.yaml``).
    """

    def __init__(self, words: FactWords):
        self.words = words
        self.stem = stemmer()
        self._cache: dict[str, tuple[Clause, ...]] = {}
        self._lock = threading.Lock()  # a server's checker reads replies from many request threads

    def clauses(self, text: str) -> list[Clause]:
        """The clauses of ``text`` with everything the check looks at (offsets are into ``text`` as written).

        Read once per text (a customer message is looked at again for every later reply); callers must not
        change the clauses they get.
        """
        found = self._cache.get(text)
        if found is None:
            found = tuple(self.read_clauses(text))
            with self._lock:
                if len(self._cache) >= _CLAUSE_CACHE_SIZE:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[text] = found
        return list(found)

    def read_clauses(self, text: str) -> list[Clause]:
        asides = [
            self._clause(m.start(1), m.end(1), m.group(1).strip(), "", True)
            for m in _ASIDE.finditer(text)
            if m.group(1).strip()
        ]
        main = _ASIDE.sub(lambda m: " " * len(m.group(0)), text)  # same length: offsets stay valid
        return sorted(self._split(main) + asides, key=lambda c: c.start)

    def _split(self, text: str) -> list[Clause]:
        out: list[Clause] = []
        pos = 0
        opens = True  # the clause starts a sentence
        for m in [*_SEPARATOR.finditer(text), None]:
            end = m.start() if m is not None else len(text)
            sep = m.group(0) if m is not None else ""
            raw = text[pos:end]
            if raw.strip():
                lead = len(raw) - len(raw.lstrip())
                c = self._clause(pos + lead, end - (len(raw) - len(raw.rstrip())), raw.strip(), sep, opens)
                if not opens and out:
                    self._carry(out[-1], c)
                out.append(c)
                opens = bool(set(sep) & _SENTENCE_END)
            pos = m.end() if m is not None else len(text)
        return out

    def _carry(self, before: Clause, c: Clause) -> None:
        """A clause that names no subject of its own continues the sentence's: "增值税专用发票需要完整信息，3个工作日
        开出" — the 3 workdays are the special invoice's."""
        for kind in self.words.entities:
            if kind.role == "subject" and kind.kind in before.entities and kind.kind not in c.entities:
                c.entities[kind.kind] = set(before.entities[kind.kind])
                c.terms |= {f"#{kind.kind}:{v}" for v in before.entities[kind.kind]}
        if before.codes and not c.codes:
            c.codes = set(before.codes)

    def _clause(self, start: int, end: int, raw: str, sep: str, opens: bool = True) -> Clause:
        norm = normalise_text(raw).replace("’", "'")
        # Writing numbers out in digits is the costly part of reading a clause: only for clauses that may hold one.
        digits = to_digits(norm) if _NUMBERISH.search(norm) else norm
        question = (
            sep.strip() in ("?", "？")
            or bool(_QUESTION_END.search(norm) or _QUESTION_NE.search(norm))
            or (opens and bool(_EN_QUESTION.match(norm)))
        )
        c = Clause(start, end, raw, norm, question, digits=digits)
        c.stems = frozenset(self.stem(x) for x in WORD.findall(norm))
        spans = []
        for q in quantities(digits):
            if digits[max(0, q.start - 1) : q.start] == "第":
                continue  # 第二天 is "the next day", not two days
            before, after = digits[max(0, q.start - 6) : q.start], digits[q.end : q.end + 4]
            shape = "range" if q.hi > q.lo else "point"
            if _UPPER_BEFORE.search(before) or _UPPER_AFTER.match(after):
                shape = "upper"
            elif _LOWER_BEFORE.search(before) or _LOWER_AFTER.match(after):
                shape = "lower"
            c.values.append(Value(q.lo, q.hi, q.unit, shape, q.number))
            spans.append((q.start, q.end))
        if self.words.many is not None:
            for m in self.words.many.finditer(digits):
                c.values.append(Value(2.0, float("inf"), "times", "range", m.group(0)))
        for days, words in self.words.relative_days:
            for hit in words.find(norm):
                c.values.append(Value(float(days), float(days), "day", "point", norm[hit[0] : hit[1]]))
        rest = blank(digits, spans)
        c.bare = set(NUM.findall(SIZE.sub(" ", rest)))
        w = self.words
        if w.ratings is not None:
            for m in w.ratings.finditer(norm):
                c.ratings.setdefault(m.group(1).lower(), set()).add(float(m.group(2)))
            rest = w.ratings.sub(" ", rest)
            c.bare -= {m.group(2) for m in w.ratings.finditer(norm)}
        c.codes = {x for x in CODE.findall(raw) if not (w.ratings and w.ratings.match(x))}
        c.sizes = {m.group(1) for m in SIZE.finditer(norm)}
        c.size_context = bool(w.size_words(norm))
        if w.scope_gate(norm):
            c.scope = frozenset().union(*(covers for _sid, words, covers in w.scopes if words(norm)))
        named = self._polarity(c)
        for kind in w.entities if w.entity_gate(norm) else ():
            for vid, words in kind.values:
                hits = words.find(norm)
                if hits:
                    c.entities.setdefault(kind.kind, set()).add(vid)
                    c.surface.setdefault(vid, raw_of(raw, norm, hits[0]))
                    named += hits
                    if units(norm[: hits[0][0]]) <= 2:
                        c.leading.setdefault(kind.kind, set()).add(vid)
        # A concept or entity counts once, as itself: its words do not also count as shared wording.
        topical = w.topic_gate(norm)
        plain = norm
        for s, e in named:
            surface = norm[s:e]
            plain = plain.replace(surface, " " * len(surface))
            rest = rest.replace(surface, " " * len(surface))
        c.terms = (
            self._terms(rest)
            | {"@" + k for k in c.concepts}
            | {f"#{k}:{v}" for k, vs in c.entities.items() for v in vs}
            | (
                {("&" if anchor else "%") + tid for tid, words, anchor in w.topics if words(plain)}
                if topical
                else set()
            )
        )
        for tid, words, anchor in w.topics if topical else ():
            hits = words.find(norm) if anchor else []
            if hits:
                c.anchors[tid] = raw_of(raw, norm, hits[0])
        return c

    def _terms(self, text: str) -> set[str]:
        """Topic words: Chinese character pairs without filler characters, English word stems."""
        out: set[str] = set()
        for run in CJK_RUN.findall(text):
            for i in range(len(run) - 1):
                pair = run[i : i + 2]
                if not (pair[0] in _ZH_STOP or pair[1] in _ZH_STOP):
                    out.add(pair)
        for word in WORD.findall(text):
            if len(word) > 2 and word not in EN_STOP:
                out.add(self.stem(word))
        return out

    def _polarity(self, c: Clause) -> list[tuple[int, int]]:
        """Each concept in the clause with its polarity: + asserted, − denied, ~ hedged; returns where they are."""
        w = self.words
        text = c.norm
        found: list[tuple[int, int, str, int]] = []  # start, end, concept, sign
        for concept in w.concepts if w.concept_gate(text) else ():
            found += [(s, e, concept.id, 1) for s, e in concept.words.find(text)]
            found += [(s, e, concept.id, -1) for s, e in concept.opposite.find(text)]
        if (
            w.charge_concept
            and not w.charge_except(text)
            and any(v.unit in ("yuan", "usd") and v.hi > 0 for v in c.values)
        ):
            hits = w.charge_subjects.find(text)
            if hits:
                found.append((hits[0][0], hits[0][1], w.charge_concept, -1))
        if not found:
            return []
        found.sort()
        taken = _spans(w.not_negation.find(text)) | {i for s, e, _, _ in found for i in range(s, e)}
        cues = _merge(
            [(s, e, "f") for s, e in w.negation.find(text)]
            + [(s, e, "a") for s, e in w.negation_after.find(text)]
            + [(s, e, "h") for s, e in w.hedges.find(text)]
        )
        flips = [0] * len(found)
        hedged = [False] * len(found)
        if w.warnings is not None:
            # "挂晾会拉长变形", "the dryer will shrink it": a warning against the concept before the harm, and the
            # harm itself is only conditional.
            for m in w.warnings.finditer(text):
                before = [
                    k for k, f in enumerate(found) if f[1] <= m.start() and units(text[f[1] : m.start()]) <= _WINDOW
                ]
                if not before:
                    continue  # "不会起球" is a claim about pilling, not a warning against something
                flips[before[-1]] += 1
                for k, f in enumerate(found):
                    if f[0] < m.end() and f[1] > m.start(2):
                        hedged[k] = True
        for s, e, how in cues:
            if any(i in taken for i in range(s, e)):
                continue
            after = [k for k, f in enumerate(found) if f[0] >= e and units(text[e : f[0]]) <= _WINDOW]
            if after:
                k = after[0]
            elif how == "a":
                before = [k for k, f in enumerate(found) if f[1] <= s and units(text[f[1] : s]) <= _WINDOW]
                if not before:
                    continue
                k = before[-1]
            else:
                continue
            if how == "h":
                hedged[k] = True
            else:
                flips[k] += 1
        for k, (_s, _e, cid, sign) in enumerate(found):
            mark = "~" if hedged[k] else "+" if sign * (-1) ** flips[k] > 0 else "-"
            c.concepts.setdefault(cid, set()).add(mark)
        return [(s, e) for s, e, _, _ in found]


def raw_of(raw: str, norm: str, hit: tuple[int, int]) -> str:
    """The words as written for a hit in the normalised text (the same slice when folding kept the length)."""
    return raw[hit[0] : hit[1]] if len(raw) == len(norm) else norm[hit[0] : hit[1]]


def units(text: str) -> int:
    """Chinese characters plus English words and numbers: the distance a negation may reach over."""
    return len(CJK.findall(text)) + len(re.findall(r"[a-z0-9]+", text))


def _spans(hits: list[tuple[int, int]]) -> set[int]:
    return {i for s, e in hits for i in range(s, e)}


def _merge(cues: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Overlapping cue hits become one (the longest)."""
    out: list[tuple[int, int, str]] = []
    for s, e, how in sorted(cues, key=lambda x: (x[0], -(x[1] - x[0]))):
        if out and s < out[-1][1]:
            continue
        out.append((s, e, how))
    return out


def blank(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for s, e in spans:
        for i in range(s, min(e, len(chars))):
            chars[i] = " "
    return "".join(chars)


def fmt(v: float) -> str:
    return str(int(v)) if v == int(v) else f"{v:g}"


def written_numbers(v: Value) -> list[float]:
    return [float(x) for x in NUM.findall(v.written)]


def raw_number(v: Value) -> float:
    nums = written_numbers(v)
    return nums[0] if nums else v.lo


def stemmer() -> Callable[[str], str]:
    try:
        import Stemmer

        stem = Stemmer.Stemmer("english").stemWord
    except ImportError:  # stemming helps, it is not required
        return lambda w: w
    return lambda w: stem(w)
