"""Report-card benchmark: does the grader flag what a senior QA lead flags, and nothing else?

Grades every item of the gold set (``bench/data/report_card/*.jsonl``, see its README) with the offline grader
as the product does, maps the findings to the benchmark's fault classes (``report_card_mapping.py``) and reports,
for the ``tune`` and ``holdout`` splits separately:

* **finding precision** — findings that match a labelled fault ÷ all findings (on the reply's turn for a reply
  item; every finding and red line for a whole conversation); target ≥ 95 %;
* **fault recall** — labelled faults found ÷ all labelled faults; target ≥ 90 %;
* both per dimension and per fault class, the share of correct replies with no finding at all, red-line
  precision/recall, agreement with the QA lead's pass/fail verdict on whole conversations;
* the **paraphrase test** — each equivalent correct reply graded in place of the original: the overall score
  may move by at most 2 points; share within 2 and the worst cases;
* unmapped grader criteria (counted as false findings, listed), the most common false findings and missed
  faults with an example id each, and the time taken.

Tuning must never look at holdout items: use ``--split tune`` while working on the grader and run the holdout
only to report.

    .venv/bin/python bench/report_card.py                 # what `simulator check` uses: no embedder, no knowledge base
    .venv/bin/python bench/report_card.py --kb            # real embedder + the knowledge base built into a temp dir
    .venv/bin/python bench/report_card.py --json          # machine-readable
    .venv/bin/python bench/report_card.py --show qh-size-004   # one report card as a reviewer reads it
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report_card_data import GoldSet, Item, load_gold
from report_card_mapping import NOT_FINDINGS, classify, scenario_ids, unmapped_scenario_ids
from report_card_metrics import (
    Figures,
    Found,
    ItemResult,
    ParaphraseCase,
    figures,
    match_item,
    paraphrase_summary,
)

from simulator.engine import Engine, GradesTranscripts
from simulator.grading.grader import Judge
from simulator.grading.result import Grade
from simulator.scenario.loader import load_scenarios
from simulator.scenario.model import Scenario
from simulator.settings import Settings
from simulator.transcript import Transcript
from simulator.turn import Turn

TARGET_PRECISION = 0.95
TARGET_RECALL = 0.90


# --- the only place that builds a transcript: adapt here when the transcript/session API changes -------------
def make_transcript(item: Item, reply: str | None = None) -> Transcript:
    """The transcript the grader reads for an item (a reply item is a conversation cut off after the reply)."""
    return Transcript(
        id=item.id,
        turns=[Turn(role=t["role"], text=t["text"]) for t in item.all_turns(reply)],
        scenario=item.scenario,
        complete=item.kind == "conversation",
        outcome=item.outcome,
    )


def offline_grader(settings: Settings, judge: Judge | None = None) -> GradesTranscripts:
    """What `simulator check` uses: rules and the act detector, no embedder, no knowledge base (with ``judge``: the
    LLM judge on the soft criteria as well, what `simulator grade --judge --no-kb` does)."""
    return Engine(settings, embeddings=False, knowledge_index=False, judge=judge).grader()


def llm_judge(settings: Settings) -> Judge:
    """The LLM judge at ``SIM_LLM_BASE_URL`` with ``SIM_JUDGE_SAMPLES`` samples per criterion."""
    if not settings.llm_base_url:
        raise SystemExit("--judge needs an LLM endpoint: set SIM_LLM_BASE_URL (and SIM_LLM_MODEL)")
    from simulator.grading.judge import LLMJudge
    from simulator.llm.openai_compatible import OpenAIChatModel

    return LLMJudge(OpenAIChatModel.from_settings(settings), samples=settings.judge_samples)


def sample_of(gold: GoldSet, n: int) -> GoldSet:
    """``n`` items spread evenly over the set in id order (deterministic), each with the item it paraphrases."""
    ids = sorted(gold.items)
    step = max(1, len(ids) // n)
    picked = set(ids[::step][:n])
    picked |= {gold.items[i].paraphrase_of for i in picked if gold.items[i].paraphrase_of in gold.items}  # type: ignore[misc]
    return GoldSet({k: v for k, v in gold.items.items() if k in picked})


def kb_grader(settings: Settings, data_dir: Path) -> tuple[GradesTranscripts, float]:
    """What the web app grades with: the real embedder and the knowledge base built from
    ``settings.knowledge_dir`` into ``data_dir``."""
    from simulator.knowledge.base import KnowledgeBase

    settings = settings.model_copy(update={"data_dir": data_dir})
    t0 = time.perf_counter()
    engine = Engine(settings)
    kb = KnowledgeBase.open(settings, embedder=engine.embedder())
    report = kb.build([settings.knowledge_dir])
    if report.errors:
        raise SystemExit("knowledge base build failed: " + "; ".join(p.format() for p in report.errors))
    return engine.grader(), time.perf_counter() - t0


# --- grading and matching ------------------------------------------------------------------------------------
def findings_of(grade: Grade, scenario: Scenario, item: Item) -> list[Found]:
    """The grade's findings in benchmark terms: on the reply's turn, or all of them for a whole conversation."""
    turn = item.reply_turn
    seen: set[int] = set()
    raw = []
    for f in [*grade.findings(), *grade.red_lines]:
        if id(f) in seen or f.criterion in NOT_FINDINGS:
            continue
        seen.add(id(f))
        if turn is not None and f.turn != turn:
            continue
        raw.append(f)
    out = []
    for f in raw:
        mapped = classify(f.criterion, f.turn, f.red_line, scenario)
        out.append(
            Found(
                item=item.id,
                turn=f.turn,
                criterion=f.criterion,
                classes=mapped.classes if mapped else (),
                ref=mapped.ref if mapped else None,
                red_line=f.red_line is not None,
                points=f.points,
                message=f.message,
                evidence=f.evidence,
                suggestion=f.suggestion.text if f.suggestion else "",
            )
        )
    return out


def is_red_line_label(cls: str, ref: str | None, scenario: Scenario) -> bool:
    """A labelled fault that should fail an exam: a red-line class, a scenario red line, or acting beyond authority."""
    red_ids = {r.id for r in scenario.expectations.red_lines}
    return cls.startswith("red-line:") or cls == "exceeds-authority" or (ref is not None and ref in red_ids)


@dataclass
class Graded:
    """One graded item."""

    item: Item
    grade: Grade
    result: ItemResult


def verdict_of(grade: Grade) -> str:
    """pass, fail or unscored, as the grade says."""
    return "unscored" if grade.passed is None else "pass" if grade.passed else "fail"


def grade_all(
    grader: GradesTranscripts, gold: GoldSet, scenarios: dict[str, Scenario]
) -> tuple[dict[str, Graded], dict[str, str]]:
    """Grade and match every item. An item the grader crashes on is reported (id → error) and counted as
    finding none of its faults; the benchmark itself carries on."""
    out: dict[str, Graded] = {}
    crashed: dict[str, str] = {}
    for item in gold.items.values():
        scenario = scenarios[item.scenario]
        try:
            grade = grader.grade(make_transcript(item), scenario)
        except Exception as exc:  # a grader bug must not hide the other 500 items
            crashed[item.id] = f"{type(exc).__name__}: {exc}"
            grade = Grade(item.id, scenario.id, {}, grader.pass_mark)
        found = findings_of(grade, scenario, item) if item.id not in crashed else []
        red = [is_red_line_label(f.fault, f.ref, scenario) for f in item.faults]
        result = match_item(item.id, item.split, item.kind, item.faults, found, red)
        if item.kind == "conversation":
            result.verdict_expected = item.verdict
            result.verdict_actual = verdict_of(grade)
        out[item.id] = Graded(item, grade, result)
    return out, crashed


def judge_counts(graded: dict[str, Graded]) -> dict[str, int]:
    """What the LLM judge did: soft criteria asked, left unscored (endpoint failure, no valid JSON, a tie),
    agreeing with the rules, and overruling them."""
    asked = [
        c for g in graded.values() for d in g.grade.dimensions.values() for c in d.criteria if c.decided_by != "rules"
    ]
    failed = sum(1 for c in asked if not c.scored)
    agreed = sum(1 for c in asked if c.scored and c.reason.startswith("LLM judge agrees"))
    return {"asked": len(asked), "failed": failed, "agreed": agreed, "overruled": len(asked) - failed - agreed}


def turn_points(grade: Grade, turn: int | None) -> float:
    """Points lost on one turn (all turns for None)."""
    return sum(f.points for f in grade.findings() if turn is None or f.turn == turn)


def paraphrase_cases(graded: dict[str, Graded]) -> list[ParaphraseCase]:
    """Each paraphrase against the reply it is equivalent to (both are graded as items of their own)."""
    out = []
    for g in graded.values():
        base_id = g.item.paraphrase_of
        if base_id is None:
            continue
        base = graded[base_id]
        turn = g.item.reply_turn
        out.append(
            ParaphraseCase(
                item=g.item.id,
                original=base_id,
                split=g.item.split,
                original_overall=base.grade.overall,
                overall=g.grade.overall,
                original_turn_points=turn_points(base.grade, turn),
                turn_points=turn_points(g.grade, turn),
            )
        )
    return out


# --- reporting -----------------------------------------------------------------------------------------------
def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f} %"


def render(
    label: str,
    command: str,
    gold: GoldSet,
    per_split: dict[str, Figures],
    para: dict[str, Any],
    timing: dict[str, float],
    top: int,
    crashed: dict[str, str] | None = None,
) -> str:
    """The text report."""
    items = list(gold.items.values())
    lines = [f"Report-card benchmark — {label}", f"  {command}", ""]
    n_rep = sum(1 for i in items if i.kind == "reply")
    n_conv = len(items) - n_rep
    lines.append(
        f"gold set: {n_rep} replies + {n_conv} whole conversations, {len({i.scenario for i in items})} scenarios; "
        + ", ".join(f"{s} {sum(1 for i in items if i.split == s)}" for s in ("tune", "holdout"))
    )
    lines.append("")
    lines.append(f"{'':34}{'tune':>26}{'holdout':>26}")

    def row(name: str, get: Any) -> None:
        lines.append(f"{name:34}" + "".join(f"{get(per_split[s]):>26}" for s in ("tune", "holdout")))

    row("finding precision (target 95 %)", lambda f: str(f.precision))
    row("fault recall (target 90 %)", lambda f: str(f.recall))
    row("correct replies with no finding", lambda f: str(f.clean_replies))
    row("repeat findings (same fault again)", lambda f: str(f.repeats))
    row("red-line precision", lambda f: str(f.red_precision))
    row("red-line recall", lambda f: str(f.red_recall))
    row("conversation verdicts agree", lambda f: str(f.verdicts))
    lines.append(f"{'paraphrases: overall within 2 pts':34}" + "".join(f"{para[s]!s:>26}" for s in ("tune", "holdout")))
    lines.append(
        f"{'paraphrases: turn points within 2':34}" + "".join(f"{para[s + '_turn']!s:>26}" for s in ("tune", "holdout"))
    )
    if crashed:
        lines.append("")
        lines.append(f"THE GRADER CRASHED on {len(crashed)} item(s), counted as finding none of their faults:")
        for split in ("tune", "holdout"):
            ids = [i for i in crashed if gold.items[i].split == split]
            if split == "tune":
                lines += [f"  {i}: {crashed[i]}" for i in ids]
            elif ids:
                errors = sorted({crashed[i].split(":")[0] for i in ids})
                lines.append(f"  {len(ids)} holdout item(s) ({', '.join(errors)}); ids withheld from tuning")
    lines.append("")
    lines.append("per dimension: precision | recall")
    for dim in ("service", "technique", "knowledge", "process", "red-line", "unmapped"):
        if not any(dim in per_split[s].precision_by_dim or dim in per_split[s].recall_by_dim for s in per_split):
            continue
        cells = []
        for s in ("tune", "holdout"):
            f = per_split[s]
            p = f.precision_by_dim.get(dim)
            r = f.recall_by_dim.get(dim)
            cells.append(f"{_pct(p.value if p else None):>8} {_pct(r.value if r else None):>8}")
        lines.append(f"  {dim:32}" + "".join(f"{c:>26}" for c in cells))
    lines.append("")
    lines.append("per fault class: findings matched/all (precision) | labelled found/all (recall)")
    classes = sorted({k for s in per_split for k in (*per_split[s].precision_by_class, *per_split[s].recall_by_class)})
    for cls in classes:
        cells = []
        for s in ("tune", "holdout"):
            f = per_split[s]
            p = f.precision_by_class.get(cls)
            r = f.recall_by_class.get(cls)
            pc = f"{p.hits}/{p.total}" if p else "-"
            rc = f"{r.hits}/{r.total}" if r else "-"
            cells.append(f"{pc:>8} | {rc:<8}")
        lines.append(f"  {cls:32}" + "".join(f"{c:>26}" for c in cells))
    unmapped = per_split["tune"].unmapped + per_split["holdout"].unmapped
    lines.append("")
    lines.append(
        "unmapped grader criteria (counted as false findings): "
        + (", ".join(f"{c} ×{n}" for c, n in unmapped.most_common()) or "none")
    )
    both = Figures()
    for fig in per_split.values():
        both.false_findings.update(fig.false_findings)
        both.missed.update(fig.missed)
    tune = per_split["tune"]  # example ids come from the tune split only: nobody tuning may look at holdout items

    def example(d: dict[Any, str], key: Any) -> str:
        return f"e.g. {d[key]}" if key in d else "(holdout only)"

    lines.append("")
    lines.append("most common false findings (counted over both splits; grader criterion → class, a tune example):")
    for (crit, cls), n in both.false_findings.most_common(top):
        lines.append(f"  {n:4}  {crit} → {cls}  {example(tune.false_examples, (crit, cls))}")
    lines.append("most common missed faults (counted over both splits; class, a tune example):")
    for cls, n in both.missed.most_common(top):
        lines.append(f"  {n:4}  {cls}  {example(tune.missed_examples, cls)}")
    lines.append("")
    lines.append("worst paraphrase cases in the tune split (|Δ overall|, reply vs the one it paraphrases):")
    for c in [c for c in para["worst"] if c.split == "tune"][:top]:
        d = "unscored vs scored" if c.delta is None else f"{c.delta:.1f}"
        lines.append(
            f"  {d:>6}  {c.item} vs {c.original}: {c.overall} vs {c.original_overall}"
            f" (points lost on the turn {c.turn_points:g} vs {c.original_turn_points:g})"
        )
    lines.append("")
    lines.append(
        f"time: {timing['items']} transcripts graded in {timing['grade_s']:.1f} s "
        f"({1000 * timing['grade_s'] / max(timing['items'], 1):.1f} ms each)"
        + (f"; knowledge base built in {timing['kb_build_s']:.1f} s" if "kb_build_s" in timing else "")
        + f"; total {timing['total_s']:.1f} s"
    )
    return "\n".join(lines)


def show(g: Graded) -> str:
    """One report card as a reviewer reads it: the reply, the findings with evidence and better reply, the labels."""
    it, r = g.item, g.result
    lines = [f"{it.id}  [{it.split}, {it.kind}]  scenario {it.scenario}  ({it.path}:{it.line})"]
    if it.note:
        lines.append(f"note: {it.note}")
    turns = it.all_turns()
    start = max(0, len(turns) - 5) if it.kind == "reply" else 0
    lines.append("")
    for k in range(start, len(turns)):
        who = "customer" if turns[k]["role"] == "customer" else "agent   "
        mark = ">>" if k == it.reply_turn else f"{k:2}"
        lines.append(f"{mark} {who} {turns[k]['text']}")
    if it.paraphrase_of:
        lines.append(f"(paraphrase of {it.paraphrase_of})")
    lines.append("")
    score = "unscored" if g.grade.overall is None else f"{g.grade.overall:.1f}"
    lines.append(f"grade: overall {score}, {verdict_of(g.grade)}; scores {g.grade.to_dict()['scores']}")
    if it.kind == "conversation":
        lines.append(f"QA lead's verdict: {it.verdict or 'none (borderline)'}; outcome {it.outcome}")
    lines.append("")
    lines.append("grader findings" + (" on the reply" if it.kind == "reply" else "") + ":")
    if not r.findings:
        lines.append("  (none)")
    for fi, f in enumerate(r.findings):
        st = r.finding_status[fi]
        lj = r.finding_label[fi]
        against = f" ↔ label {lj + 1}" if lj is not None else ""
        where = "" if it.kind == "reply" else f" @turn {f.turn if f.turn is not None else '—'}"
        tag = "RED LINE " if f.red_line else ""
        lines.append(
            f"  [{st:6}] {tag}{f.criterion} → {', '.join(f.classes) or 'UNMAPPED'}"
            f"{' (' + f.ref + ')' if f.ref else ''}{where} −{f.points:g}{against}"
        )
        lines.append(f"           {f.message}")
        if f.evidence:
            lines.append(f"           evidence: {f.evidence[:160]}")
        if f.suggestion:
            lines.append(f"           better: {f.suggestion[:200]}")
    lines.append("")
    lines.append("labels (what a senior QA lead marks):")
    if not r.labels:
        lines.append("  (none: a correct reply — any finding above is false)")
    for lj, lab in enumerate(r.labels):
        ok = "found " if r.label_match[lj] is not None else "MISSED"
        where = "" if it.kind == "reply" else f" @turn {lab.turn if lab.turn is not None else '—'}"
        alts = "".join(f" | {c}{'(' + ref + ')' if ref else ''}" for c, ref in lab.alternatives)
        red = " [red line]" if r.red_labels[lj] else ""
        lines.append(f"  {lj + 1}. [{ok}] {lab.fault}{'(' + lab.ref + ')' if lab.ref else ''}{alts}{where}{red}")
        lines.append(f"           {lab.note}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--kb", action="store_true", help="real embedder + knowledge base built into a temp data dir")
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    ap.add_argument("--show", metavar="ID", help="print one item's report card and labels")
    ap.add_argument("--split", choices=["tune", "holdout", "both"], default="both", help="which items to grade")
    ap.add_argument(
        "--data", type=Path, action="append", help="gold .jsonl files or folders (default: the shipped set)"
    )
    ap.add_argument("--top", type=int, default=10, help="how many false findings / missed faults to list")
    ap.add_argument(
        "--judge", action="store_true", help="also ask the LLM judge at SIM_LLM_BASE_URL (offline grader + judge)"
    )
    ap.add_argument("--sample", type=int, metavar="N", help="grade only N items spread over the set (with --judge)")
    args = ap.parse_args(argv)
    t_start = time.perf_counter()

    settings = Settings()
    loaded = load_scenarios([settings.scenarios_dir])
    scenarios = {sid: ls.scenario for sid, ls in loaded.scenarios.items()}
    gold = load_gold(args.data, {sid: scenario_ids(s) for sid, s in scenarios.items()})
    if gold.problems:
        for p in gold.problems:
            print(p.format(), file=sys.stderr)
        print(f"{len(gold.problems)} problem(s) in the gold set — fix them first", file=sys.stderr)
        return 2
    missing = sorted(
        {rid for s in {i.scenario for i in gold.items.values()} for rid in unmapped_scenario_ids(scenarios[s])}
    )
    if missing:
        print(f"note: scenario red lines not in the mapping table: {', '.join(missing)}", file=sys.stderr)
    if args.show:
        if args.show not in gold.items:
            print(f"no item '{args.show}'", file=sys.stderr)
            return 2
        base = gold.items[args.show]
        gold = GoldSet({k: v for k, v in gold.items.items() if k == base.id or k == base.paraphrase_of})
    elif args.split != "both":
        gold = GoldSet({k: v for k, v in gold.items.items() if v.split == args.split})
    if args.sample:
        gold = sample_of(gold, args.sample)

    timing: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="report-card-") as tmp:
        if args.judge:
            grader = offline_grader(settings, llm_judge(settings))
            label = f"offline grader + LLM judge ({settings.llm_model} at {settings.llm_base_url})"
        elif args.kb:
            grader, built = kb_grader(settings, Path(tmp))
            timing["kb_build_s"] = built
            label = "grader with the real embedder and the knowledge base (built into a temp data dir)"
        else:
            grader = offline_grader(settings)
            label = "offline grader (no embedder, no knowledge base — what `simulator check` uses)"
        t0 = time.perf_counter()
        graded, crashed = grade_all(grader, gold, scenarios)
        timing["grade_s"] = time.perf_counter() - t0
    timing["items"] = len(graded)
    timing["total_s"] = time.perf_counter() - t_start
    judged = judge_counts(graded) if args.judge else None

    if args.show:
        if args.show in crashed:
            print(f"the grader crashed on {args.show}: {crashed[args.show]}")
        print(show(graded[args.show]))
        return 0
    # replies first, so the example ids in the work lists are single replies a reviewer can read at a glance
    ordered = sorted(graded.values(), key=lambda g: g.item.kind != "reply")
    per_split = {s: figures(g.result for g in ordered if g.item.split == s) for s in ("tune", "holdout")}
    cases = [c for c in paraphrase_cases(graded) if c.item not in crashed and c.original not in crashed]
    para = paraphrase_summary(cases, worst=args.top)
    command = (
        "bench/report_card.py"
        + (" --kb" if args.kb else "")
        + (" --judge" if args.judge else "")
        + ("" if args.split == "both" else f" --split {args.split}")
        + (f" --sample {args.sample}" if args.sample else "")
    )
    if args.json:
        out = {
            "grader": label,
            "command": command,
            "targets": {"precision": TARGET_PRECISION, "recall": TARGET_RECALL, "paraphrase_points": 2},
            "splits": {s: per_split[s].to_dict() for s in per_split},
            "paraphrase": {
                "overall_within_2": {s: para[s].to_dict() for s in ("tune", "holdout")},
                "turn_points_within_2": {s: para[s + "_turn"].to_dict() for s in ("tune", "holdout")},
                "worst": [
                    {
                        "item": c.item,
                        "split": c.split,
                        "original": c.original,
                        "delta": c.delta,
                        "overall": c.overall,
                        "original_overall": c.original_overall,
                        "turn_points": c.turn_points,
                        "original_turn_points": c.original_turn_points,
                    }
                    for c in para["worst"]
                ],
            },
            "timing": {k: round(v, 3) for k, v in timing.items()},
            "grader_crashes": {i: {"split": gold.items[i].split, "error": e} for i, e in crashed.items()},
            "judge": judged,
        }
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print(render(label, command, gold, per_split, para, timing, args.top, crashed))
        if judged is not None:
            print(
                f"LLM judge: {judged['asked']} soft criteria asked, {judged['agreed']} agreed with the rules, "
                f"{judged['overruled']} overruled them, {judged['failed']} left unscored (failure or tie); "
                f"{timing['grade_s'] / max(1, len(graded)):.1f} s per item"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
