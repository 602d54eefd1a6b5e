"""Keyword tokens for the BM25 side of search: jieba words for Chinese, stemmed word tokens for English.

Chinese has no spaces, and jieba's default dictionary cuts shop vocabulary badly (``7天无理由退货`` →
``天无 / 理由 / 货运``), so the tokenizer loads a small dictionary of e-commerce service words and also emits
overlapping character bigrams of every Chinese run: bigrams match whatever the segmenter got wrong, and the
word tokens keep the precision of whole words. English is lower-cased, split into word tokens, stripped of
stop words and Snowball-stemmed (``returns`` / ``returned`` → ``return``).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import cached_property, lru_cache
from typing import Any

from simulator.text import CJK_RUN, has_cjk

# General customer-service and apparel vocabulary (not answers): words jieba would otherwise cut apart.
_SHOP_WORDS_TEXT = """
    七天无理由 无理由退货 退货运费险 运费险 价保 价格保护 保价 好评返现 返现 差评 追评 中评
    晒图 尺码表 尺码 码数 偏大 偏小 正码 均码 腰围 胸围 臀围 衣长 裤长 袖长 肩宽 身高
    体重 真丝 桑蚕丝 姆米 羊绒 羊毛 双面呢 羽绒服 白鸭绒 充绒量 开衫 阔腿裤 半身裙 连衣裙
    防晒衣 卫衣 冰丝 亚麻 雪纺 聚酯纤维 粘纤 氨纶 锦纶 腈纶 起球 掉色 缩水 机洗 手洗 干洗
    平铺晾干 电子发票 普通发票 增值税专用发票 专票 普票 税号 开票 抬头 优惠券 店铺券 购物券
    满减 定金 尾款 秒杀 直播间 会员 88VIP 顺丰 中通 快递 物流 催件 查件 签收 拒收
    改地址 发货 换货 退货 退款 仅退款 补偿 补发 小额补偿 红包 组长 主管 插旗 备注 投诉
    升级 售后 售前
"""
SHOP_WORDS = tuple(_SHOP_WORDS_TEXT.split())

_EN_STOP_TEXT = """
    a an and are as at be been but by can could did do does for from had has have how i i'm if in into
    is it its me my of on or our so than that the their them then there these they this to was we were
    what when where which who will with would you your
"""
EN_STOP_WORDS = frozenset(_EN_STOP_TEXT.split())
_ZH_STOP_TEXT = """
    的 了 吗 呢 啊 吧 呀 哦 嘛 么 哈 啦 呗 嗯 是 我 你 他 她 它 们 这 那 在 和
    与 就 都 也 还 又 很 亲 您
"""
_ZH_STOP = frozenset(_ZH_STOP_TEXT.split())
_WORD = re.compile(r"[a-z0-9]+(?:['.][a-z0-9]+)*")


@lru_cache(maxsize=8)
def _load_jieba(extra_words: tuple[str, ...]) -> Any:
    # Loading jieba's dictionary takes ~0.7 s; one per word list per process. Nothing mutates it after this.
    import jieba

    # jieba logs its dictionary build at INFO on stderr; that noise would interleave with CLI output.
    logging.getLogger("jieba").setLevel(logging.WARNING)
    jieba.setLogLevel(logging.WARNING)
    tk = jieba.Tokenizer()  # a private instance: adding words never changes anyone else's jieba
    tk.initialize()
    for word in (*SHOP_WORDS, *extra_words):
        tk.add_word(word, freq=20000)
    return tk


class Tokenizer:
    """Text → keyword tokens for BM25, the same for documents and queries.

    Args:
        bigrams: Also emit overlapping Chinese character bigrams (robust to segmentation mistakes).
        extra_words: More words for jieba's dictionary (e.g. product names of another shop).
    """

    def __init__(self, bigrams: bool = True, extra_words: tuple[str, ...] = ()):
        self.bigrams = bigrams
        self._extra = extra_words

    @cached_property
    def _jieba(self) -> Any:
        return _load_jieba(self._extra)

    @cached_property
    def _stem(self) -> Any:
        try:
            import Stemmer

            stemmer = Stemmer.Stemmer("english")
            return stemmer.stemWord
        except ImportError:  # stemming is an improvement, not a requirement
            return lambda w: w

    def tokens(self, text: str) -> list[str]:
        """Keyword tokens of ``text`` in order (duplicates kept: BM25 counts term frequency)."""
        text = unicodedata.normalize("NFKC", text).lower()
        out: list[str] = []
        stem = self._stem
        for piece in self._jieba.cut_for_search(text):
            piece = piece.strip()
            if not piece:
                continue
            if has_cjk(piece):
                if piece not in _ZH_STOP:
                    out.append(piece)
            else:
                for w in _WORD.findall(piece):
                    if w not in EN_STOP_WORDS:
                        out.append(stem(w) if w.isalpha() else w)
        if self.bigrams:
            for run in CJK_RUN.findall(text):
                # A separate namespace ("~"): a two-character word and the same bigram are different terms
                # with their own document frequency, so two-character words are not counted twice.
                out += ["~" + run[i : i + 2] for i in range(len(run) - 1)]
        return out

    def many(self, texts: list[str]) -> list[list[str]]:
        """Tokens of each text."""
        return [self.tokens(t) for t in texts]
