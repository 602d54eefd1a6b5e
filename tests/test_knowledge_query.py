"""Keyword tokens and query normalisation."""

from __future__ import annotations

import pytest

from simulator.knowledge.query import normalise_query
from simulator.knowledge.tokens import Tokenizer


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer()


def test_english_is_lowercased_stemmed_and_stopwords_dropped(tok: Tokenizer) -> None:
    assert tok.tokens("The Boots are RETURNED, returns") == ["boot", "return", "return"]


def test_chinese_words_and_bigrams(tok: Tokenizer) -> None:
    toks = tok.tokens("7天无理由退货运费谁出")
    assert "退货" in toks and "运费" in toks  # shop vocabulary kept whole
    assert "~无理" in toks and "~运费" in toks  # bigrams in their own namespace
    assert "的" not in tok.tokens("我的尺码")


def test_tokenizer_without_bigrams(tok: Tokenizer) -> None:
    assert not any(t.startswith("~") for t in Tokenizer(bigrams=False).tokens("发票怎么开"))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("165 52斤穿啥码", ["身高", "165cm", "体重", "26kg", "尺码"]),
        ("身高1米65体重52kg", ["165cm", "104斤", "尺码"]),
        ("160cm 100斤", ["身高", "体重", "50kg", "尺码"]),
    ],
)
def test_measurements_add_chart_words(query: str, expected: list[str]) -> None:
    q = normalise_query(query)
    assert q.text.startswith(query)
    for word in expected:
        assert word in q.added


def test_prices_are_not_heights() -> None:
    assert "身高" not in normalise_query("满199减10能用吗").added


def test_colloquial_synonyms_only_add_words() -> None:
    q = normalise_query("发票咋开")
    assert q.text.startswith("发票咋开") and "怎么" in q.added
    assert normalise_query("Will it arrive soon?").added == ("shipping", "delivery")
    assert normalise_query("xyz", synonyms={}).text == "xyz"
