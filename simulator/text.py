"""Text helpers every part of the engine shares: width- and case-folding, Chinese characters, character bigrams.

One definition each, so the knowledge base, the customer and the grader agree on what a Chinese character
is and on how alike two sentences are.
"""

from __future__ import annotations

import re
import unicodedata

CJK_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
"""The CJK unified ideographs (with extension A) and the compatibility ideographs, for character classes."""

CJK = re.compile(f"[{CJK_RANGES}]")
"""One Chinese character."""

CJK_RUN = re.compile(f"[{CJK_RANGES}]+")
"""A run of Chinese characters."""


def normalise_text(text: str) -> str:
    """NFKC (full-width → half-width: "７天" → "7天", "Ｍ" → "M") and case-folded, for substring matching."""
    return unicodedata.normalize("NFKC", text).casefold()


def has_cjk(text: str) -> bool:
    """True when the text contains a Chinese character."""
    return CJK.search(text) is not None


def count_cjk(text: str) -> int:
    """Number of Chinese characters in the text."""
    return len(CJK.findall(text))


def char_bigrams(text: str, *, keep_single: bool = False) -> set[str]:
    """Overlapping character pairs of ``text`` with all whitespace removed.

    Callers fold the text first as their comparison needs (lower-case, NFKC, digits removed). A one-character
    text has no pair: with ``keep_single`` it stands for itself instead of giving the empty set.
    """
    t = "".join(text.split())
    pairs = {t[i : i + 2] for i in range(len(t) - 1)}
    if not pairs and keep_single and t:
        return {t}
    return pairs


def dice(x: set[str], y: set[str]) -> float:
    """Dice overlap of two sets, 0 … 1 (0 when either is empty)."""
    if not x or not y:
        return 0.0
    return 2 * len(x & y) / (len(x) + len(y))
