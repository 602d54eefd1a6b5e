"""The numbers trainers read about one conversation — the same definitions for practice and real chats, so the
dashboard can put them side by side.

* **First response** (首响): seconds from the buyer's first message to the agent's first reply after it.
* **Average response** (平均响应): the mean, over every agent reply that follows a buyer message, of the seconds
  since that buyer message (what a practice session measures as a reply's ``response_seconds``).
* **答问比** (reply ratio): agent messages per buyer message.
* **Conversion** (询单转化): for a sale (a pre-sales scenario, or a real chat whose outcome the shop's export
  gives): did the buyer pay. ``None`` when it was not a sale or is not known.
* **Satisfaction**, 0–1: a real chat's rating from the shop's export (1–5 stars, 0–100, or 满意/一般/不满意);
  a practice customer's mood at the end (furious 0 … delighted 1). ``None`` when not known — it is never guessed
  from the words.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import mean

from simulator.scenario.vocabulary import Mood
from simulator.transcript import Transcript
from simulator.turn import Speaker

BOUGHT = {"bought", "paid", "ordered", "purchased", "converted", "下单", "已下单", "成交", "已付款", "付款", "购买"}
NOT_BOUGHT = {"left", "not-bought", "no", "未下单", "未成交", "未购买", "流失", "否"}

RATING_WORDS = {
    "非常满意": 1.0,
    "满意": 1.0,
    "好评": 1.0,
    "very satisfied": 1.0,
    "satisfied": 1.0,
    "一般": 0.5,
    "中评": 0.5,
    "neutral": 0.5,
    "不满意": 0.0,
    "很不满意": 0.0,
    "非常不满意": 0.0,
    "差评": 0.0,
    "dissatisfied": 0.0,
    "unsatisfied": 0.0,
}


@dataclass(frozen=True)
class Kpis:
    """The figures of one conversation."""

    first_response_s: float | None
    mean_response_s: float | None
    reply_ratio: float | None
    agent_messages: int
    customer_messages: int


def response_times(transcript: Transcript) -> list[float]:
    """Seconds from a buyer message to the agent reply that follows it, for every such reply (needs ``at``)."""
    out: list[float] = []
    previous = None
    for turn in transcript.turns:
        if previous is not None and previous.role is Speaker.CUSTOMER and turn.role is Speaker.AGENT:
            if turn.response_seconds is not None:
                out.append(max(0.0, turn.response_seconds))
            elif turn.at is not None and previous.at is not None:
                out.append(max(0.0, turn.at - previous.at))
        previous = turn
    return out


def first_response(transcript: Transcript) -> float | None:
    """Seconds from the buyer's first message to the first agent reply after it."""
    first = next((t for t in transcript.turns if t.role is Speaker.CUSTOMER), None)
    if first is None or first.at is None:
        return None
    seen = False
    for turn in transcript.turns:
        if turn is first:
            seen = True
        elif seen and turn.role is Speaker.AGENT:
            if turn.at is None:
                return None
            return round(max(0.0, turn.at - first.at), 3)
    return None


def kpis(transcript: Transcript) -> Kpis:
    """First and average response time and 答问比 of a transcript."""
    agent = sum(1 for t in transcript.turns if t.role is Speaker.AGENT)
    customer = sum(1 for t in transcript.turns if t.role is Speaker.CUSTOMER)
    times = response_times(transcript)
    return Kpis(
        first_response_s=first_response(transcript),
        mean_response_s=round(mean(times), 3) if times else None,
        reply_ratio=round(agent / customer, 3) if customer else None,
        agent_messages=agent,
        customer_messages=customer,
    )


def conversion(outcome: str | None) -> bool | None:
    """Did the buyer pay: True / False from an outcome word, None when the outcome says nothing about it."""
    if not outcome:
        return None
    word = outcome.strip().lower()
    if word in BOUGHT:
        return True
    if word in NOT_BOUGHT:
        return False
    return None


def rating(value: str | float | int | None) -> float | None:
    """A satisfaction rating from a shop's export as 0–1: 1–5 stars, 0–100 (or 0–1), or a word; None otherwise."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if not text:
            return None
        if text in RATING_WORDS:
            return RATING_WORDS[text]
        try:
            value = float(text.rstrip("%分星"))
        except ValueError:
            return None
    number = float(value)
    if number != number or number < 0:  # NaN or negative
        return None
    if number.is_integer() and 1 <= number <= 5:  # stars
        return round((number - 1) / 4, 3)
    if number <= 1:  # a share
        return number
    if number <= 100:  # a percentage
        return round(number / 100, 3)
    return None


def mood_satisfaction(transcript: Transcript) -> float | None:
    """A simulated customer's mood after their last message, as 0–1 (furious 0, neutral 0.6, delighted 1)."""
    moods = [t.mood for t in transcript.turns if t.role is Speaker.CUSTOMER and t.mood is not None]
    if not moods:
        return None
    last: Mood = moods[-1]
    return round((last.level + 3) / 5, 3)
