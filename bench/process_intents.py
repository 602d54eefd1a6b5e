"""Does the meaning layer of the process checks earn its place? Lexicon alone vs lexicon + exemplars.

Grades the sentences of ``bench/data/process_intents/sentences.jsonl`` — paraphrases of four things a QA lead
marks in process (a remedy carried out now, a policy exception, money from the agent's own pocket, a refusal to
escalate) and their near misses, written for this benchmark in both languages and never taken from the gold set
— with :class:`simulator.grading.intents.IntentDetector`, once with the locale's lexicon alone and once with the
embedder's nearest-neighbour test beside it. Reports precision and recall per concept, for the ``tune`` half
(the lexicon was extended after reading its misses; the grid below chooses the floor and margin on it), the
``check`` half (written at the same time by the same hand, so optimistic), ``fresh`` (written after the first
lexicon was frozen, then used to extend it once) and ``fresh2`` (written after that and never tuned on — the
honest figure for phrasings nobody anticipated).

    .venv/bin/python bench/process_intents.py            # the real embedder (what --kb and the web app use)
    .venv/bin/python bench/process_intents.py --grid     # also the floor × margin grid on the tune half
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulator.embedding.factory import make_embedder
from simulator.grading.intents import CONCEPTS, IntentDetector
from simulator.grading.lexicon import lexicon_for
from simulator.settings import Settings

DATA = Path(__file__).resolve().parent / "data" / "process_intents" / "sentences.jsonl"


def load() -> list[dict[str, object]]:
    """The labelled sentences."""
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


def score(rows: list[dict[str, object]], detector: IntentDetector, embedder: object, settings: Settings) -> dict:
    """Per split and concept: true positives, false positives, false negatives."""
    lex = {loc: lexicon_for(settings.rules_dir, loc) for loc in ("zh-CN", "en")}
    out: dict = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    for r in rows:
        found = detector.find(lex[str(r["locale"])], str(r["text"]), embedder)  # type: ignore[arg-type]
        said = r["concept"] in found
        cell = out[r["split"]][r["concept"]]
        if said and r["means"]:
            cell[0] += 1
        elif said:
            cell[1] += 1
        elif r["means"]:
            cell[2] += 1
    return out


def line(cell: list[int]) -> str:
    tp, fp, fn = cell
    p = f"{tp}/{tp + fp}" if tp + fp else "-"
    r = f"{tp}/{tp + fn}"
    return f"precision {p:>5}  recall {r:>5}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--grid", action="store_true", help="floor × margin grid on the tune half")
    args = ap.parse_args(argv)
    settings = Settings()
    embedder = make_embedder(settings)
    rows = load()
    print(f"{len(rows)} sentences, embedder {embedder.name}")
    for name, det in (("lexicon only", IntentDetector(use_meaning=False)), ("lexicon + meaning", IntentDetector())):
        res = score(rows, det, embedder if det.use_meaning else None, settings)
        print(f"\n{name} (floor {det.floor}, margin {det.margin})")
        for split in ("tune", "check", "fresh", "fresh2"):
            total = [sum(res[split][c][k] for c in CONCEPTS) for k in range(3)]
            print(f"  {split:5}  all                 {line(total)}")
            for c in CONCEPTS:
                print(f"         {c:19} {line(res[split][c])}")
    if args.grid:
        print("\nmeaning alone (no lexicon), grid on the tune half: floor margin -> tp fp fn")
        tune = [r for r in rows if r["split"] == "tune"]
        for floor in (0.5, 0.55, 0.6, 0.62, 0.65, 0.7):
            for margin in (0.0, 0.05, 0.08, 0.12, 0.15, 0.2):
                det = IntentDetector(floor=floor, margin=margin, use_lexicon=False)
                res = score(tune, det, embedder, settings)
                tp, fp, fn = (sum(res["tune"][c][k] for c in CONCEPTS) for k in range(3))
                print(f"  {floor:.2f} {margin:.2f} -> {tp:3} {fp:3} {fn:3}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
