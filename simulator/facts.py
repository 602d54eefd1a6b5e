"""One fact check for the simulated customer and the grader: what does a reply say about a scenario's facts?

For each required fact a reply is read clause by clause (split at punctuation) and the fact is **stated**,
**contradicted** or left alone (**silent**), with the clause as evidence:

* **Topic.** A clause is about a fact when it carries one of the fact's keywords (whole words for English, so
  ``hi`` never matches inside "within"; a keyword of several words also matches with its words in another order
  or with words between), or shares topic words with the fact's statement (Chinese character pairs, English word
  stems, concepts and entities from ``facts.yaml``). A whole reply also states a fact when it is close in meaning
  to the statement (embedder cosine when there is one, character-pair overlap without).
* **Numbers** are read by value and unit (:mod:`simulator.quantities`: 三个工作日 = 3 workdays, a week = 7 days,
  一天之内 = 24 hours, "two-year" = 24 months). A number contradicts a fact only when it has a comparable unit
  (days and workdays; hours and days), sits in a clause on the fact's topic, and agrees with no value any fact
  gives that clause's topic; a count (一次) is never a duration; numbers the customer said are echoes.
* **Polarity.** Concepts (机洗, pilling, a lining, who pays the postage …) are read with the negation cues of
  both languages: "整件丢洗衣机洗就行" asserts machine washing, "不可机洗" denies it. A clause that asserts what
  every fact denies (or the reverse) contradicts the fact whose wording it shares most. Hedges (不太会, rarely)
  are neither.
* **Entities** must match: a subject kind (invoice type, product code) in the clause that differs from the fact's
  means the clause is about something else; an attribute (material, courier, shipping service) that differs on the
  fact's topic is a wrong fact. A fact matched by meaning alone must name its subject ("VAT" does not earn a
  special-VAT-invoice fact). Sizes (S/M/L) and rated labels (UPF50+) must match too.

The customer (``ActDetector.wrong_facts``) and the grader (``KnowledgeScorer``) both call :meth:`FactChecker.read`,
so the customer reacts to exactly the wrong facts the grader marks.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from simulator.factwords import FactWords, fact_words_for
from simulator.quantities import plain_numbers, quantities, to_digits
from simulator.scenario.base import VAR_RE
from simulator.scenario.expectations import RequiredFact
from simulator.text import CJK, CJK_RUN, char_bigrams, dice, normalise_text

Similarity = Callable[[str, str], float]

_SEPARATOR = re.compile(r"[，,。！!？?；;\n（）()【】]|\s/\s|\s[-–—]\s|(?<=[a-z0-9%)])\.(?=\s|$)|\.\s")
_QUESTION_END = re.compile(r"(吗|么|呢|是否|多少|几[天次个号码])[呀呢啊哈~～]*$")
# A sentence that opens with an auxiliary verb asks something even without "?" ("is it lined"); "what I can tell you
# is …" and ", which takes …" do not.
_EN_QUESTION = re.compile(r"^(is|are|do|does|did|can|could|will|would|should|shall)\b(?! (i|we) (can|could|do|say)\b)")
_SENTENCE_END = frozenset(".!?。！？\n")
_LOOKAROUND = re.compile(r"\(\?<?[!=][^)]*\)")
_REGEX_META = re.compile(r"[\\\[\](){}|.*+?^$]")
_FILLER = re.compile(r"[会是的都能了也就可以呢哦啊呀啦亲\s,，。!！~～]|\b(it|they|is|are|will|be|all|the)\b", re.I)
_SIZE = re.compile(r"(?<![a-z0-9'])(x{0,3}[sml]|[2-5]xl|xxl|xxxl)(?![a-z0-9])")
_CODE = re.compile(r"(?<![A-Za-z])([A-Z]{1,3}-?[A-Z]?\d{2,4})(?![\d])")
_WORD = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]")
_NUM = re.compile(r"\d+(?:\.\d+)?")
_UPPER_BEFORE = re.compile(
    r"(≤|<=|<|不超过|不高于|最多|至多|最高|上限|封顶|up to|max\.?|maximum|at most|no more than|limit|within|in)"
    r"\s*(是|为|of|is|a maximum of)?\s*(约|大约|about|around)?\s*$",
    re.I,
)
_UPPER_AFTER = re.compile(r"^\s*(以内|以下|之内|内|封顶|or less|max)", re.I)
_LOWER_BEFORE = re.compile(r"(≥|>=|>|超过|高于|至少|最少|不低于|满|over|above|at least|more than|from)\s*$", re.I)
_LOWER_AFTER = re.compile(r"^\s*(以上|起|or more|\+)", re.I)
_EN_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "get",
        "got",
        "had",
        "has",
        "have",
        "how",
        "i",
        "i'm",
        "i'll",
        "if",
        "in",
        "into",
        "is",
        "it",
        "it's",
        "its",
        "just",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "we",
        "we'll",
        "we're",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "will",
        "with",
        "would",
        "you",
        "you'll",
        "you're",
        "your",
        "yours",
        "us",
        "very",
        "really",
        "also",
        "only",
        "all",
        "any",
        "some",
        "one",
        "here",
        "now",
        "let",
        "please",
        "thanks",
        "thank",
        "hi",
        "hello",
        "yes",
        "yep",
        "ok",
        "okay",
        "sure",
        "hey",
    ]
)
_ZH_STOP = frozenset(
    "的了吗呢啊吧呀哦嘛么哈啦呗嗯是我你他她它们这那在和与就都也还又很亲您可以能会要个有把被给让哒滴噢喔"
)
# Value families that compare with each other, and the factor to a common base: hours and days by 24; a workday
# compares with a day by its number (a reply saying "3–5 days" for "3–5 business days" is not wrong).
_COMPARE: dict[str, tuple[str, float]] = {"hour": ("time", 1.0), "day": ("time", 24.0), "workday": ("time", 24.0)}
_DURATIONS = frozenset({"hour", "day", "workday", "month", "times"})
_PREREQUISITE_UNITS = frozenset({"mm", "gram", "inch"})  # a fact's measurements the customer must give first
COVER_MIN = 3  # shared topic weight for a clause to state a fact clause in other words
COVER_SHARE = 0.5  # … and the share of the fact clause's topic weight it must carry
_CACHE_SIZE = 256  # compiled fact sets kept (one per scenario and variable draw)
_CLAUSE_CACHE_SIZE = 8192  # texts whose clauses are kept (customer messages are read again for later replies)
_WINDOW = 4  # units (Chinese characters or English words) a negation cue may sit before its concept


class Verdict(StrEnum):
    """What a reply does with a fact."""

    STATED = "stated"
    CONTRADICTED = "contradicted"
    SILENT = "silent"


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
        if v.unit in _DURATIONS or v.shape in ("upper", "lower"):
            return False  # "70/30" said about a blend is not "30天内"; nobody gives a duration without its unit
        written = {_fmt(x) for x in _written_numbers(v)}
        return bool(written) and written <= self.bare

    def plain(self) -> set[str]:
        """Every number she said, as written."""
        return self.bare | {_fmt(x) for e in self.values for x in _written_numbers(e)}


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


@dataclass(frozen=True)
class Fact:
    """A required fact, compiled for reading (see :meth:`FactChecker.compile`)."""

    id: str
    statement: str
    keywords: tuple[str, ...]
    numbers: tuple[str, ...]
    clauses: tuple[Clause, ...]
    typed: tuple[tuple[str, Value | None], ...]  # each number with the statement value it belongs to
    sizes: frozenset[str]
    inputs: frozenset[str]  # measurements the customer must have given before the fact can be judged
    codes: frozenset[str]
    terms: frozenset[str]
    named: Mapping[str, frozenset[str]] = field(default_factory=dict)  # entity kind -> values the statement names
    matchers: tuple[tuple[re.Pattern[str] | None, str, tuple[str, ...]], ...] = ()  # compiled keywords
    wrong: tuple[tuple[re.Pattern[str] | None, str, tuple[str, ...]], ...] = ()  # compiled wrong answers

    def entities(self, kind: str) -> frozenset[str]:
        """The values of an entity kind the statement names."""
        return self.named.get(kind, frozenset())


@dataclass(frozen=True)
class Contradiction:
    """Where a reply contradicts a fact."""

    span: tuple[int, int]
    evidence: str
    said: str
    expected: str
    kind: str  # number | size | polarity | entity | rating


@dataclass(frozen=True)
class Reading:
    """What one reply says about one fact.

    Attributes:
        fact: The fact.
        on_topic: The reply talks about the fact (keyword, shared wording or meaning).
        span: The clause that states it, when a keyword or shared wording shows it.
        numbers: The fact's numbers the reply contains (by value and unit).
        contradiction: Set when the reply contradicts the fact.
    """

    fact: Fact
    on_topic: bool
    span: tuple[int, int] | None
    numbers: frozenset[str]
    contradiction: Contradiction | None = None

    @property
    def verdict(self) -> Verdict:
        if self.contradiction is not None:
            return Verdict.CONTRADICTED
        if self.on_topic and len(self.numbers) == len(self.fact.numbers):
            return Verdict.STATED
        return Verdict.SILENT


def substitute(text: str, variables: Mapping[str, str]) -> str:
    """Replace ``{name}`` with the variable's value; unknown names are left as they are."""
    if not variables or "{" not in text:
        return text
    return VAR_RE.sub(lambda m: variables.get(m.group(1), m.group(0)), text)


