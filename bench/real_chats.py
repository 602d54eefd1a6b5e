"""Real-chat benchmark: does ``simulator grade`` on real conversations (no scenario) agree with human raters?

Two human-rated sets in ``/work/shared/eval`` (``--eval DIR``; each has a README):

* ``stc3_dev`` — 195 Chinese helpdesk dialogues, 19 raters each; the target is the raters' mean **S** (customer
  satisfaction, −2 … 2). Figure: Spearman ρ between the grade's overall score and that mean.
* ``jddc_uss_dev`` — 330 JD dialogues with a dialogue-level ``overall_sat`` (0 dissatisfied, 1 neutral,
  2 satisfied). Figure: AUC of the overall score separating satisfied (2) from dissatisfied (0) dialogues
  (neutral ones left out).

Each set is split deterministically by a hash of the dialogue id into **tune** (~60 %) and **holdout** (~40 %).
Weights are tuned on tune only (``--sweep`` shows the reaction's share of the overall score); holdout is
reported. Every dialogue is graded as ``simulator grade`` grades it: offline, no scenario, no knowledge base.

Baselines beside the figures: the median single rater (STC-3: each rater against the other 18's mean), a one-line
lexicon on the customer's last message(s) (a handful of generic words, below), the criteria alone (overall score
without the reaction) and the reaction alone.

    PYTHONPATH=. .venv/bin/python bench/real_chats.py               # both splits, table
    PYTHONPATH=. .venv/bin/python bench/real_chats.py --split tune --sweep
    PYTHONPATH=. .venv/bin/python bench/real_chats.py --json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from simulator.grading.grader import Grader
from simulator.grading.result import Grade
from simulator.settings import Settings
from simulator.transcript import Transcript, parse_transcript

EVAL = Path("/work/shared/eval")
TUNE_SHARE = 60  # percent of ids (by hash) in the tune split

# The trivial lexicon baseline: generic words, positive minus negative, counted in the customer's last message(s).
BASE_POSITIVE = ("谢谢", "感谢", "好的", "满意", "可以", "解决", "不错", "thank", "great", "ok")
BASE_NEGATIVE = ("投诉", "差评", "不", "没", "怎么", "垃圾", "失望", "?", "？", "!", "！")


def split_of(dialogue_id: str) -> str:
    """``tune`` or ``holdout``, fixed by a hash of the id."""
    h = int(hashlib.sha256(dialogue_id.encode()).hexdigest()[:8], 16)
    return "tune" if h % 100 < TUNE_SHARE else "holdout"


@dataclass
class Dialogue:
    """One rated real conversation."""

    id: str
    transcript: Transcript
    target: float  # STC-3: mean S; JD: overall_sat (0, 1, 2)
    ratings: list[float]
    split: str


def _transcript(did: str, turns: list[dict[str, Any]]) -> Transcript:
    msgs = [
        {"role": "customer" if t["role"] in ("customer", "user") else "agent", "text": t["text"]}
        for t in turns
        if str(t.get("text", "")).strip()
    ]
    return parse_transcript({"id": did, "turns": msgs}, default_id=did)


def load_stc3(root: Path) -> list[Dialogue]:
    """``stc3_dev/dialogues.jsonl``: target = the raters' mean S."""
    out = []
    for line in (root / "stc3_dev" / "dialogues.jsonl").read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        transcript = _transcript(d["id"], d["turns"])
        out.append(Dialogue(d["id"], transcript, float(d["mean"]["S"]), d["ratings"]["S"], split_of(d["id"])))
    return out


def load_jd(root: Path) -> list[Dialogue]:
    """``jddc_uss_dev/dialogues.jsonl``: target = overall_sat (0 dissatisfied, 1 neutral, 2 satisfied)."""
    out = []
    for line in (root / "jddc_uss_dev" / "dialogues.jsonl").read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        out.append(Dialogue(d["id"], _transcript(d["id"], d["turns"]), float(d["overall_sat"]), [], split_of(d["id"])))
    return out


def lexicon_baseline(t: Transcript, last: int) -> float:
    """Positive minus negative generic words in the customer's last ``last`` messages."""
    said = " ".join([x.text for x in t.turns if x.role == "customer"][-last:]).lower()
    return float(sum(said.count(w) for w in BASE_POSITIVE) - sum(said.count(w) for w in BASE_NEGATIVE))


def median_rater(items: list[Dialogue]) -> float:
    """Median over raters of Spearman ρ between one rater and the mean of the others."""
    n = min(len(d.ratings) for d in items)
    rhos = []
    for r in range(n):
        own = [d.ratings[r] for d in items]
        rest = [(sum(d.ratings) - d.ratings[r]) / (len(d.ratings) - 1) for d in items]
        rhos.append(float(spearmanr(own, rest).statistic))
    return statistics.median(rhos)


