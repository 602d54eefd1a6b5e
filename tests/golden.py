"""Golden grades: what the engine gives today for fixed inputs, so a redesign can prove it changed nothing.

Three snapshots, each a JSON file under ``tests/data/golden/``:

* ``references.json`` — every scenario's good and bad reference trainee played through the scripted customer
  and graded offline (no embedder, no knowledge base: what ``simulator check`` does by default).
* ``references-use.json`` — the same with the real embedder (Universal Sentence Encoder) and the demo knowledge
  base, which is what the web app runs (slow suite).
* ``jddc.json`` — every real agent reply of ``../shared/eval/jddc2019_multiref`` graded in its real context
  with the other agents' replies as knowledge (as ``bench/grader_eval.py`` does). The evaluation data is not
  ours to ship, so this file holds scores, criterion ids, points and hashes of the grader's own texts — never
  the conversations.

A deliberate change to grading regenerates them, in the same commit, with::

    .venv/bin/python tests/golden.py --write [--use]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
GOLDEN_DIR = REPO / "tests" / "data" / "golden"
EVAL_DIR = REPO.parent / "shared" / "eval"


def _finding(f: dict[str, Any]) -> dict[str, Any]:
    suggestion = f.get("suggestion") or {}
    return {
        "dimension": f["dimension"],
        "criterion": f["criterion"],
        "points": f["points"],
        "turn": f["turn"],
        "message": f["message"],
        "evidence": f["evidence"],
        "suggestion": suggestion.get("text"),
        "red_line": f.get("red_line"),
    }


def grade_projection(grade: dict[str, Any]) -> dict[str, Any]:
    """The parts of a grade a person reads: scores, criteria, findings with evidence and better replies."""
    return {
        "overall": grade["overall"],
        "passed": grade["passed"],
        "scores": grade["scores"],
        "criteria": sorted(
            (
                [c["dimension"], c["id"], c["points"], c["earned"], c["status"]]
                for d in grade["dimensions"].values()
                for c in d["criteria"]
            ),
        ),
        "findings": [_finding(f) for d in grade["dimensions"].values() for c in d["criteria"] for f in c["findings"]],
        "red_lines": [_finding(f) for f in grade["red_lines"]],
        "metrics": grade["metrics"],
    }


def _digest(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode()).hexdigest()[:16]


def anonymous_projection(grade: dict[str, Any]) -> dict[str, Any]:
    """:func:`grade_projection` without any text of the conversation: only the grader's own, hashed."""
    full = grade_projection(grade)

    def strip(f: dict[str, Any]) -> dict[str, Any]:
        return {
            "criterion": f["criterion"],
            "points": f["points"],
            "turn": f["turn"],
            "message": _digest(f["message"]),
            "suggestion": _digest(f["suggestion"]),
            "evidence_chars": len(f["evidence"] or ""),
        }

    return {
        **full,
        "findings": [strip(f) for f in full["findings"]],
        "red_lines": [strip(f) for f in full["red_lines"]],
    }


# ---------------------------------------------------------------------------------------------------------


def references(*, use: bool = False) -> dict[str, Any]:
    """Play and grade both references of every scenario; ``use`` = real embedder and knowledge base."""
    from golden_engine import reference_grades

    return reference_grades(use=use)


def jddc_items(eval_dir: Path = EVAL_DIR) -> Iterator[tuple[str, list[dict[str, str]], list[str]]]:
    """(item id, context turns ending with the customer's question, [real replies]) for the 293 JDDC turns."""
    path = eval_dir / "jddc2019_multiref" / "dev_sessions.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        s = json.loads(line)
        turns: list[dict[str, str]] = []
        for c in s["context"]:
            if c["role"] == "user":
                turns.append({"role": "customer", "text": c["text"]})
            else:
                ref = next((r for r in c["refs"] if r and r.strip() != "NULL"), None)
                if ref:
                    turns.append({"role": "agent", "text": ref.strip()})
        for k, nt in enumerate(s["next_turns"]):
            refs = [r.strip() for r in nt["agent_refs"] if r and r.strip() and r.strip() != "NULL"]
            yield f"{s['session']}/{k}", [*turns, {"role": "customer", "text": nt["user"]}], refs
            turns.append({"role": "customer", "text": nt["user"]})
            if refs:
                turns.append({"role": "agent", "text": refs[0]})


def jddc(eval_dir: Path = EVAL_DIR) -> dict[str, Any]:
    """Grade every real JDDC reply in context (anonymous projection)."""
    from golden_engine import grade_with_peers

    out: dict[str, Any] = {}
    for item_id, context, refs in jddc_items(eval_dir):
        for j, real in enumerate(refs):
            peers = [r for i, r in enumerate(refs) if i != j]
            grade = grade_with_peers([*context, {"role": "agent", "text": real}], peers, item_id)
            out[f"{item_id}#{j}"] = anonymous_projection(grade)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description="Write the golden grade snapshots.")
    ap.add_argument("--write", action="store_true", help="write the files (default: print a summary only)")
    ap.add_argument("--use", action="store_true", help="also the references with the real embedder and knowledge")
    args = ap.parse_args()
    snapshots: dict[str, Any] = {"references.json": references()}
    if args.use:
        snapshots["references-use.json"] = references(use=True)
    if (EVAL_DIR / "jddc2019_multiref").is_dir():
        snapshots["jddc.json"] = jddc()
    for name, data in snapshots.items():
        if args.write:
            GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
            # One entry per line: reviewable diffs without a megabyte of indentation.
            body = ",\n".join(
                f"{json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False, sort_keys=True)}"
                for k, v in sorted(data.items())
            )
            text = "{\n" + body + "\n}\n"
            (GOLDEN_DIR / name).write_text(text, encoding="utf-8")
        print(f"{name}: {len(data)} entries", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