class FactChecker:
    """Reads replies against a scenario's required facts.

    Args:
        words: The vocabulary (``facts.yaml``); the one in ``rules_dir``, else the shipped one.
        meaning_threshold: Embedder cosine at or above which a reply states a fact in other words.
        lexical_threshold: The same as character-pair Dice, without an embedder.
    """

    def __init__(
        self,
        words: FactWords | None = None,
        *,
        meaning_threshold: float = 0.6,
        lexical_threshold: float = 0.5,
    ):
        self.words = words or fact_words_for()
        self.meaning_threshold = meaning_threshold
        self.lexical_threshold = lexical_threshold
        self._stem = _stemmer()
        self._cache: dict[tuple, tuple[Fact, ...]] = {}
        self._clause_cache: dict[str, tuple[Clause, ...]] = {}
        self._claims_cache: dict[str, frozenset[tuple[str, str]] | None] = {}
        self._lock = threading.Lock()  # a server's checker reads replies from many request threads

    # -- compiling --------------------------------------------------------------------------------------------

    def compile(self, facts: Sequence[RequiredFact], variables: Mapping[str, str] | None = None) -> list[Fact]:
        """The facts with variables filled in, read once (cached by content)."""
        vars_ = dict(variables or {})
        key = (
            tuple((f.id, f.statement, tuple(f.keywords), tuple(f.numbers), tuple(f.wrong)) for f in facts),
            tuple(sorted(vars_.items())),
        )
        found = self._cache.get(key)
        if found is None:
            found = self._compile(key[0], vars_)
            with self._lock:
                if len(self._cache) >= _CACHE_SIZE:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[key] = found
        return list(found)

    def _compile(
        self, key: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...], variables: dict
    ) -> tuple:
        out = []
        for fid, statement, keywords, numbers, wrong in key:
            text = substitute(statement, variables)
            clauses = tuple(copy.deepcopy(c) for c in self._read_clauses(text))
            for denies, by in self.words.implied:
                if any(denies in c.concepts for c in clauses):
                    continue
                for c in clauses:
                    if any(c.concepts.get(b) == {"+"} for b in by):
                        c.concepts[denies] = {"-"}
                        c.terms.add("@" + denies)
                        break
            nums = tuple(normalise_text(substitute(n, variables)).strip() for n in numbers)
            values = [v for c in clauses for v in c.values]
            typed = tuple((n, _value_of(n, values)) for n in nums)
            fact_values = {float(n) for n in nums if _NUM.fullmatch(n)}
            for c in clauses:
                # The customer's measurements in a size fact ("165cm、104斤 → M") are its inputs, not claims.
                c.values = [
                    v for v in c.values if not (v.unit in _PREREQUISITE_UNITS and _raw_number(v) not in fact_values)
                ]
            sizes = frozenset(n for n in nums if _SIZE.fullmatch(n))
            inputs = frozenset(
                _fmt(_raw_number(v))
                for v in values
                if v.unit in _PREREQUISITE_UNITS and _raw_number(v) not in fact_values
            )
            keywords_n = tuple(k for k in (normalise_text(substitute(k, variables)).strip() for k in keywords) if k)
            out.append(
                Fact(
                    id=fid,
                    statement=text,
                    keywords=keywords_n,
                    numbers=nums,
                    clauses=clauses,
                    typed=typed,
                    sizes=sizes,
                    inputs=inputs,
                    codes=frozenset(_CODE.findall(text)),
                    terms=frozenset().union(*(c.terms for c in clauses)) if clauses else frozenset(),
                    named={
                        kind.kind: frozenset().union(*(c.entities.get(kind.kind, set()) for c in clauses))
                        for kind in self.words.entities
                    },
                    matchers=self._matchers(keywords_n),
                    wrong=self._matchers(
                        tuple(k for k in (normalise_text(substitute(k, variables)).strip() for k in wrong) if k)
                    ),
                )
            )
        return tuple(out)

    # -- reading a text ----------------------------------------------------------------------------------------

    def clauses(self, text: str) -> list[Clause]:
        """The clauses of ``text`` with everything the check looks at (offsets are into ``text`` as written).

        Read once per text (a customer message is looked at again for every later reply); callers must not
        change the clauses they get.
        """
        found = self._clause_cache.get(text)
        if found is None:
            found = tuple(self._read_clauses(text))
            with self._lock:
                if len(self._clause_cache) >= _CLAUSE_CACHE_SIZE:
                    self._clause_cache.pop(next(iter(self._clause_cache)))
                self._clause_cache[text] = found
        return list(found)

    def _read_clauses(self, text: str) -> list[Clause]:
        out = []
        pos = 0
        opens = True  # the clause starts a sentence
        for m in [*_SEPARATOR.finditer(text), None]:
            end = m.start() if m is not None else len(text)
            sep = m.group(0) if m is not None else ""
            raw = text[pos:end]
            if raw.strip():
                lead = len(raw) - len(raw.lstrip())
                out.append(self._clause(pos + lead, end - (len(raw) - len(raw.rstrip())), raw.strip(), sep, opens))
                opens = bool(set(sep) & _SENTENCE_END)
            pos = m.end() if m is not None else len(text)
        return out

    def _clause(self, start: int, end: int, raw: str, sep: str, opens: bool = True) -> Clause:
        norm = normalise_text(raw).replace("’", "'")
        digits = to_digits(norm)
        question = (
            sep.strip() in ("?", "？") or bool(_QUESTION_END.search(norm)) or (opens and bool(_EN_QUESTION.match(norm)))
        )
        c = Clause(start, end, raw, norm, question, digits=digits)
        c.stems = frozenset(self._stem(x) for x in _WORD.findall(norm))
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
        rest = _blank(digits, spans)
        c.bare = set(_NUM.findall(_SIZE.sub(" ", rest)))
        w = self.words
        if w.ratings is not None:
            for m in w.ratings.finditer(norm):
                c.ratings.setdefault(m.group(1).lower(), set()).add(float(m.group(2)))
            rest = w.ratings.sub(" ", rest)
            c.bare -= {m.group(2) for m in w.ratings.finditer(norm)}
        c.codes = {x for x in _CODE.findall(raw) if not (w.ratings and w.ratings.match(x))}
        c.sizes = {m.group(1) for m in _SIZE.finditer(norm)}
        c.size_context = bool(w.size_words(norm))
        c.scope = frozenset().union(*(covers for _sid, words, covers in w.scopes if words(norm)))
        named = self._polarity(c)
        for kind in w.entities:
            for vid, words in kind.values:
                hits = words.find(norm)
                if hits:
                    c.entities.setdefault(kind.kind, set()).add(vid)
                    c.surface.setdefault(vid, raw_of(raw, norm, hits[0]))
                    named += hits
                    if _units(norm[: hits[0][0]]) <= 2:
                        c.leading.setdefault(kind.kind, set()).add(vid)
        # A concept or entity counts once, as itself: its words do not also count as shared wording.
        plain = norm
        for s, e in named:
            surface = norm[s:e]
            plain = plain.replace(surface, " " * len(surface))
            rest = rest.replace(surface, " " * len(surface))
        c.terms = (
            self._terms(rest)
            | {"@" + k for k in c.concepts}
            | {f"#{k}:{v}" for k, vs in c.entities.items() for v in vs}
            | {("&" if anchor else "%") + tid for tid, words, anchor in w.topics if words(plain)}
        )
        for tid, words, anchor in w.topics:
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
        for word in _WORD.findall(text):
            if len(word) > 2 and word not in _EN_STOP:
                out.add(self._stem(word))
        return out

    def _polarity(self, c: Clause) -> list[tuple[int, int]]:
        """Each concept in the clause with its polarity: + asserted, − denied, ~ hedged; returns where they are."""
        w = self.words
        text = c.norm
        found: list[tuple[int, int, str, int]] = []  # start, end, concept, sign
        for concept in w.concepts:
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
                    k for k, f in enumerate(found) if f[1] <= m.start() and _units(text[f[1] : m.start()]) <= _WINDOW
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
            after = [k for k, f in enumerate(found) if f[0] >= e and _units(text[e : f[0]]) <= _WINDOW]
            if after:
                k = after[0]
            elif how == "a":
                before = [k for k, f in enumerate(found) if f[1] <= s and _units(text[f[1] : s]) <= _WINDOW]
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

    # -- the check ---------------------------------------------------------------------------------------------

    def read(
        self,
        reply: str,
        facts: Sequence[Fact],
        *,
        customer: Sequence[str] = (),
        known: Iterable[str] = (),
        prompt: str = "",
        similarity: Similarity | None = None,
    ) -> list[Reading]:
        """What ``reply`` says about each fact (in the order of ``facts``).

        Args:
            reply: The trainee's reply.
            facts: The scenario's facts (:meth:`compile`); all of them, since a figure another fact gives for the
                same topic is not wrong.
            customer: What the customer said before the reply: numbers and sizes there are echoes, and a fact
                that needs the customer's measurements is only judged once they were given.
            known: Values the agent may know without the customer saying them (the order's details).
            prompt: The customer message the reply answers (its topic counts for attributes such as materials).
            similarity: Meaning similarity of two texts (embedder cosine); None compares characters.
        """
        clauses = self.clauses(reply)
        said = [c for t in customer for c in self.clauses(t)]
        heard = said + [c for t in known for c in self.clauses(t)]
        echoed = Echoes([v for c in heard for v in c.values], set().union(*(c.bare for c in heard)) if heard else set())
        given = Echoes([v for c in said for v in c.values], set().union(*(c.bare for c in said)) if said else set())
        echoed_sizes = {m.group(1) for m in _SIZE.finditer(normalise_text(" ".join(customer)))}
        asked = self.clauses(prompt) if prompt else []
        prompt_facts = {f.id for f in facts if any(self._keyword(c, f) for c in asked)}
        out: list[Reading] = []
        for fact in facts:
            due = not fact.inputs or bool(fact.inputs & given.plain())
            about = [c for c in clauses if self._about(c, fact)]
            agreeing = [c for c in about if not c.question and not self._denies(c, fact)]
            stating = [c for c in agreeing if self._keyword(c, fact)] or [c for c in agreeing if self._covers(c, fact)]
            on_topic = bool(stating)
            span = stating[0] if stating else None
            # A question states nothing (the reply as sent when it asks nothing: its meaning vector is cached).
            plain = [c for c in clauses if not c.question]
            told = reply if len(plain) == len(clauses) else " ".join(c.raw for c in plain)
            if not on_topic and told.strip():
                sim = similarity(fact.statement, told) if similarity else _lexical(fact.statement, told)
                limit = self.meaning_threshold if similarity else self.lexical_threshold
                on_topic = sim >= limit and self._names_subjects(clauses, fact)
            numbers = frozenset(
                n for n, v in fact.typed if self._has_number(n, v, [c for c in clauses if not c.question])
            )
            contradiction = None
            if due:
                contradiction = self._contradiction(about, fact, facts, echoed, echoed_sizes, fact.id in prompt_facts)
            out.append(Reading(fact, on_topic, (span.start, span.end) if span else None, numbers, contradiction))
        return out

    def claims(self, pattern: str) -> frozenset[tuple[str, str]] | None:
        """What a red-line pattern claims, when it is nothing but concepts and negations ("不会起球" → pilling
        denied, "运费全包" → free postage); None for anything else ("绝对不透" also guarantees, "价保7天" has a
        figure): those only match as written."""
        if pattern in self._claims_cache:
            return self._claims_cache[pattern]
        found: frozenset[tuple[str, str]] | None = None
        literal = _LOOKAROUND.sub("", pattern)
        if not _REGEX_META.search(literal):
            clauses = self._read_clauses(literal)
            if len(clauses) == 1 and clauses[0].concepts and not clauses[0].values and not clauses[0].bare:
                c = clauses[0]
                rest = c.norm
                spans = (
                    [(s, e) for concept in self.words.concepts for s, e in concept.words.find(rest)]
                    + [(s, e) for concept in self.words.concepts for s, e in concept.opposite.find(rest)]
                    + self.words.negation.find(rest)
                    + self.words.negation_after.find(rest)
                )
                rest = _blank(rest, spans)
                for _tid, words, _anchor in self.words.topics:
                    rest = _blank(rest, words.find(rest))
                if not _FILLER.sub("", rest).strip() and all(len(m) == 1 for m in c.concepts.values()):
                    found = frozenset((k, next(iter(m))) for k, m in c.concepts.items() if m != {"~"})
        with self._lock:
            self._claims_cache[pattern] = found or None
        return found or None

    def crosses(self, patterns: Iterable[str], reply: str) -> tuple[int, int] | None:
        """Where ``reply`` makes the claim of one of a red line's patterns in other words (see :meth:`claims`):
        "毛球是不会有的" for "不会起球", "运费我们全包的" for "运费全包". A question or a hedge claims nothing."""
        wanted = [c for c in (self.claims(p) for p in patterns) if c]
        if not wanted:
            return None
        for c in self.clauses(reply):
            if c.question:
                continue
            have = {(k, next(iter(m))) for k, m in c.concepts.items() if len(m) == 1 and m != {"~"}}
            if any(claim <= have for claim in wanted):
                return c.start, c.end
        return None

    def wrong(self, readings: Iterable[Reading]) -> list[Reading]:
        """The readings that contradict their fact."""
        return [r for r in readings if r.contradiction is not None]

    # -- topic -------------------------------------------------------------------------------------------------

    def _matchers(self, keywords: tuple[str, ...]) -> tuple[tuple[re.Pattern[str] | None, str, tuple[str, ...]], ...]:
        """Each keyword as (whole-word pattern for English, substring for Chinese, stems of a multi-word one)."""
        out: list[tuple[re.Pattern[str] | None, str, tuple[str, ...]]] = []
        for k in keywords:
            if _ascii(k):
                words = _WORD.findall(k)
                stems = tuple(self._stem(x) for x in words if x not in _EN_STOP)
                negated = any(x in ("not", "no", "never") or x.endswith("n't") for x in words)
                loose = stems if len(stems) >= 2 and not negated else ()
                out.append((re.compile(rf"(?<![a-z0-9]){re.escape(k)}(?![a-z0-9])"), k, loose))
            else:
                out.append((None, k, ()))
        return tuple(out)

    def _keyword(self, c: Clause, fact: Fact) -> bool:
        """A keyword of the fact in the clause: English ones as whole words (a keyword of several words also with
        its words in another order or apart), Chinese ones as written or with numbers in digits."""
        return _matched(c, fact.matchers) is not None

    def _wrong_answer(self, c: Clause, fact: Fact) -> tuple[str, str, str] | None:
        """One of the fact's known wrong answers, not negated ("不是从付款那天算" corrects it)."""
        hit = _matched(c, fact.wrong)
        if hit is None:
            return None
        at = c.norm.find(hit)
        before = c.norm[max(0, at - 12) : at] if at >= 0 else ""
        cues = self.words.negation.find(before) if before else []
        if any(_units(before[e:]) <= 2 for _s, e in cues) and not self.words.not_negation(before):
            return None
        return hit, fact.statement, "wrong-answer"

    def _about(self, c: Clause, fact: Fact) -> bool:
        """The clause may speak about the fact: no product code or subject of another thing."""
        if fact.codes and c.codes and not (c.codes & fact.codes):
            return False
        for kind in self.words.entities:
            mine = c.entities.get(kind.kind)
            theirs = fact.entities(kind.kind)
            if mine and theirs and not (mine & theirs) and (kind.role == "subject" or c.leading.get(kind.kind)):
                return False
        return True

    def _overlap(self, c: Clause, fact: Fact, fc: Clause | None = None) -> int:
        """How much wording a reply clause shares with the fact (or one of its clauses); concepts count twice."""
        terms = fc.terms if fc is not None else fact.terms
        shared = c.terms & terms
        return sum(2 if t[0] in "@#%" else 1 for t in shared)

    def mentions(self, text: str, fact: Fact) -> bool:
        """Whether ``text`` (a customer's question, say) is about the fact: a keyword, or most of a fact clause's
        wording."""
        return any(
            self._about(c, fact) and (self._keyword(c, fact) or self._covers(c, fact)) for c in self.clauses(text)
        )

    def _denies(self, c: Clause, fact: Fact) -> bool:
        """The clause says the opposite of the fact about one of its concepts (it cannot be stating the fact)."""
        for concept, marks in c.concepts.items():
            held = set().union(*(fc.concepts.get(concept, set()) for fc in fact.clauses))
            if marks in ({"+"}, {"-"}) and held and held <= {"+", "-"} and not marks & held:
                return True
        return False

    def _covers(self, c: Clause, fact: Fact) -> bool:
        """The clause says most of one of the fact's clauses in its own words."""
        for fc in fact.clauses:
            weight = sum(2 if t[0] in "@#%" else 1 for t in fc.terms)
            shared = self._overlap(c, fact, fc)
            if shared >= COVER_MIN and shared >= COVER_SHARE * weight:
                return True
        return False

    def _names_subjects(self, clauses: list[Clause], fact: Fact) -> bool:
        """A reply matched by meaning alone must name the fact's subject entities (a special VAT invoice)."""
        for kind in self.words.entities:
            if kind.role != "subject":
                continue
            theirs = fact.entities(kind.kind)
            if theirs and not any(c.entities.get(kind.kind, set()) & theirs for c in clauses):
                return False
        return not fact.codes or any(c.codes & fact.codes for c in clauses) or not any(c.codes for c in clauses)

    # -- numbers -----------------------------------------------------------------------------------------------

    def _has_number(self, number: str, value: Value | None, clauses: list[Clause]) -> bool:
        if value is not None:
            scale = value.lo / _raw_number(value) if _raw_number(value) else 1.0
            target = float(number) * scale
            f = value.compare_key()[1]
            for c in clauses:
                for v in c.values:
                    if v.comparable(value):
                        lo, hi = v.scaled()
                        if abs(lo - target * f) < 1e-6 * max(1, target * f) or abs(hi - target * f) < 1e-6 * max(
                            1, target * f
                        ):
                            return True
            return False
        if _SIZE.fullmatch(number):
            return any(number in c.sizes for c in clauses)
        return any(number in c.bare or number in plain_numbers(c.norm) for c in clauses)

    # -- contradictions ----------------------------------------------------------------------------------------

    def _contradiction(
        self,
        about: list[Clause],
        fact: Fact,
        facts: Sequence[Fact],
        echoed: Echoes,
        echoed_sizes: set[str],
        prompt_on_topic: bool,
    ) -> Contradiction | None:
        for c in about:
            if c.question:
                continue
            keyword = self._keyword(c, fact)
            found = (
                self._wrong_answer(c, fact)
                or self._wrong_value(c, fact, facts, echoed, keyword)
                or self._wrong_bare(c, fact, facts, echoed, keyword)
                or self._wrong_size(c, fact, facts, echoed_sizes, keyword)
                or self._wrong_rating(c, fact)
                or self._wrong_polarity(c, fact, facts)
                or self._wrong_entity(c, fact, facts, keyword or prompt_on_topic)
            )
            if found is not None:
                said, expected, kind = found
                start, end = c.start, c.end
                at = c.raw.lower().find(said.lower()) if kind != "polarity" else -1
                if at >= 0:  # the evidence is the wrong figure itself when it is written as shown
                    start, end = c.start + at, c.start + at + len(said)
                return Contradiction((start, end), c.raw[start - c.start : end - c.start], said, expected, kind)
        return None

    def _topic_score(self, c: Clause, fact: Fact, fc: Clause) -> int:
        """How much a reply clause is about one clause of a fact: a keyword, the wording of the whole statement
        (a figure is often in a clause of its own: "ships by standard delivery, 3–5 business days") and of the
        clause itself."""
        return (3 if self._keyword(c, fact) else 0) + self._overlap(c, fact) + self._overlap(c, fact, fc)

    def _wrong_value(
        self, c: Clause, fact: Fact, facts: Sequence[Fact], echoed: Echoes, keyword: bool
    ) -> tuple[str, str, str] | None:
        for v in c.values:
            # A figure the customer said (or a fact gives without a unit) claims nothing new — but the event a
            # window counts from still can be wrong ("七天无理由" said by her, "从付款那天开始算7天" by the agent).
            repeated = echoed.repeats(v) or self._mentioned(c, v, facts)
            # Every statement value of a comparable unit, in any fact, with how much the clause is about it.
            scored = [
                (self._topic_score(c, f, fc), f, fc, fv)
                for f in facts
                for fc in f.clauses
                for fv in fc.values
                if fv.comparable(v) and self._about(c, f) and not _other_topic(c, fc)
            ]
            scored = [x for x in scored if x[0] >= 1]
            if not scored:
                continue
            best = max(x[0] for x in scored)
            owner = next(f for sc, f, _, _ in scored if sc == best)  # one fault, one fact: the first that fits best
            # A figure another fact gives a topic this clause is (nearly as much) about is not wrong — unless the
            # window is counted from another event ("从付款起7天" for "签收起7天").
            agreeing = [(sc, f, fc) for sc, f, fc, fv in scored if sc * 2 >= best and v.agrees(fv)]
            if repeated and not agreeing:
                continue
            if agreeing:
                # The figure says which fact the clause is about: the best-fitting one that gives it.
                top = max(sc for sc, _, _ in agreeing)
                _, home, fc = next(x for x in agreeing if x[0] == top)
                counted_from_elsewhere = c.anchors and fc.anchors and not c.anchors.keys() & fc.anchors.keys()
                if home.id == fact.id and v.unit in _DURATIONS and counted_from_elsewhere:
                    return "、".join(c.anchors.values()), "、".join(fc.anchors.values()), "anchor"
                continue
            mine = [fv for sc, f, _, fv in scored if f.id == fact.id and sc == best]
            if owner.id != fact.id or not mine or (best < 2 and not keyword):
                continue
            return v.written, mine[0].written, "number"
        return None

    def _wrong_bare(
        self, c: Clause, fact: Fact, facts: Sequence[Fact], echoed: Echoes, keyword: bool
    ) -> tuple[str, str, str] | None:
        """A number without a unit (a shoe size, EU 42.5) where the fact gives one of the same magnitude."""
        expected = [float(n) for n, v in fact.typed if v is None and _NUM.fullmatch(n)]
        if not expected or not c.bare:
            return None
        given = {x for f in facts for fc in f.clauses for x in fc.bare} | {
            _fmt(x) for f in facts for fc in f.clauses for v in fc.values for x in _written_numbers(v)
        }
        for number in sorted(c.bare - echoed.bare - given):
            x = float(number)
            near = [e for e in expected if e and 0.5 <= x / e <= 2]
            if not near or x in expected:
                continue
            home = [fc for fc in fact.clauses if any(_fmt(e) in fc.bare for e in near)]
            if keyword or any(self._overlap(c, fact, fc) >= 2 for fc in home) or self._overlap(c, fact) >= 2:
                return number, _fmt(near[0]), "number"
        return None

    def _mentioned(self, c: Clause, v: Value, facts: Sequence[Fact]) -> bool:
        """A single number that a fact clause on the same topic gives without a unit ("− 10 专属券" backs
        "10元专属券")."""
        if v.shape != "point":
            return False
        number = _fmt(_raw_number(v))
        return any(number in fc.bare and c.terms & fc.terms for f in facts for fc in f.clauses)

    def _wrong_size(
        self, c: Clause, fact: Fact, facts: Sequence[Fact], echoed_sizes: set[str], keyword: bool
    ) -> tuple[str, str, str] | None:
        if not fact.sizes or not (keyword or c.size_context):
            return None
        said = c.sizes - echoed_sizes
        others = set().union(*(f.sizes for f in facts if f.id != fact.id))
        if said and not said & fact.sizes and not said & others:
            return sorted(said)[0].upper(), "/".join(sorted(s.upper() for s in fact.sizes)), "size"
        return None

    def _wrong_rating(self, c: Clause, fact: Fact) -> tuple[str, str, str] | None:
        for label, values in c.ratings.items():
            expected = set().union(*(fc.ratings.get(label, set()) for fc in fact.clauses))
            if expected and not values & expected:
                return f"{label.upper()}{_fmt(min(values))}", f"{label.upper()}{_fmt(min(expected))}", "rating"
        return None

    def _wrong_polarity(self, c: Clause, fact: Fact, facts: Sequence[Fact]) -> tuple[str, str, str] | None:
        for concept, marks in c.concepts.items():
            if marks != {"+"} and marks != {"-"}:
                continue
            mark = next(iter(marks))
            scoped = [
                (self._topic_score(c, f, fc), f, fc.concepts[concept], fc.scope)
                for f in facts
                for fc in f.clauses
                if concept in fc.concepts and self._about(c, f) and (not c.scope or not fc.scope or c.scope & fc.scope)
            ]
            # Agreeing means a fact says the same about everything the clause covers ("来回运费我们包" is not
            # backed by "the shop pays the new item's postage" when the buyer pays the return leg).
            if not scoped or any(mark in m and (not c.scope or not sc or c.scope <= sc) for _, _, m, sc in scoped):
                continue
            held = [(s, f, m) for s, f, m, _ in scoped]
            best = max(s for s, _, _ in held)
            owner = next(f for s, f, _ in held if s == best)
            if owner.id == fact.id and any(
                f.id == fact.id and s == best and ({"+", "-"} - {mark}) & m for s, f, m in held
            ):
                return c.raw, next(fc.raw for fc in fact.clauses if concept in fc.concepts), "polarity"
        return None

    def _wrong_entity(
        self, c: Clause, fact: Fact, facts: Sequence[Fact], on_topic: bool
    ) -> tuple[str, str, str] | None:
        if not (on_topic or self._overlap(c, fact) >= 1):
            return None
        for kind in self.words.entities:
            if kind.role != "attribute":
                continue
            mine = c.entities.get(kind.kind, set())
            theirs = fact.entities(kind.kind)
            if not mine or not theirs or mine & theirs:
                continue
            # Another fact on the same topic may name it (a scarf's silk next to a coat's wool).
            if any(mine & f.entities(kind.kind) and self._overlap(c, f) > self._overlap(c, fact) for f in facts):
                continue
            said = "、".join(c.surface[v] for v in sorted(mine))
            named = {v: fc.surface[v] for fc in fact.clauses for v in fc.surface if v in theirs}
            return said, "、".join(named[v] for v in sorted(named)), "entity"
        return None


