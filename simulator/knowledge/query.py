"""Query normalisation: how buyers type → how the knowledge base is written.

Buyers write "165 52斤穿啥码", "发票咋开", "能便宜点不"; documents say 身高, 体重, 尺码, 开具发票, 优惠券. Two
general rewrites close that gap before searching, without knowing any answer:

* **Measurements**: a height (``165``, ``1米65``, ``165cm``) or a weight (``52斤``, ``52kg``, ``104 lbs``) is
  recognised and the words the size charts use are added (身高 / 体重 / 尺码), with the weight also given in
  the other unit (52kg → 104斤), because Chinese charts are in 斤 and buyers use both.
* **Colloquial synonyms**: a list of everyday shop words mapped to the words documents use (咋 → 怎么,
  码 → 尺码, 便宜 → 优惠). Matches only add words; the buyer's own words always stay.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Colloquial or alternative wording → words knowledge documents use. Keys are matched as substrings (Chinese)
# or whole words (English). General vocabulary of online-shop service, not tied to any one question.
SYNONYMS: dict[str, str] = {
    # question words and particles
    "咋": "怎么",
    "啥": "什么",
    "多久": "多长时间 几天",
    "能不能": "可以",
    # sizes and fit
    "码": "尺码",
    "穿多大": "尺码",
    "大小": "尺码",
    "胖": "体重 偏大",
    "瘦": "体重 偏小",
    "显瘦": "版型",
    "合身": "尺码 版型",
    # price and discounts
    "便宜": "优惠 优惠券 折扣",
    "优惠": "优惠券 折扣",
    "打折": "优惠 折扣",
    "少点": "优惠 折扣",
    "抹零": "优惠 折扣",
    "券": "优惠券",
    "降价": "价保 差价",
    "差价": "价保",
    "买贵": "价保 差价",
    "满减": "优惠券",
    # returns, exchanges, refunds
    "退": "退货 退款",
    "不要了": "退货 退款",
    "换": "换货",
    "换个": "换货",
    "不合适": "退换货 尺码",
    "运费": "运费险 运费",
    "邮费": "运费",
    "寄回": "退货 运费",
    # invoices
    "发票": "开票 开具发票",
    "开票": "发票",
    "报销": "发票",
    "公司": "单位 税号",
    # shipping and logistics
    "几天到": "物流 配送 时效",
    "多久到": "物流 配送 时效",
    "啥时候发": "发货 时间",
    "什么时候发": "发货 时间",
    "发货": "发货 快递",
    "快递": "物流 快递",
    "到哪": "物流 查件",
    "不动": "物流 停滞 催件",
    "没更新": "物流 停滞 催件",
    "丢了": "丢件 物流",
    "破了": "破损 质量",
    "坏了": "质量问题 破损",
    "顺丰": "快递 顺丰",
    "地址": "修改地址",
    # product care and quality
    "洗": "洗涤 清洗",
    "机洗": "洗涤 洗衣机",
    "起球": "起球 质量",
    "掉色": "褪色 掉色",
    "褪色": "掉色",
    "缩水": "洗涤 缩水",
    "皱": "易皱",
    "线头": "质量 瑕疵 补偿",
    "色差": "质量 瑕疵 补偿",
    "料子": "面料 材质",
    "面料": "材质 成分",
    "什么料": "面料 材质",
    "透": "面料 透气",
    "保暖": "羽绒 羊毛 保暖",
    # reviews and complaints
    "好评": "评价 好评返现",
    "返现": "好评返现",
    "差评": "评价 差评 投诉",
    "投诉": "投诉 升级",
    "领导": "组长 主管 升级",
    "会员": "会员 积分",
    # English
    "cheap": "discount price",
    "cheaper": "discount price match",
    "refund": "return refund",
    "send back": "return",
    "arrive": "shipping delivery",
    "deliver": "shipping delivery",
    "ship": "shipping",
    "broken": "defect warranty",
    "fit": "size sizing",
    "size": "size sizing chart",
    "manager": "supervisor authority",
    "wash": "care",
}

_NUM = r"(\d+(?:\.\d+)?)"
_HEIGHT_RE = re.compile(rf"([12])米([0-9]{{1,2}})|{_NUM}\s*(?:cm|厘米|公分)")
# A bare 140-199 is a height only next to a weight or the word 高 (else "满199减10" would be one).
_BARE_HEIGHT_RE = re.compile(r"(?<![\d.¥$满减])(1[4-9]\d)(?![\d.元块]|\s*(?:斤|公斤|kg|千克|lb))", re.I)
_WEIGHT_RE = re.compile(rf"{_NUM}\s*(斤|公斤|kg|千克|lbs?|pounds?)(?![a-z])", re.I)
_ASCII_WORD = re.compile(r"[a-z]")


@dataclass(frozen=True)
class Query:
    """A normalised query.

    Attributes:
        original: What the user typed.
        typed: The same, NFKC-normalised (full-width letters and digits made ASCII).
        added: The words that were added.
    """

    original: str
    typed: str
    added: tuple[str, ...]

    @property
    def added_text(self) -> str:
        """The added words as one string (empty when nothing was added)."""
        return " ".join(self.added)

    @property
    def text(self) -> str:
        """Typed text plus the added words: what is embedded."""
        return f"{self.typed} {self.added_text}" if self.added else self.typed


def normalise_query(query: str, synonyms: dict[str, str] | None = None) -> Query:
    """Rewrite a buyer's question into the vocabulary of the knowledge base (only ever adding words).

    Args:
        query: The question as typed.
        synonyms: Colloquial → document words; defaults to :data:`SYNONYMS`.
    """
    table = SYNONYMS if synonyms is None else synonyms
    text = unicodedata.normalize("NFKC", query).strip()
    low = text.lower()
    added: list[str] = []

    def add(*words: str) -> None:
        for w in words:
            if w and w not in added and w not in low:
                added.append(w)

    height = _HEIGHT_RE.search(low)
    weight = _WEIGHT_RE.search(low)
    cm = _height_cm(height) if height else None
    if cm is None and (weight or "高" in low):
        bare = _BARE_HEIGHT_RE.search(low)
        cm = int(bare.group(1)) if bare else None
    if cm:
        add("身高", f"{cm}cm")
    if weight:
        value, unit = float(weight.group(1)), weight.group(2).lower()
        if unit == "斤":
            add("体重", f"{_fmt(value / 2)}kg")
        elif unit.startswith(("lb", "pound")):
            add("weight", f"{_fmt(value * 0.4536)}kg")
        else:
            add("体重", f"{_fmt(value * 2)}斤")
    if cm or weight:
        add("尺码")
    for key, words in table.items():
        if _ASCII_WORD.match(key):
            if re.search(rf"\b{re.escape(key)}\b", low):
                add(*words.split())
        elif key in low:
            add(*words.split())
    return Query(original=query, typed=text, added=tuple(added))


def _height_cm(m: re.Match[str]) -> int | None:
    if m.group(1):  # 1米65
        tail = m.group(2)
        return 100 * int(m.group(1)) + (int(tail) * 10 if len(tail) == 1 else int(tail))
    value = float(m.group(3))
    return int(value) if 120 <= value <= 220 else None


def _fmt(v: float) -> str:
    return str(round(v)) if abs(v - round(v)) < 0.05 else f"{v:.1f}"