def rho(items: list[Dialogue], score: Callable[[Dialogue], float]) -> float:
    """Spearman ρ between a score and the target."""
    return float(spearmanr([score(d) for d in items], [d.target for d in items]).statistic)


def auc(items: list[Dialogue], score: Callable[[Dialogue], float]) -> float:
    """AUC separating satisfied (2) from dissatisfied (0); neutral left out."""
    kept = [d for d in items if d.target != 1]
    return float(roc_auc_score([1 if d.target == 2 else 0 for d in kept], [score(d) for d in kept]))


def with_share(g: Grade, share: float) -> float:
    """The overall score had the reaction this share of it."""
    base = g.criteria_overall or 0.0
    return (1 - share) * base + share * (g.reaction.score if g.reaction is not None else 0.0)


def figures(stc: list[Dialogue], jd: list[Dialogue], grades: dict[str, Grade], *, sweep: bool) -> dict[str, Any]:
    """The figures of one split: ρ on STC-3, AUC on JD, with the baselines (and the share sweep)."""

    def gs(d: Dialogue) -> Grade:
        return grades[f"stc3:{d.id}"]

    def gj(d: Dialogue) -> Grade:
        return grades[f"jd:{d.id}"]

    def sat(g: Grade) -> float:
        return g.reaction.satisfaction if g.reaction is not None else 0.0

    row: dict[str, Any] = {
        "n": {"stc3": len(stc), "jd_sat": sum(d.target == 2 for d in jd), "jd_dissat": sum(d.target == 0 for d in jd)},
        "stc3_rho": {
            "overall": rho(stc, lambda d: gs(d).overall or 0.0),
            "criteria_only": rho(stc, lambda d: gs(d).criteria_overall or 0.0),
            "reaction_only": rho(stc, lambda d: sat(gs(d))),
            "lexicon_last_message": rho(stc, lambda d: lexicon_baseline(d.transcript, 1)),
            "median_single_rater": median_rater(stc),
        },
        "jd_auc": {
            "overall": auc(jd, lambda d: gj(d).overall or 0.0),
            "criteria_only": auc(jd, lambda d: gj(d).criteria_overall or 0.0),
            "reaction_only": auc(jd, lambda d: sat(gj(d))),
            "lexicon_last_two": auc(jd, lambda d: lexicon_baseline(d.transcript, 2)),
        },
    }
    if sweep:
        row["sweep"] = {
            str(p): {
                "stc3_rho": round(rho(stc, lambda d, p=p: with_share(gs(d), p)), 3),
                "jd_auc": round(auc(jd, lambda d, p=p: with_share(gj(d), p)), 3),
            }
            for p in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
        }
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--eval", type=Path, default=EVAL, help="folder with stc3_dev/ and jddc_uss_dev/")
    ap.add_argument("--split", choices=("tune", "holdout", "both"), default="both")
    ap.add_argument("--sweep", action="store_true", help="figures for a range of reaction shares of the overall score")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not (args.eval / "stc3_dev").is_dir():
        print(f"no eval data at {args.eval} — pass --eval DIR (the folder with stc3_dev/ and jddc_uss_dev/)")
        return 2
    grader = Grader(Settings())
    sets = {"stc3": load_stc3(args.eval), "jd": load_jd(args.eval)}
    started = time.perf_counter()
    grades: dict[str, Grade] = {}
    for name, items in sets.items():
        for d in items:
            grades[f"{name}:{d.id}"] = grader.grade(d.transcript)
    elapsed = time.perf_counter() - started
    n = sum(len(v) for v in sets.values())
    splits = ("tune", "holdout") if args.split == "both" else (args.split,)
    weight = grades[next(iter(grades))].reaction_weight
    result: dict[str, Any] = {"reaction_share": weight, "ms_per_dialogue": round(1000 * elapsed / n, 1)}
    for split in splits:
        result[split] = figures(
            [d for d in sets["stc3"] if d.split == split],
            [d for d in sets["jd"] if d.split == split],
            grades,
            sweep=args.sweep,
        )
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"reaction: {weight:g} of the overall score; {result['ms_per_dialogue']} ms per dialogue graded")
    for split in splits:
        row = result[split]
        n = row["n"]
        print(f"\n[{split}] STC-3 n={n['stc3']}  JD satisfied={n['jd_sat']} dissatisfied={n['jd_dissat']}")
        print("  STC-3 Spearman ρ (overall vs raters' mean S):")
        for k, v in row["stc3_rho"].items():
            print(f"    {k:<22} {v:6.3f}")
        print("  JD AUC (satisfied vs dissatisfied):")
        for k, v in row["jd_auc"].items():
            print(f"    {k:<22} {v:6.3f}")
        for p, v in row.get("sweep", {}).items():
            print(f"    share {p:>4}: ρ {v['stc3_rho']:.3f}  AUC {v['jd_auc']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
