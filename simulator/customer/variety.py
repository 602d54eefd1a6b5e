"""No verbatim repeats: a customer line is never one the customer already said in this conversation.

A real buyer who has to ask twice says it differently ("所以到底能不能换？" → "我再问一遍，能换吗？"). The scripted
engine picks a line's variant by hashing (seed, what, counter); :func:`fresh` keeps that choice when it is new
and otherwise takes the next variant not said yet, in a fixed rotation. When every variant has been said, it
rephrases the hashed one with a "saying it again" opener for the locale. Deterministic: the same seed,
transcript and reply give the same line, so sessions still resume exactly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from simulator.scenario.vocabulary import Locale
from simulator.text import normalise_text

# Openers a buyer uses when saying something again. Neutral in tone, so the mood shown still fits the line.
AGAIN: dict[Locale, tuple[str, ...]] = {
    Locale.ZH_CN: ("我再说一遍，", "还是那句话，", "我是说，", "就是说，", "再问一下，", "所以，"),
    Locale.EN: ("Like I said, ", "Again, ", "I mean, ", "So, ", "To repeat, ", "Just to say it again, "),
}


def index(n_options: int, seed: int, key: str, n: int = 0) -> int:
    """The hashed variant index for (seed, key, n): stable across processes and Python versions."""
    digest = hashlib.sha256(f"{seed}:{key}:{n}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % n_options


def said_key(text: str) -> str:
    """How lines are compared: case, width and spacing do not make a line new."""
    return "".join(normalise_text(text).split())


class Said:
    """The customer lines of one conversation (so far, plus those chosen earlier in this turn)."""

    def __init__(self, lines: Iterable[str] = ()):
        self._keys = {said_key(t) for t in lines}

    def __contains__(self, text: object) -> bool:
        return isinstance(text, str) and said_key(text) in self._keys

    def add(self, text: str) -> None:
        """Remember a line chosen for this turn."""
        self._keys.add(said_key(text))


def fresh(options: Sequence[str], said: Said, seed: int, key: str, n: int, locale: Locale) -> str:
    """A variant of ``options`` the customer has not said yet (the hashed one when possible).

    Args:
        options: The variants, with ``{variables}`` already filled in.
        said: What the customer has said.
        seed: The session's seed.
        key: What is being said (``beat:<id>``, ``fallback`` …), hashed with the seed.
        n: A counter (times the beat fired …), hashed too.
        locale: For the "saying it again" openers.
    """
    if not options:
        raise ValueError("nothing to pick from")
    start = index(len(options), seed, key, n)
    rotation = [options[(start + i) % len(options)] for i in range(len(options))]
    for option in rotation:
        if option not in said:
            return option
    openers = AGAIN[locale]
    first = index(len(openers), seed, f"again:{key}", n)
    for i in range(len(openers)):
        opener = openers[(first + i) % len(openers)]
        for option in rotation:
            line = opener + _lower_first(option, locale)
            if line not in said:
                return line
    # Every opener and variant has been used (a very long conversation): stack two openers.
    for a in openers:
        for b in openers:
            for option in rotation:
                line = a + b + _lower_first(option, locale)
                if line not in said:
                    return line
    return rotation[0]  # unreachable in practice: 36 × len(options) lines said already


def _lower_first(text: str, locale: Locale) -> str:
    if locale is Locale.EN and text[:1].isupper() and not text[:2].isupper() and not text.startswith("I "):
        return text[:1].lower() + text[1:]
    return text
