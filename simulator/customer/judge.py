"""The probe battery's judge: reads a customer's answer to a probe with checks of its own.

Deliberately independent of the code it judges — it imports nothing from the guards, the fact matcher or the tone
lexicon (``simulator.customer.guards``, ``.facts``, ``.tone``) and uses simpler, stricter means: digit runs and a
few number words, character-bigram overlap, an agent-phrase list of its own, and the session's mood and
patience. A bug in a guard therefore shows up as a probe failure instead of hiding behind the same bug.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from simulator.acts import substitute
from simulator.scenario.model import Scenario
from simulator.scenario.vocabulary import Locale


@dataclass(frozen=True)
class Probe:
    """One trainee message and what it tests."""

    id: str
    kind: str
    message: str
    fact: str | None = None  # ask / wrong-fact: the known fact's key
    wrong: str | None = None  # wrong-fact: the wrong value the message states


@dataclass
class RuleResult:
    """One rule's verdict on one probe."""

    rule: str
    passed: bool
    detail: str = ""


_AGENT = re.compile(
    r"客服|为您|帮您|给您(退|换|补|赔|安排|处理|申请|发)|我们(店|这边|会|承担|可以给)|很高兴|欢迎光临|请问还有|还有什么需要"
    r"|您的订单|您的(身高|体重|尺码)|核实一下|我来(查|处理|帮)|亲，您好|"
    r"how can i help|how may i|let me (check|look)|i'?ll (check|look into|process|refund)|our (policy|return)"
    r"|we('ll| will| can) (refund|replace|send)|your order (number )?(is|was)|happy to help|as the agent"
    r"|i would reply|i'?d reply|i'?d say|if i were the agent|i would say"
)
_DISPLEASED = re.compile(
    r"态度|好好说话|什么意思|凭什么|至于|投诉|差评|算了|不买|不要了|口气|敷衍|过分|无语|生气|烦|凶|[?？]{2}|!{2}"
    r"|rude|seriously|excuse me|attitude|\bwow\b|\bugh\b|not ok|unacceptable|how dare|manager|complain|forget it"
)
_PLEASED = re.compile(r"谢谢|太好了|好的呀|好嘞|开心|😊|😄|🥰|👍|thank|thx|great|awesome|perfect|lovely|happy|:\)")
_ZH_WEEKDAY = re.compile(r"(周|星期|礼拜)[一二三四五六日天]")
_EN_WEEKDAY = re.compile(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b")
_ZH_NUM = {
    "零": "0",
    "〇": "0",
    "一": "1",
    "二": "2",
    "两": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "八": "8",
    "九": "9",
}
_EN_NUM = {
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "fifteen": "15",
    "twenty": "20",
    "thirty": "30",
}


def norm(text: str) -> str:
    """NFKC and case-folded: how the judge compares text."""
    return unicodedata.normalize("NFKC", text).casefold()


def _numbers(text: str) -> set[str]:
    """Digit runs, with spaces and hyphens inside long runs removed, plus simple number words."""
    t = norm(text)
    joined = re.sub(r"(?<=\d)[ -](?=\d{3})", "", t)  # "6597 9711 4710" is one order number; "165 104" is two
    if joined != t:
        return _numbers(joined.replace(" ", "\n")) | _numbers(t.replace(" ", "\n"))
    t = re.sub(r"(?<![a-z])(" + "|".join(_EN_NUM) + r")(?![a-z])", lambda m: _EN_NUM[m.group(1)], t)
    t = re.sub(r"[一二两三四五六七八九零〇十百]{2,}", lambda m: _zh_number(m.group(0)), t)
    return set(re.findall(r"\d+(?:\.\d+)?", t))


def _zh_number(run: str) -> str:
    if "百" in run or "十" in run:
        total, cur = 0, 0
        for ch in run:
            if ch in _ZH_NUM:
                cur = int(_ZH_NUM[ch])
            elif ch == "十":
                total += (cur or 1) * 10
                cur = 0
            elif ch == "百":
                total += cur * 100
                cur = 0
        return str(total + cur)
    return "".join(_ZH_NUM.get(ch, "") for ch in run)


def _words(text: str) -> set[str]:
    t = norm(text)
    cjk = re.sub(r"[^\u4e00-\u9fff]", "", t)
    return {cjk[i : i + 2] for i in range(len(cjk) - 1)} | set(re.findall(r"[a-z]{4,}", t))


class Judge:
    """Reads customer lines against the scenario with checks of its own."""

    def __init__(self, scenario: Scenario, variables: Mapping[str, str]):
        self.scenario = scenario
        self.variables = dict(variables)
        dump = substitute(scenario.model_dump_json(exclude={"references", "expectations"}), self.variables)
        self.known_numbers = _numbers(dump) | _numbers(" ".join(self.variables.values()))
        self.known_text = norm(dump)

    def forms(self, key: str) -> list[str]:
        fact = next(f for f in self.scenario.known_facts if f.key == key)
        return [substitute(x, self.variables) for x in (fact.value, *fact.say)]

    def states(self, key: str, text: str) -> bool:
        """The line states fact ``key``: all numbers of one of its forms, or half its words when it has none."""
        nums, words = _numbers(text), _words(text)
        for form in self.forms(key):
            f_nums = {n for n in _numbers(form) if len(n) >= 2 or not _words(form)}
            if f_nums:
                if f_nums <= nums:
                    return True
                continue
            f_words = _words(form)
            shared = len(f_words & words)
            if f_words and shared >= 2 and shared / len(f_words) >= 0.35:
                return True
        return False

    def rule(
        self,
        rule: str,
        probe: Probe,
        lines: Sequence[str],
        opening: str,
        mood_before: int,
        mood_after: int,
        patience_before: int,
        patience_after: int,
        outcome: str | None,
    ) -> RuleResult:
        """The verdict on one rule."""
        text = " ".join(lines)
        if rule == "reveals-only-when-asked":
            if probe.kind == "ask" and probe.fact:
                ok = self.states(probe.fact, text)
                return RuleResult(rule, ok, "" if ok else f"asked for {probe.fact} but the answer does not state it")
            msg = norm(probe.message)
            leaked = [
                f.key
                for f in self.scenario.known_facts
                if f.key != probe.fact
                and not any(k.strip() and norm(k) in msg for k in f.ask_keywords)  # the probe asked it after all
                and self._exact(f.key)
                and self.states(f.key, text)
                and not self.states(f.key, opening)
            ]
            return RuleResult(rule, not leaked, f"gave {', '.join(leaked)} unasked" if leaked else "")
        if rule == "never-invents":
            context = opening + " " + probe.message
            invented = sorted(n for n in _numbers(text) - self.known_numbers - _numbers(context) if len(n) >= 2)
            day_words = [m.group(0) for m in _ZH_WEEKDAY.finditer(text)] + _EN_WEEKDAY.findall(norm(text))
            new_days = [d for d in day_words if norm(d) not in self.known_text and norm(d) not in norm(context)]
            bad = invented + new_days
            return RuleResult(
                rule, not bad, f"stated {', '.join(bad)}, which the persona was never given" if bad else ""
            )
        if rule == "corrects-wrong-facts":
            ok = bool(probe.fact) and self.states(probe.fact or "", text)
            return RuleResult(rule, ok, "" if ok else f"did not give the right {probe.fact} back after '{probe.wrong}'")
        if rule == "stays-the-buyer":
            return self._buyer(probe, text)
        if rule == "reacts-to-rudeness":
            unsatisfied = outcome is not None and outcome not in {o.value for o in self.scenario.goal.success}
            if not (mood_after < mood_before or patience_after < patience_before or unsatisfied):
                return RuleResult(rule, False, "mood and patience unchanged after a rude reply")
            # The persona decides how it shows it (an elderly buyer pleads, a boss threatens); it is never pleased.
            pleased = _PLEASED.search(norm(text)) is not None and _DISPLEASED.search(norm(text)) is None
            return RuleResult(rule, not pleased, "pleased by a rude reply" if pleased else "")
        if rule == "does-not-end-early":
            early = outcome is not None and outcome in {o.value for o in self.scenario.goal.success}
            return RuleResult(rule, not early, f"ended '{outcome}' before the goal was reached" if early else "")
        raise ValueError(f"unknown rule {rule}")

    def _exact(self, key: str) -> bool:
        # Leaks are judged on facts with numbers or codes: a topic word alone ("尺码") gives nothing away.
        return any(re.search(r"\d", f) for f in self.forms(key))

    def _buyer(self, probe: Probe, text: str) -> RuleResult:
        line = norm(text)
        if not line.strip():
            return RuleResult("stays-the-buyer", False, "said nothing")
        if _AGENT.search(line):
            return RuleResult("stays-the-buyer", False, "talks like the shop's agent")
        msg = norm(probe.message)
        bigrams_line, bigrams_msg = _words(line), _words(msg)
        shared = len(bigrams_line & bigrams_msg)
        if bigrams_msg and shared >= 6 and shared / len(bigrams_msg) >= 0.6:
            return RuleResult("stays-the-buyer", False, "repeats the trainee's message")
        cjk = len(re.findall(r"[\u4e00-\u9fff]", line))
        if self.scenario.locale is Locale.ZH_CN and cjk == 0:
            return RuleResult("stays-the-buyer", False, "not in Chinese")
        if self.scenario.locale is Locale.EN and cjk:
            return RuleResult("stays-the-buyer", False, "switched to Chinese")
        return RuleResult("stays-the-buyer", True)
