"""What a trainee's reply commits to, beyond the act it performs: a remedy carried out now, a policy exception,
money from the agent's own pocket, a refusal to escalate.

Two layers, like :mod:`simulator.acts`:

* **Lexicon** (always): the locale's ``process`` lists in ``scenarios/rules/*.yaml``. A hit in a negated clause
  ("不能破例", "I can't make an exception") does not count, except for ``escalation_refusal``, whose entries
  are refusals themselves.
* **Meaning** (with an embedder): the locale's ``meaning`` exemplars. A sentence of the reply means a concept
  when its nearest example is at least :data:`FLOOR` similar and closer than the nearest counter example (the
  near misses: an offer in principle, a refusal that names the rule, escalating) by :data:`MARGIN`.
  ``bench/report_card.py --kb`` measures what this adds; see docs/grading.md ("Process").
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from simulator.embedding.base import Embedder
from simulator.grading.lexicon import Exemplars, Hit, Lexicon

REMEDY_DONE = "remedy_done"
POLICY_EXCEPTION = "policy_exception"
PERSONAL_PAYMENT = "personal_payment"
ESCALATION_REFUSAL = "escalation_refusal"
CONCEPTS = (REMEDY_DONE, POLICY_EXCEPTION, PERSONAL_PAYMENT, ESCALATION_REFUSAL)
# Concepts whose entries are negative already: a negation before them does not undo them.
_SELF_NEGATING = frozenset({ESCALATION_REFUSAL})

# A sentence is put to the meaning test of a concept only when it touches the concept's topic: most sentences
# (greetings, questions, product facts) cannot mean any of them, and embedding them would cost time for nothing.
GATES = {
    REMEDY_DONE: re.compile(
        r"退|换|补|发|寄|钱|款|红包|码|新|好了|搞定|\brefund|\bexchang|\bswap|\breplac|\bnew\b|\bship|\bsent\b"
        r"|\bcredit|\bmoney|\bsize|\bsorted|\bdone\b|\border\b|\bon (its|the) way",
        re.I,
    ),
    POLICY_EXCEPTION: re.compile(
        r"规|例|特殊|破|通融|算|过期|期限|通过|照样|\brule|\bpolic|\bexception|\bwindow|\bdays\b|\bonce\b|\bwaive"
        r"|\boverlook|\bexpired|\bpast\b|\banyway\b|\baccept",
        re.I,
    ),
    PERSONAL_PAYMENT: re.compile(
        r"钱|转|付|账|支付|微信|私|个人|自己|\bmoney|\bpay|\bcash|\btransfer|\baccount|\bbank|\bpocket|\bpersonal"
        r"|\bmyself|\bown\b",
        re.I,
    ),
    ESCALATION_REFUSAL: re.compile(
        r"经理|主管|领导|组长|上级|老板|负责|\bmanager|\bsupervisor|\bboss|\blead\b|\bescalat|\bsenior|\babove\b"
        r"|\bhigher\b",
        re.I,
    ),
}

FLOOR = 0.60  # cosine with the nearest example a sentence needs at least (bench/process_intents.py)
MARGIN = 0.10  # ... and by how much it must beat the nearest counter example

CLAUSE = re.compile(r"[，,。！!？?；;\n～~]+|(?<=[a-z0-9])[.](?=\s|$)", re.I)
_SENTENCE = re.compile(r"[^。！!？?\n]+[。！!？?]*")
# A negation before a hit in the same clause undoes it ("不能破例", "I can't make an exception").
NEGATION = re.compile(
    r"(不能|不可以|不可能|不会|没法|没办法|无法|不行|不允许|不给|不予|不接受|不支持|不方便|做不到|办不到|不得|禁止|别|不要|不用"
    r"|没有(?!问题)|没(?=权限|资格)"
    r"|\bcan'?t\b|\bcannot\b|\bwon'?t\b|\bnot\b|\bnever\b|\bunable\b|\bno way\b|\bisn'?t\b|\bdon'?t\b|\bdoesn'?t\b"
    r"|\bhasn'?t\b|\bhaven'?t\b|\bwasn'?t\b|\bdidn'?t\b|\baren'?t\b)",
    re.I,
)


def clause_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each clause of ``text``, split at punctuation and sentence ends."""
    out, pos = [], 0
    for m in CLAUSE.finditer(text):
        if m.start() > pos and text[pos : m.start()].strip():
            out.append((pos, m.start()))
        pos = m.end()
    if pos < len(text) and text[pos:].strip():
        out.append((pos, len(text)))
    return out


# Not yet: a remedy that waits for something ("收到退货后给您退款", "as soon as we receive it") is not carried out.
_NOT_YET = re.compile(
    r"如果|要是|等|之后|以后|后再|收到.{0,8}后|审核(通过)?后"
    r"|\bif\b|\bonce\b|\bas soon as\b|\bwhen\b|\bafter\b|\buntil\b"
    r"|\bwill\b|'ll\b|\byet\b",
    re.I,
)
# What a customer says is not there: "nothing broken", "no leaks", "没有破".
CUSTOMER_NEGATION = re.compile(r"\bno\b|\bnothing\b|\bnone\b|\bnot\b|n't\b|\bnever\b|没有|没|不是|并不|不", re.I)