# ---------------------------------------------------------------------------------------------------------------
# helpers


def raw_of(raw: str, norm: str, hit: tuple[int, int]) -> str:
    """The words as written for a hit in the normalised text (the same slice when folding kept the length)."""
    return raw[hit[0] : hit[1]] if len(raw) == len(norm) else norm[hit[0] : hit[1]]


def _matched(c: Clause, matchers: tuple[tuple[re.Pattern[str] | None, str, tuple[str, ...]], ...]) -> str | None:
    """The first keyword-style matcher found in the clause, as written in the matcher."""
    for pattern, k, stems in matchers:
        if pattern is not None:
            if pattern.search(c.norm) or (stems and all(x in c.stems for x in stems)):
                return k
        elif k in c.norm or k in c.digits:
            return k
    return None


def _other_topic(c: Clause, fc: Clause) -> bool:
    """Both clauses name what they are about (退 / 发货) and it is not the same thing: a figure for one is not a
    claim about the other."""
    mine = {t for t in c.terms if t[0] == "%"}
    theirs = {t for t in fc.terms if t[0] == "%"}
    return bool(mine) and bool(theirs) and not mine & theirs


def _ascii(text: str) -> bool:
    return not CJK.search(text)


def _units(text: str) -> int:
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


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for s, e in spans:
        for i in range(s, min(e, len(chars))):
            chars[i] = " "
    return "".join(chars)


def _fmt(v: float) -> str:
    return str(int(v)) if v == int(v) else f"{v:g}"


def _written_numbers(v: Value) -> list[float]:
    return [float(x) for x in _NUM.findall(v.written)]


def _raw_number(v: Value) -> float:
    nums = _written_numbers(v)
    return nums[0] if nums else v.lo


def _value_of(number: str, values: list[Value]) -> Value | None:
    """The statement value a fact number belongs to ("7" → "7天内"), or None for a bare number or a size."""
    if not _NUM.fullmatch(number):
        return None
    target = float(number)
    for v in values:
        if target in _written_numbers(v):
            return v
    return None


def _lexical(a: str, b: str) -> float:
    return dice(char_bigrams(normalise_text(a)), char_bigrams(normalise_text(b)))


def _stemmer() -> Callable[[str], str]:
    try:
        import Stemmer

        stem = Stemmer.Stemmer("english").stemWord
    except ImportError:  # stemming helps, it is not required
        return lambda w: w
    return lambda w: stem(w)
