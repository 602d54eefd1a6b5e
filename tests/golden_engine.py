"""How the golden snapshots (tests/golden.py) drive the engine. Only this file follows API changes; the
projections and the data it is compared with stay as they are."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from simulator.knowledge.passage import Passage
from simulator.settings import Settings

REPO = Path(__file__).resolve().parent.parent


def _settings(**overrides: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        scenarios_dir=REPO / "scenarios",
        knowledge_dir=REPO / "knowledge",
        rules_dir=REPO / "scenarios" / "rules",
        **overrides,
    )


def reference_grades(*, use: bool = False) -> dict[str, Any]:
    from golden import grade_projection

    from simulator.acts import ActDetector
    from simulator.customer.scripted import ScriptedCustomer
    from simulator.grading.grader import Grader
    from simulator.scenario.loader import load_scenarios
    from simulator.session import play_reference

    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(data_dir=Path(tmp))
        retriever = embedder = None
        if use:
            from simulator.knowledge.base import KnowledgeBase

            kb = KnowledgeBase.open(settings)
            kb.build([settings.knowledge_dir])
            kb.load()
            retriever, embedder = kb, kb.embedder
        loaded = load_scenarios([settings.scenarios_dir], require_references=True)
        detector = ActDetector(embedder)
        grader = Grader(settings, retriever=retriever, embedder=embedder, detector=detector)
        out: dict[str, Any] = {}
        for sid, item in sorted(loaded.scenarios.items()):
            scenario = item.scenario
            if scenario.references is None:
                continue
            for side in ("good", "bad"):
                ref = getattr(scenario.references, side)
                session = play_reference(scenario, ref, ScriptedCustomer(scenario, detector))
                transcript = session.transcript()
                grade = grader.grade(transcript, scenario, session.variables).to_dict()
                out[f"{sid}/{side}"] = {
                    "outcome": transcript.outcome,
                    "turns": [[t.role, t.text, t.beat] for t in transcript.turns],
                    "grade": grade_projection(grade),
                }
    return out


class _Peers:
    def __init__(self, texts: list[str]):
        self.passages = [
            Passage(f"peer#{i}", "peer", "peer reply", (), t, "peer", 1.0, kind="policy") for i, t in enumerate(texts)
        ]

    def search(self, query: str, k: int = 5, **filters: Any) -> list[Passage]:
        kind = filters.get("kind")
        kinds = {kind} if isinstance(kind, str) else set(kind or [])
        return [p for p in self.passages if not kinds or p.kind in kinds][:k]


_GRADER: dict[str, Any] = {}


def grade_with_peers(turns: list[dict[str, str]], peers: list[str], item_id: str) -> dict[str, Any]:
    from simulator.grading.grader import Grader
    from simulator.transcript import Transcript

    grader = Grader(_settings(), retriever=_Peers(peers))  # type: ignore[arg-type]
    transcript = Transcript.model_validate({"id": item_id, "turns": turns, "complete": False})
    return grader.grade(transcript).to_dict()