def clause_of(text: str, pos: int) -> tuple[int, int]:
    """(start, end) of the clause holding ``pos``."""
    for a, b in clause_spans(text):
        if a <= pos < b:
            return a, b
    return pos, pos


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text`` worth a meaning test (three characters or more)."""
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if len(m.group(0).strip()) >= 3]


def gated_sentences(text: str, concepts: Sequence[str] = CONCEPTS) -> list[tuple[int, int]]:
    """Sentences of ``text`` that touch the topic of any of ``concepts`` (:data:`GATES`)."""
    return [(a, b) for a, b in sentence_spans(text) if any(GATES[c].search(text[a:b]) for c in concepts)]


def negated_at(text: str, start: int, negation: re.Pattern[str] = NEGATION, *, whole_clause: bool = False) -> bool:
    """Whether the clause holding ``start`` has a negation before it (anywhere in it with ``whole_clause``)."""
    lo, hi = clause_of(text, start)
    return bool(negation.search(text[lo:hi] if whole_clause else text[lo:start]))


def cue_hits(
    lexicon: Lexicon,
    name: str,
    text: str,
    *,
    negatable: bool = True,
    negation: re.Pattern[str] = NEGATION,
    whole_clause: bool = False,
) -> list[Hit]:
    """Hits of the lexicon's cue list ``name`` in ``text`` that no negation in their clause undoes."""
    hits = lexicon.cue(name).find_all(text)
    if negatable:
        hits = [h for h in hits if not negated_at(text, h.start, negation, whole_clause=whole_clause)]
    return sorted(hits, key=lambda h: h.start)


@dataclass(frozen=True)
class Intent:
    """A concept found in a reply, with the words that show it."""

    concept: str
    hit: Hit
    by: str  # "lexicon" or "meaning"


class IntentDetector:
    """Finds :data:`CONCEPTS` in replies; keeps the exemplar vectors of each embedder and locale it has seen.

    Args:
        floor: Cosine a sentence needs with its nearest example.
        margin: How much closer to an example than to any counter example it must be.
        use_meaning: Turn the exemplar test off (lexicon only) — the benchmark measures both.
        use_lexicon: Turn the lexicon off (meaning only) — for the benchmark's floor/margin grid.
    """

    def __init__(
        self, *, floor: float = FLOOR, margin: float = MARGIN, use_meaning: bool = True, use_lexicon: bool = True
    ):
        self.floor = floor
        self.margin = margin
        self.use_meaning = use_meaning
        self.use_lexicon = use_lexicon
        self._bank: dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]] = {}
        self._lock = threading.Lock()

    def find(
        self,
        lexicon: Lexicon,
        text: str,
        embed: Embedder | None = None,
        vectors: dict[str, np.ndarray] | None = None,
        meaning_for: Sequence[str] = CONCEPTS,
    ) -> dict[str, Intent]:
        """Every concept ``text`` shows, first by the lexicon, then (for the rest) by meaning.

        Args:
            lexicon: The conversation's lexicon (its ``process`` lists and ``meaning`` exemplars).
            text: The reply (masked of injected instructions).
            embed: The embedder, or None for the lexicon alone.
            vectors: A cache of sentence vectors shared by one transcript's grading.
            meaning_for: The concepts worth a meaning test here (the rest: lexicon only).
        """
        found: dict[str, Intent] = {}
        for concept in CONCEPTS if self.use_lexicon else ():
            # "私下转账我们也不能做": a negation anywhere in the clause undoes a commitment.
            hits = cue_hits(lexicon, concept, text, negatable=concept not in _SELF_NEGATING, whole_clause=True)
            if concept == REMEDY_DONE:
                hits = [h for h in hits if not _NOT_YET.search(text[slice(*clause_of(text, h.start))])]
            if hits:
                found[concept] = Intent(concept, hits[0], "lexicon")
        if embed is None or not self.use_meaning:
            return found
        todo = [c for c in meaning_for if c not in found and c in lexicon.meaning]
        sentences = [(c, a, b) for c in todo for a, b in gated_sentences(text, (c,))]
        if not sentences:
            return found
        cache = vectors if vectors is not None else {}
        missing = [t for t in dict.fromkeys(text[a:b].strip() for _c, a, b in sentences) if t not in cache]
        if missing:
            for t, v in zip(missing, embed.embed(missing), strict=True):
                cache[t] = np.asarray(v, dtype=np.float32)
        for concept, a, b in sentences:
            if concept in found:
                continue
            ex, counter = self._exemplars(embed, lexicon, concept, lexicon.meaning[concept])
            v = cache[text[a:b].strip()]
            best_pos = float((ex @ v).max())
            best_neg = float((counter @ v).max()) if len(counter) else -1.0
            # Negated sentences are the counter examples' business ("这个不能破例" is one).
            if best_pos >= self.floor and best_pos - best_neg >= self.margin:
                found[concept] = Intent(concept, Hit(a, b, text[a:b]), "meaning")
        return found

    def _exemplars(
        self, embed: Embedder, lexicon: Lexicon, concept: str, ex: Exemplars
    ) -> tuple[np.ndarray, np.ndarray]:
        key = (embed.name, lexicon.path or lexicon.locale, concept)
        with self._lock:
            got = self._bank.get(key)
        if got is None:
            vecs = np.asarray(embed.embed([*ex.examples, *ex.counter]), dtype=np.float32)
            got = (vecs[: len(ex.examples)], vecs[len(ex.examples) :])
            with self._lock:
                self._bank[key] = got
        return got


def first_hit(hits: Sequence[Hit]) -> Hit | None:
    """The earliest hit, or None."""
    return min(hits, key=lambda h: h.start) if hits else None
