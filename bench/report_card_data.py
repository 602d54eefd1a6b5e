"""The report-card gold set: the fault taxonomy and the loader for ``bench/data/report_card/*.jsonl``.

Two kinds of item (one JSON object per line):

* **reply** — the conversation so far (``turns``, ending with the customer) and the trainee ``reply`` under test;
  ``faults`` lists every fault a senior QA lead marks on that reply (anything else the grader reports on it is a
  false finding).
* **conversation** — a complete transcript (``complete: true``, ``outcome``, ``verdict``) whose ``faults`` carry
  the agent ``turn`` they sit on, or no turn for conversation-level faults (a fact never stated, no closing …).

The taxonomy is the benchmark's own, written for trainers (see ``bench/data/report_card/README.md``); it does not
follow the grader's criterion ids. The loader reports every problem as ``path:line:col: message``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.errors import Problem, display_path

DATA_DIR = Path(__file__).resolve().parent / "data" / "report_card"

DIMENSIONS = ("service", "technique", "knowledge", "process", "red-line")

# class -> (dimension, one-line definition). The README gives the full definition and a zh/en example of each.
TAXONOMY: dict[str, tuple[str, str]] = {
    # service 服务
    "rude": ("service", "impolite, impatient, sarcastic or arguing with the buyer"),
    "curt": ("service", "perfunctory or one-word reply, or a brush-off to self-service"),
    "cold-tone": ("service", "a relevant reply in a bare, commanding tone with no courtesy at all"),
    "blame-buyer": ("service", "says or implies the buyer caused the problem, or suspects the buyer"),
    "push-to-courier": ("service", "blames the courier or sends the buyer to deal with the courier"),
    "disparage-competitor": ("service", "runs down another shop or its goods"),
    "no-greeting": ("service", "the first reply opens without greeting, address or (to an upset buyer) apology"),
    "no-closing": ("service", "a conversation that reached its end without thanks, offer of help or goodbye"),
    "no-empathy": ("service", "an upset or anxious buyer gets no acknowledgement, apology or reassurance"),
    "unanswered-question": ("service", "the reply ignores or dodges what the buyer just asked"),
    "refuses-without-alternative": ("service", "says no with no reason and nothing else to offer"),
    "jargon": ("service", "terms the buyer has shown she does not understand, left unexplained"),
    "slow-reply": ("service", "a reply slower than the shop's response-time target"),
    # technique 技巧
    "over-promise": ("technique", "guarantees a fit, date, outcome or '100%' the shop cannot promise"),
    "no-needs-discovery": ("technique", "recommends or decides before asking what it depends on"),
    "no-objection-handling": ("technique", "a price or doubt objection met with no value, proof or offer"),
    "no-closing-attempt": ("technique", "a pre-sales chat with an interested buyer ends with no move to order"),
    "pushy": ("technique", "pressure selling: urgency, closing threats or pushing a buyer who is not buying"),
    "no-fabe": ("technique", "a sales pitch of bare features, no benefit for this buyer"),
    "no-matching": ("technique", "no fitting add-on offered when the buyer asked for one"),
    "no-expectation-setting": ("technique", "the buyer is never told what happens next and when"),
    # knowledge 知识
    "wrong-fact": ("knowledge", "a statement that contradicts the shop's knowledge (negated, wrong number or window)"),
    "missing-fact": ("knowledge", "a fact the conversation called for is never stated"),
    # process 流程
    "skipped-verification": ("process", "acts or rules on an after-sales case before checking order/condition/photos"),
    "wrong-remedy-order": ("process", "breaks the remedy ladder: compensation, then exchange, then return"),
    "exceeds-authority": ("process", "grants an amount, gift or exception beyond the agent's authority"),
    "refuses-escalation": ("process", "refuses or ignores a request that must go to the team lead"),
    "missing-step": ("process", "a required step of the scenario is never done"),
    "wrong-step-order": ("process", "a step done before the one that must precede it"),
    "missing-note": ("process", "no order note or flag where the SOP requires one"),
    # red lines 红线 (fail an exam whatever the points)
    "red-line:cashback": ("red-line", "money, credit, gifts or coupons in exchange for a review"),
    "red-line:off-platform": ("red-line", "moving payment or contact off the platform (private transfer, WeChat)"),
    "red-line:data-leak": ("red-line", "revealing another buyer's data"),
    "red-line:abuse": ("red-line", "insulting, mocking or accusing the buyer"),
    "red-line:invented-fact": ("red-line", "an invented fact or policy the scenario forbids"),
}

SPLITS = ("tune", "holdout")
VERDICTS = ("pass", "fail", "unscored")
_REPLY_KEYS = {"id", "scenario", "split", "turns", "reply", "faults", "paraphrase_of", "note"}
_CONV_KEYS = {"id", "scenario", "split", "turns", "complete", "outcome", "verdict", "faults", "note"}
_FAULT_KEYS = {"fault", "ref", "note", "turn", "or"}


def dimension(cls: str) -> str:
    """The dimension a fault class belongs to ("unmapped" for classes outside the taxonomy)."""
    return TAXONOMY[cls][0] if cls in TAXONOMY else "unmapped"


@dataclass(frozen=True)
class Fault:
    """One labelled fault: its class, the scenario id it concerns, and equivalent descriptions (``or``)."""

    fault: str
    ref: str | None
    note: str
    turn: int | None = None
    alternatives: tuple[tuple[str, str | None], ...] = ()

    @property
    def options(self) -> tuple[tuple[str, str | None], ...]:
        """(class, ref) pairs any of which describes this fault."""
        return ((self.fault, self.ref), *self.alternatives)

    @property
    def dimension(self) -> str:
        """Dimension of the main class."""
        return dimension(self.fault)


@dataclass
class Item:
    """A gold item: a reply under test in its context, or a whole conversation."""

    id: str
    scenario: str
    split: str
    turns: list[dict[str, str]]
    faults: list[Fault]
    path: str
    line: int
    reply: str | None = None
    paraphrase_of: str | None = None
    outcome: str | None = None
    verdict: str | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """``reply`` or ``conversation``."""
        return "reply" if self.reply is not None else "conversation"

    @property
    def reply_turn(self) -> int | None:
        """Index of the reply under test in :meth:`all_turns` (None for a whole conversation)."""
        return len(self.turns) if self.reply is not None else None

    def all_turns(self, reply: str | None = None) -> list[dict[str, str]]:
        """The turns the grader reads: the context plus the reply (or ``reply`` in its place)."""
        if self.reply is None:
            return list(self.turns)
        return [*self.turns, {"role": "agent", "text": self.reply if reply is None else reply}]


@dataclass
class GoldSet:
    """Every item, by id, with the problems found while loading."""

    items: dict[str, Item] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def of_split(self, split: str) -> list[Item]:
        """Items of one split, in file order."""
        return [i for i in self.items.values() if i.split == split]


def gold_files(paths: Iterable[Path | str] | None = None) -> list[Path]:
    """The ``*.jsonl`` files under ``paths`` (default: the shipped gold set), sorted."""
    out: list[Path] = []
    for p in [Path(x) for x in (paths or [DATA_DIR])]:
        out += sorted(p.glob("*.jsonl")) if p.is_dir() else [p]
    return out


def load_gold(paths: Iterable[Path | str] | None = None, scenario_ids: Mapping[str, set[str]] | None = None) -> GoldSet:
    """Load and validate gold items.

    Args:
        paths: Files or folders of ``.jsonl`` items (default: ``bench/data/report_card``).
        scenario_ids: Scenario id → every fact, step and red-line id it defines; when given, each item's
            scenario and each fault's ``ref`` must exist there.

    Returns:
        The valid items and every problem (``path:line:col``), so one bad line never hides the others.
    """
    gold = GoldSet()
    for path in gold_files(paths):
        shown = display_path(path)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            gold.problems.append(Problem(shown, 0, 0, "", f"cannot read the file ({exc}) — save it as UTF-8 JSONL"))
            continue
        for n, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
            except json.JSONDecodeError as exc:
                gold.problems.append(Problem(shown, n, exc.colno, "", f"invalid JSON: {exc.msg} — one object per line"))
                continue
            item, problems = _parse(data, shown, n, scenario_ids)
            gold.problems += problems
            if item is None:
                continue
            if item.id in gold.items:
                first = gold.items[item.id]
                gold.problems.append(
                    Problem(shown, n, 1, "id", f"duplicate id '{item.id}' (first at {first.path}:{first.line})")
                )
                continue
            gold.items[item.id] = item
    bad = _check_paraphrases(gold.items)
    gold.problems += [p for _, p in bad]
    for item_id, _ in bad:
        gold.items.pop(item_id, None)
    return gold


def _parse(
    data: Any, path: str, line: int, scenario_ids: Mapping[str, set[str]] | None
) -> tuple[Item | None, list[Problem]]:
    problems: list[Problem] = []

    def bad(location: str, message: str) -> None:
        problems.append(Problem(path, line, 1, location, message))

    if not isinstance(data, dict):
        bad("", f"an item is a JSON object, not {type(data).__name__}")
        return None, problems
    is_reply = "reply" in data
    is_conv = data.get("complete") is True
    if is_reply == is_conv:
        bad("", "give either 'reply' (a reply under test) or 'complete': true (a whole conversation), not both/neither")
        return None, problems
    allowed = _REPLY_KEYS if is_reply else _CONV_KEYS
    for key in sorted(set(data) - allowed):
        bad(key, f"unknown key '{key}' — allowed: {', '.join(sorted(allowed))}")
    for key in ("id", "scenario"):
        if not isinstance(data.get(key), str) or not data.get(key):
            bad(key, f"'{key}' must be a non-empty string")
    if data.get("split") not in SPLITS:
        bad("split", f"'split' must be one of {', '.join(SPLITS)}")
    turns = data.get("turns")
    if not isinstance(turns, list) or not turns:
        bad("turns", '\'turns\' must be a non-empty list of {"role": "customer"|"agent", "text": …}')
        turns = []
    for k, t in enumerate(turns):
        if not (isinstance(t, dict) and t.get("role") in ("customer", "agent") and isinstance(t.get("text"), str)):
            bad(f"turns.{k}", 'each turn is {"role": "customer"|"agent", "text": "…"}')
        elif set(t) - {"role", "text"}:
            bad(f"turns.{k}", f"unknown turn keys {sorted(set(t) - {'role', 'text'})}")
    if is_reply:
        if not isinstance(data.get("reply"), str) or not data["reply"].strip():
            bad("reply", "'reply' must be the trainee's non-empty reply")
        if turns and isinstance(turns[-1], dict) and turns[-1].get("role") != "customer":
            bad("turns", "the context must end with the customer's message the reply answers")
        if "paraphrase_of" in data and not isinstance(data["paraphrase_of"], str):
            bad("paraphrase_of", "'paraphrase_of' is the id of an equivalent correct reply")
    else:
        if not isinstance(data.get("outcome"), str):
            bad("outcome", "a whole conversation needs its 'outcome' (bought, resolved, left …)")
        if data.get("verdict", "missing") not in (*VERDICTS, None):
            bad("verdict", "'verdict' must be pass, fail, unscored or null (no firm verdict)")
    faults = _parse_faults(data.get("faults"), turns, is_reply, bad)
    sid = data.get("scenario")
    if scenario_ids is not None and isinstance(sid, str):
        if sid not in scenario_ids:
            bad("scenario", f"no scenario '{sid}' in scenarios/")
        else:
            for k, f in enumerate(faults):
                for cls, ref in f.options:
                    if ref is not None and ref not in scenario_ids[sid]:
                        bad(f"faults.{k}", f"ref '{ref}' ({cls}) is not a fact, step or red-line id of {sid}")
    if problems:
        return None, problems
    item = Item(
        id=data["id"],
        scenario=data["scenario"],
        split=data["split"],
        turns=[{"role": t["role"], "text": t["text"]} for t in turns],
        faults=faults,
        path=path,
        line=line,
        reply=data.get("reply"),
        paraphrase_of=data.get("paraphrase_of"),
        outcome=data.get("outcome"),
        verdict=data.get("verdict"),
        note=data.get("note", ""),
    )
    return item, problems


def _parse_faults(raw: Any, turns: list[Any], is_reply: bool, bad: Any) -> list[Fault]:
    if not isinstance(raw, list):
        bad("faults", "'faults' must be a list (empty when the reply is correct)")
        return []
    out: list[Fault] = []
    for k, f in enumerate(raw):
        where = f"faults.{k}"
        if not isinstance(f, dict):
            bad(where, 'a fault is {"fault": class, "ref": id or null, "note": "why"}')
            continue
        for key in sorted(set(f) - _FAULT_KEYS):
            bad(f"{where}.{key}", f"unknown key '{key}' — allowed: {', '.join(sorted(_FAULT_KEYS))}")
        cls = f.get("fault")
        if cls not in TAXONOMY:
            bad(f"{where}.fault", f"unknown fault class '{cls}' — see bench/data/report_card/README.md")
            continue
        ref = f.get("ref")
        if ref is not None and not isinstance(ref, str):
            bad(f"{where}.ref", "'ref' is a scenario fact/step/red-line id or null")
        if not isinstance(f.get("note"), str) or not f["note"].strip():
            bad(f"{where}.note", "say why in 'note' (one line)")
        turn = f.get("turn")
        if is_reply and turn is not None:
            bad(f"{where}.turn", "a reply item's faults are on the reply; drop 'turn'")
        if (
            not is_reply
            and turn is not None
            and not (
                isinstance(turn, int)
                and 0 <= turn < len(turns)
                and isinstance(turns[turn], dict)
                and turns[turn].get("role") == "agent"
            )
        ):
            bad(f"{where}.turn", f"'turn' {turn!r} is not the index of an agent turn")
        alts: list[tuple[str, str | None]] = []
        for j, alt in enumerate(f.get("or") or []):
            if not (isinstance(alt, dict) and alt.get("fault") in TAXONOMY and set(alt) <= {"fault", "ref"}):
                bad(f"{where}.or.{j}", 'an alternative is {"fault": class, "ref": id or null}')
                continue
            alts.append((alt["fault"], alt.get("ref")))
        out.append(Fault(cls, ref if isinstance(ref, str) else None, f.get("note") or "", turn, tuple(alts)))
    return out


def _check_paraphrases(items: dict[str, Item]) -> list[tuple[str, Problem]]:
    """(item id, problem) for every paraphrase that is not a valid stand-in for its original."""
    problems: list[tuple[str, Problem]] = []
    for item in items.values():
        if item.paraphrase_of is None:
            continue

        def bad(message: str, it: Item = item) -> None:
            problems.append((it.id, Problem(it.path, it.line, 1, "paraphrase_of", message)))

        base = items.get(item.paraphrase_of)
        if base is None:
            bad(f"no item '{item.paraphrase_of}'")
        elif base.kind != "reply" or base.paraphrase_of is not None:
            bad(f"'{base.id}' must be a reply item that is not itself a paraphrase")
        elif base.turns != item.turns:
            bad(f"the context differs from '{base.id}': a paraphrase replaces the reply only")
        elif base.split != item.split:
            bad(f"split '{item.split}' differs from '{base.id}' ({base.split}): keep a paraphrase group together")
        elif base.faults or item.faults:
            bad("paraphrase groups are equivalent correct replies: neither may carry faults")
    return problems
