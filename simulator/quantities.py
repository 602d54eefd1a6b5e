"""Numbers as people write them: digits, Chinese numerals and English number words, with their units.

"七天无理由", "7天", "a week", "seven days" are the same policy window; "一次" is a count of times, never "1 day";
"两三天" is 2–3 days; "fifty dollars of credit" is $50. The knowledge check, the authority check and the customer
read numbers through this one module so they agree on what a reply said.

* Chinese numerals are converted only where they are quantities — before a unit (天, 次, 件, 元, 年, 小时 …),
  after 第, or in a range ("八到二十五元") — so "一定", "一下" and "十分感谢" stay words. Conversion is cn2an's.
* English number words are converted by text2num ("thirty days" → "30 days", "a two-year warranty" → "2 year").
* Units are folded into families with a common base ("a week" = 7 days, "2 years" = 24 months) so a value can
  be compared however it was written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# Chinese quantity units, longest first when alternated. Every spelling maps to (family, factor to the base).
_UNITS: dict[str, tuple[str, float]] = {
    # durations
    "个工作日": ("workday", 1),
    "工作日": ("workday", 1),
    "business days": ("workday", 1),
    "business day": ("workday", 1),
    "working days": ("workday", 1),
    "working day": ("workday", 1),
    "个小时": ("hour", 1),
    "小时": ("hour", 1),
    "hours": ("hour", 1),
    "hour": ("hour", 1),
    "hrs": ("hour", 1),
    "h": ("hour", 1),
    "分钟": ("hour", 1 / 60),
    "minutes": ("hour", 1 / 60),
    "minute": ("hour", 1 / 60),
    "mins": ("hour", 1 / 60),
    "天": ("day", 1),
    "日": ("day", 1),
    "days": ("day", 1),
    "day": ("day", 1),
    "周": ("day", 7),
    "个星期": ("day", 7),
    "星期": ("day", 7),
    "weeks": ("day", 7),
    "week": ("day", 7),
    "个月": ("month", 1),
    "月": ("month", 1),
    "months": ("month", 1),
    "month": ("month", 1),
    "年": ("month", 12),
    "years": ("month", 12),
    "year": ("month", 12),
    # money
    "元": ("yuan", 1),
    "块钱": ("yuan", 1),
    "块": ("yuan", 1),
    "rmb": ("yuan", 1),
    "dollars": ("usd", 1),
    "dollar": ("usd", 1),
    "bucks": ("usd", 1),
    # measures
    "公斤": ("gram", 1000),
    "kg": ("gram", 1000),
    "斤": ("gram", 500),
    "克": ("gram", 1),
    "g": ("gram", 1),
    "厘米": ("mm", 10),
    "cm": ("mm", 10),
    "毫米": ("mm", 1),
    "mm": ("mm", 1),
    "km": ("km", 1),
    "公里": ("km", 1),
    "inches": ("inch", 1),
    "inch": ("inch", 1),
    # shares and counts
    "%": ("pct", 1),
    "％": ("pct", 1),
    "percent": ("pct", 1),
    "折": ("discount-tenth", 1),
    "次": ("times", 1),
    "times": ("times", 1),
    "件": ("piece", 1),
    "双": ("pair", 1),
}
UNIT_WORDS = tuple(sorted(_UNITS, key=len, reverse=True))
_UNIT_ALT = "|".join(re.escape(u) for u in UNIT_WORDS)
_CN_NUMERAL = "零〇一二两三四五六七八九十百千万"
_CN_RUN = re.compile(rf"[{_CN_NUMERAL}]+(?:点[{_CN_NUMERAL}]+)?")
# A Chinese numeral is a quantity before a unit (optionally through 个 or 多), after 第, or as the first end of a
# range whose other end is one.
_CN_QUANTITY = re.compile(
    rf"(?P<pre>第|满|减)?(?P<num>[{_CN_NUMERAL}]+(?:点[{_CN_NUMERAL}]+)?)"
    rf"(?=(?P<after>个?多?(?:{_UNIT_ALT})|[到至~～-]))"
    rf"|(?P<pre2>满|减)(?P<num2>[{_CN_NUMERAL}]+)"
)
# "两三天", "七八个小时": two neighbouring numerals are a range.
_NEIGHBOURS = re.compile(rf"([一二两三四五六七八])([二三四五六七八九])(?=个?(?:{_UNIT_ALT}))")
_CN_ORDER = "一二三四五六七八九"
_CN_HALF = re.compile(rf"([{_CN_NUMERAL}]+|\d+)个半(小时|月)")
_HALF_ALONE = re.compile(r"(?<![\d个])半(个)?(小时|月|年|天)")
_EN_HYPHEN_UNIT = re.compile(r"\b([a-z]+)-(year|month|week|day|hour|minute)s?\b", re.I)
_EN_A_UNIT = re.compile(r"\b(?:a|an|one)\s+(year|month|week|day|hour|fortnight)\b", re.I)
_NUM = r"\d+(?:\.\d+)?"
QUANTITY_RE = re.compile(
    rf"(?P<cur>[¥￥$])?\s?(?P<lo>{_NUM})\s?(?:(?:[-–~〜～至到]|to)\s?[¥￥$]?\s?(?P<hi>{_NUM}))?\s?"
    rf"(?:个|多)?\s?(?P<unit>{_UNIT_ALT})?(?![A-Za-z])",
    re.IGNORECASE,
)


@lru_cache(maxsize=4096)
def _cn(num: str) -> str:
    import cn2an

    try:
        value = cn2an.cn2an(num, "smart")
    except (ValueError, KeyError):
        return num
    return f"{value:g}" if isinstance(value, float) else str(value)


# Loose reading (what a customer says about themselves: "我一米六五，一百零四"): any run of two or more numerals, or
# 十, is a number; a single 一…九 only before a measure word or after 尺/米; weekdays (周一, 星期三) stay words.
_CN_LOOSE_RUN = re.compile(
    r"(?<![周期拜])[零〇一二两三四五六七八九十百千万](?:[零〇一二两三四五六七八九十百千万]|点(?=[零〇一二两三四五六七八九]))*"
)
_CN_MEASURE = re.compile(
    r"\s*(天|斤|公斤|千克|件|个|次|岁|号|码|周|月|年|小时|分钟|分|米|厘米|尺|寸|块|元|倍|条|双|层|cm|kg)"
)
_CN_SINGLE = "零〇一二两三四五六七八九"
_DIGIT_OF = dict(zip(_CN_SINGLE, "00122345678 9".replace(" ", ""), strict=True))


def _loose(m: re.Match[str], text: str) -> str:
    run = m.group(0)
    if len(run) == 1 and run in _CN_SINGLE:
        before = text[m.start() - 1] if m.start() > 0 else ""
        if not (_CN_MEASURE.match(text, m.end()) or (before and before in "尺米")):
            return run  # 一下, 一般, 一点
    whole, _, frac = run.partition("点")
    if whole and all(c in _CN_SINGLE for c in whole):  # 六五 → 65, 一六五 → 165: digits read one by one
        value = "".join(_DIGIT_OF[c] for c in whole)
        return value + (f".{''.join(_DIGIT_OF.get(c, c) for c in frac)}" if frac else "")
    return _cn(run)


@lru_cache(maxsize=8192)
def to_digits(text: str, *, loose: bool = False) -> str:
    """``text`` with every written-out number that is a quantity turned into digits.

    ``loose`` reads every numeral run as a number (for what a customer says about themselves, where "一百零四"
    comes without 斤); the default reads only quantities, so "一定" and "十分感谢" stay words. The result may
    differ in length from the input: use it to read numbers, never for evidence spans.
    """
    if loose and any(ch in text for ch in _CN_NUMERAL):
        text = _CN_LOOSE_RUN.sub(lambda m: _loose(m, text), text)
    elif any(ch in text for ch in _CN_NUMERAL):
        text = _NEIGHBOURS.sub(_neighbours, text)
        text = _CN_HALF.sub(lambda m: f"{_cn(m.group(1))}.5{m.group(2)}", text)
        text = _CN_QUANTITY.sub(_quantity, text)
        # The other end of a range: "八到二十五元" → "8到25元" (the first pass converted 八 only).
        text = re.sub(rf"(?<=[到至~～-])([{_CN_NUMERAL}]+)(?=个?(?:{_UNIT_ALT}))", lambda m: _cn(m.group(1)), text)
    text = _HALF_ALONE.sub(lambda m: f"0.5{m.group(2)}", text)
    if re.search(r"[A-Za-z]", text):
        text = _english(text)
    return text


def _quantity(m: re.Match[str]) -> str:
    if m.group("num") is not None:
        return (m.group("pre") or "") + _cn(m.group("num"))
    return m.group("pre2") + _cn(m.group("num2"))


def _neighbours(m: re.Match[str]) -> str:
    a, b = ("一" if m.group(1) == "两" else m.group(1)), m.group(2)
    if _CN_ORDER.index(b) != _CN_ORDER.index(a) + 1 and not (m.group(1) == "两" and b == "三"):
        return m.group(0)
    return f"{_cn(m.group(1))}-{_cn(b)}"


def _english(text: str) -> str:
    from text_to_num import alpha2digit

    text = _EN_HYPHEN_UNIT.sub(r"\1 \2", text)  # "two-year warranty" → "two year warranty"
    text = _EN_A_UNIT.sub(lambda m: "2 weeks" if m.group(1).lower() == "fortnight" else f"1 {m.group(1)}", text)
    try:
        return alpha2digit(text, "en", threshold=0)
    except Exception:  # the library on odd input: keep the words rather than fail a grade
        return text


@dataclass(frozen=True)
class Quantity:
    """A number with its unit, as written and in the unit family's base.

    Attributes:
        lo: The value in the base unit (lower end of a range).
        hi: Upper end of a range (equal to ``lo`` for a single value).
        unit: The unit family (day, workday, hour, month, yuan, usd, gram, mm, pct, times …).
        number: The quantity as it stands in the digit form of the text ("7天", "8到25元", "$50").
        start: Where the quantity (with its currency sign) starts in the digit form of the text.
        end: Where it ends, after its unit.
    """

    lo: float
    hi: float
    unit: str
    number: str
    start: int
    end: int


def quantities(text: str) -> list[Quantity]:
    """Every number with a unit or a currency sign in ``text`` (already in digit form: see :func:`to_digits`)."""
    out = []
    for m in QUANTITY_RE.finditer(text):
        unit_word, cur = m.group("unit"), m.group("cur")
        family, factor = _UNITS.get(unit_word.lower(), (None, 1.0)) if unit_word else (None, 1.0)
        if cur == "$":
            family, factor = "usd", 1.0
        elif cur and family is None:
            family, factor = "yuan", 1.0
        if family is None:
            continue
        lo = float(m.group("lo"))
        hi = float(m.group("hi")) if m.group("hi") else lo
        if hi < lo:
            continue
        number = m.group(0).strip()
        out.append(Quantity(lo * factor, hi * factor, family, number, m.start(), m.end()))
    return out


def plain_numbers(text: str) -> set[str]:
    """Every bare number in ``text`` after written-out numbers became digits ("七" → "7")."""
    return set(re.findall(_NUM, to_digits(text)))
