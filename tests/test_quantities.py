"""Numbers as people write them: digits, Chinese numerals and English words, with units folded to a base."""

from __future__ import annotations

import pytest

from simulator.quantities import plain_numbers, quantities, to_digits


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("签收后七天内可以换一次", [(7, 7, "day"), (1, 1, "times")]),
        ("运费险赔八到二十五元", [(8, 25, "yuan")]),
        ("一般两三天到", [(2, 3, "day")]),
        ("一个半小时", [(1.5, 1.5, "hour")]),
        ("保修两年", [(24, 24, "month")]),
        ("a two-year warranty", [(24, 24, "month")]),
        ("within a week", [(7, 7, "day")]),
        ("within thirty days", [(30, 30, "day")]),
        ("fifty dollars of credit", [(50, 50, "usd")]),
        ("3–5 business days", [(3, 5, "workday")]),
        ("一百八十九块", [(189, 189, "yuan")]),
        ("¥20 红包", [(20, 20, "yuan")]),
        ("165cm，52公斤", [(1650, 1650, "mm"), (52000, 52000, "gram")]),
    ],
)
def test_quantities_however_written(text: str, expected: list[tuple[float, float, str]]) -> None:
    assert [(q.lo, q.hi, q.unit) for q in quantities(to_digits(text))] == expected


@pytest.mark.parametrize("text", ["十分感谢", "一定帮您处理", "稍等一下", "one more thing", "no one else"])
def test_words_that_only_look_like_numbers_stay_words(text: str) -> None:
    assert quantities(to_digits(text)) == []


def test_a_count_is_not_a_duration() -> None:
    (count,) = quantities(to_digits("可以免费换一次"))
    assert count.unit == "times" and count.lo == 1


def test_plain_numbers_include_written_ones() -> None:
    assert plain_numbers("满三百减三十，订单号2024001") == {"300", "30", "2024001"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a 14-day exchange window", [(14, 14, "day")]),
        ("a 1-year warranty", [(12, 12, "month")]),
        ("百分之七十羊毛", [(70, 70, "pct")]),
        ("七成羊毛三成锦纶", [(70, 70, "pct"), (30, 30, "pct")]),
        ("百分之百桑蚕丝", [(100, 100, "pct")]),
        ("19姆米真丝", [(19, 19, "momme")]),
    ],
)
def test_hyphenated_units_percent_words_and_tenths(text: str, expected: list[tuple[float, float, str]]) -> None:
    assert [(q.lo, q.hi, q.unit) for q in quantities(to_digits(text))] == expected
