"""The tone of a customer line (upset, neutral, pleased) and the mood the chat shows next to it.

The mood level drives the face shown beside a customer message; a smiling face beside "这服务太差了，我要给差评"
is the kind of contradiction a trainee notices at once. Both engines therefore pass the mood they computed
through :func:`mood_for_line`: a line that sounds upset is shown as at least *annoyed*, a line that sounds
pleased as at least *neutral*; everything else keeps the computed mood.

Tone is read from a small lexicon (zh-CN and English together: buyers mix them) of clear markers — complaints,
threats, exasperation, repeated question marks, angry emoji on one side; thanks, relief, happy emoji on the
other. A line with markers of both kinds, or none, is neutral. ``tests/test_customer_tone.py`` measures it
against hand-labelled lines.
"""

from __future__ import annotations

import re

from simulator.text import normalise_text

UPSET, NEUTRAL, PLEASED = -1, 0, 1

_NEGATIVE = re.compile(
    r"投诉|差评|举报|12315|生气|气死|火大|无语|离谱|敷衍|踢皮球|什么意思|凭什么|太差|真差|垃圾|坑人|骗子?|骗人|忽悠"
    r"|算了|不买了|不要了|别绕|别废话|快点|搞什么|搞没搞错|怎么回事|受不了|失望|烦死|烦不烦|不耐烦|服了|过分|不满意"
    r"|(叫|找|要)[^，。,.]{0,4}(经理|负责人|主管)|你们(到底|怎么)|还要我|不想再|没用|开空头支票|你保证\?|拿什么保证"
    r"|问你呢|说话啊|人呢|等着|走着瞧|呵呵"
    r"|撒谎|截图|口气|乱说|说重点|措辞|去别家|别家问|去商场|一动不动|什么态度|好好说话|至于吗|不想买|不专业"
    r"|[?？]{2,}|[!！]{3,}|😡|😠|😤|🙄|😒|💢|🤬|😩"
    r"|\bugh\b|seriously|ridiculous|terrible|worst|\brude\b|forget it|useless|unacceptable|complaint|complain"
    r"|one[- ]star|1[- ]star|annoy|angry|furious|fed up|waste of|not happy|disappointed|scam|\bwtf\b|\bnvm\b"
    r"|thanks for nothing|rubbish|\bno\.\s*$|money back|buy from someone else|someone who knows"
    r"|what do you mean|are you kidding|you'?re joking|done\. bye|not worth it|manager|what kind of service"
)
_POSITIVE = re.compile(
    r"谢谢|多谢|感谢|太好了|太棒了|放心|好嘞|好滴|哈哈|开心|满意|不错|真好|贴心|靠谱|爱了|棒|可以可以|麻烦你了|辛苦"
    r"|(?<!不)专业|真有耐心"
    r"|😊|😄|😁|😀|😃|🥰|😍|❤️|❤|👍|🙌|🎉|😇|✨"
    r"|thank|\bthx\b|\bty\b|amazing|perfect|great|awesome|\byay\b|lovely|excellent|\blove\b|sounds good"
    r"|that'?s fine|happy|appreciate|\bsweet\b|\bcool\b|glad|relieved|\bnice\b|cheers|helpful"
)


def tone(text: str) -> int:
    """``UPSET`` (-1), ``NEUTRAL`` (0) or ``PLEASED`` (1) for one customer line."""
    norm = normalise_text(text)
    neg = len(_NEGATIVE.findall(norm))
    pos = len(_POSITIVE.findall(norm))
    if neg and not pos:
        return UPSET
    if pos and not neg:
        return PLEASED
    if neg and pos:  # "算了，谢谢" is leaving politely, "thanks for nothing" is not thanks
        return PLEASED if pos > neg else UPSET
    return NEUTRAL


def mood_for_line(mood: int, text: str) -> int:
    """The mood to show beside ``text``: ``mood`` moved just far enough to agree with the line's tone."""
    t = tone(text)
    if t == UPSET:
        return min(mood, -1)
    if t == PLEASED:
        return max(mood, 0)
    return mood
