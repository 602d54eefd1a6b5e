"""Knowledge-base retrieval quality: recall@1, recall@5 and MRR for vector-only, BM25-only and hybrid search.

Builds the knowledge base from ``knowledge/`` with each embedder (in a temporary index) and asks every labelled
question of ``bench/data/queries_zh.jsonl`` and ``queries_en.jsonl`` (lines ``{"q": ..., "relevant": [doc
ids]}``), exactly as the trainee's side panel and the grader do: ``KnowledgeBase.search(q, k)`` over the whole
knowledge base, no filters.

Metrics are over the returned *passages*: recall@k = share of questions with a passage from a relevant
document among the first k passages; MRR = mean of 1 / rank of the first such passage (0 if not in the top 10).

    .venv/bin/python bench/kb_quality.py                                   # USE on both sets
    .venv/bin/python bench/kb_quality.py --embedder st:all-MiniLM-L6-v2 --set en
    .venv/bin/python bench/kb_quality.py --misses                          # also list the questions missed
    .venv/bin/python bench/kb_quality.py --no-synonyms --half odd          # ablations, on half of each set
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from simulator.knowledge.base import KnowledgeBase, Mode
from simulator.knowledge.index import Fusion
from simulator.settings import REPO_ROOT, Settings

DATA = REPO_ROOT / "bench" / "data"
MODES: tuple[Mode, ...] = ("vector", "bm25", "hybrid")
MRR_DEPTH = 10


def load_queries(path: Path) -> list[dict[str, object]]:
    """Labelled questions of one JSONL file."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            row = json.loads(line)
            if not row.get("q") or not row.get("relevant"):
                raise SystemExit(f"{path}:{n}: each line needs 'q' and a non-empty 'relevant' list")
            rows.append(row)
    return rows


def evaluate(
    kb: KnowledgeBase, queries: list[dict[str, object]], mode: Mode, per_doc: int | None = None
) -> dict[str, object]:
    """Recall@1, recall@5, MRR and the missed questions for one mode."""
    r1 = r5 = rr = 0.0
    misses = []
    for row in queries:
        relevant = set(row["relevant"])  # type: ignore[call-overload]
        passages = kb.search(str(row["q"]), MRR_DEPTH, mode=mode, max_per_doc=per_doc)
        rank = next((n for n, p in enumerate(passages, start=1) if p.doc_id in relevant), None)
        r1 += rank == 1
        r5 += rank is not None and rank <= 5
        rr += 1 / rank if rank else 0.0
        if rank is None or rank > 5:
            misses.append({"q": row["q"], "relevant": sorted(relevant), "got": [p.doc_id for p in passages[:5]]})
    n = len(queries)
    return {"n": n, "recall@1": r1 / n, "recall@5": r5 / n, "mrr": rr / n, "misses": misses}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--embedder", action="append", help="use, fake, st:<model> (repeatable; default: use).")
    ap.add_argument("--set", action="append", choices=["zh", "en"], help="Query sets (default: both).")
    ap.add_argument("--knowledge", type=Path, default=REPO_ROOT / "knowledge", help="Knowledge folder.")
    ap.add_argument("--misses", action="store_true", help="List the questions hybrid search missed (top 5).")
    ap.add_argument("--json", type=Path, help="Also write the results as JSON.")
    ap.add_argument("--half", choices=["odd", "even"], help="Only odd or even lines of each set (to check a change).")
    ap.add_argument("--per-doc", type=int, help="At most N passages per document (default: no limit).")
    ap.add_argument("--no-synonyms", action="store_true", help="Ablation: no colloquial synonym expansion.")
    ap.add_argument("--no-language-preference", action="store_true", help="Ablation: no query-language preference.")
    ap.add_argument("--rrf-k", type=float, default=Fusion.k, help="RRF constant (default %(default)s).")
    ap.add_argument("--vector-weight", type=float, default=Fusion.vector_weight, help="Vector side weight.")
    args = ap.parse_args(argv)
    sets = args.set or ["zh", "en"]
    results = []
    print("| embedder | queries | mode | n | recall@1 | recall@5 | MRR |")
    print("|---|---|---|---|---|---|---|")
    for spec in args.embedder or ["use"]:
        with tempfile.TemporaryDirectory(prefix="kb-quality-") as tmp:
            settings = Settings(data_dir=Path(tmp), embedder=spec, _env_file=None)  # type: ignore[call-arg]
            kb = KnowledgeBase.open(settings)
            kb.fusion = Fusion(k=args.rrf_k, vector_weight=args.vector_weight)
            kb.synonyms = {} if args.no_synonyms else None
            kb.prefer_query_language = not args.no_language_preference
            report = kb.build([args.knowledge])
            if report.errors:
                print(f"warning: {len(report.errors)} knowledge files did not load", file=sys.stderr)
            for name in sets:
                queries = load_queries(DATA / f"queries_{name}.jsonl")
                if args.half:
                    queries = queries[0::2] if args.half == "odd" else queries[1::2]
                for mode in MODES:
                    r = evaluate(kb, queries, mode, args.per_doc)
                    results.append({"embedder": kb.embedder.name, "set": name, "mode": mode, **r})
                    print(
                        f"| {kb.embedder.name} | {name} | {mode} | {r['n']} | {r['recall@1']:.3f} | "
                        f"{r['recall@5']:.3f} | {r['mrr']:.3f} |",
                        flush=True,
                    )
                    if args.misses and mode == "hybrid":
                        for m in r["misses"]:  # type: ignore[attr-defined]
                            print(f"  miss: {json.dumps(m, ensure_ascii=False)}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
