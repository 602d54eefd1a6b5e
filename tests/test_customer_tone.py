"""The tone lexicon against hand-labelled customer lines (tests/data/customer_tone.tsv), tuning and held-out
parts reported separately; the mood shown moves only as far as the line demands."""

from __future__ import annotations

from pathlib import Path

from simulator.customer.tone import NEUTRAL, PLEASED, UPSET, mood_for_line, tone

DATA = Path(__file__).resolve().parent / "data" / "customer_tone.tsv"
LABEL = {"U": UPSET, "N": NEUTRAL, "P": PLEASED}


def rows(split: str) -> list[tuple[int, str]]:
    out = []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            label, part, text = line.split("\t", 2)
            if part == split:
                out.append((LABEL[label], text))
    return out


def scores(split: str) -> tuple[float, int]:
    data = rows(split)
    right = sum(tone(t) == y for y, t in data)
    opposite = sum(tone(t) * y == -1 for y, t in data)  # upset read as pleased or the reverse
    return right / len(data), opposite


def test_tone_on_the_tuning_lines() -> None:
    accuracy, opposite = scores("tune")
    assert len(rows("tune")) == 70 and accuracy >= 0.95 and opposite == 0


def test_tone_on_held_out_lines() -> None:
    # Measured 0.73 accuracy and 2 opposite readings of 45 (docs/customer.md); pinned so a lexicon edit that
    # makes it worse is noticed. Neutral is the safe answer: it leaves the computed mood alone.
    accuracy, opposite = scores("held-out")
    assert len(rows("held-out")) == 45 and accuracy >= 0.7 and opposite <= 2


def test_mood_moves_only_as_far_as_the_line_demands() -> None:
    assert mood_for_line(2, "这服务太差了，我会如实给差评的。") == -1
    assert mood_for_line(-3, "这服务太差了") == -3
    assert mood_for_line(-2, "那我放心了，我现在拍M码 😊") == 0
    assert mood_for_line(1, "好的，我知道了") == 1
