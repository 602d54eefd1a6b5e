"""Loading exams and question banks: every file validated (``path:line:col``), cross-checked against the scenarios,
the knowledge documents and each other, and — for the web app — cached and reloaded when a file changes.

Checks across files: an exam's banks and scenarios exist; its quotas can be met by its banks; its scenario pool
can give enough scenarios; "edge cases only" names scenarios that have edge-case variants; every question's
``source`` is a knowledge document.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulator.errors import NotFound, Problem, display_path, suggest
from simulator.exam.definition import EdgeCases, ExamDefinition, PartKind
from simulator.exam.definition import internal_problems as exam_problems
from simulator.exam.questions import DrawError, QuestionBank, draw_questions
from simulator.exam.questions import internal_problems as bank_problems
from simulator.scenario.loader import SCENARIO_SUFFIXES, located, validate_document
from simulator.scenario.model import Scenario
from simulator.scenario.yamlsource import YamlDocument, read_yaml

if TYPE_CHECKING:
    from simulator.scenario.catalogue import Catalogue
    from simulator.settings import Settings

EXAMS_FOLDER = "exams"
QUESTIONS_FOLDER = "questions"


@dataclass
class LoadedExam:
    """An exam file that validated."""

    exam: ExamDefinition
    path: str
    digest: str
    document: YamlDocument


@dataclass
class LoadedBank:
    """A question-bank file that validated."""

    bank: QuestionBank
    path: str
    digest: str
    document: YamlDocument


@dataclass
class ExamSet:
    """Every exam and bank found, with every problem."""

    exams: dict[str, LoadedExam] = field(default_factory=dict)
    banks: dict[str, LoadedBank] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files: dict[str, list[Problem]] = field(default_factory=dict)  # every file read, with its problems

    @property
    def ok(self) -> bool:
        """No errors."""
        return not any(p.severity == "error" for p in self.problems)


def digest_of(data: bytes) -> str:
    """Hash of a file's content (stored with each attempt)."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def exam_files(paths: Iterable[Path | str]) -> tuple[list[Path], list[Path]]:
    """(exam files, question-bank files) under ``paths``: YAML in an ``exams`` folder, YAML in a ``questions``
    folder."""
    exams: list[Path] = []
    banks: list[Path] = []
    for raw in paths:
        p = Path(raw)
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p] if p.is_file() else []
        for f in files:
            if f.suffix not in SCENARIO_SUFFIXES:
                continue
            if EXAMS_FOLDER in f.parts:
                exams.append(f)
            elif QUESTIONS_FOLDER in f.parts:
                banks.append(f)
    return exams, banks


def load_exam_set(
    exam_paths: Iterable[Path],
    bank_paths: Iterable[Path],
    *,
    scenarios: Mapping[str, Scenario] | None,
    knowledge_ids: set[str] | None,
) -> ExamSet:
    """Load and cross-check exams and banks.

    Args:
        exam_paths: Exam files.
        bank_paths: Question-bank files (every bank an exam may name).
        scenarios: Usable scenarios by id (None: scenario references are not checked).
        knowledge_ids: Knowledge document ids (None: question sources are not checked).
    """
    out = ExamSet()
    for path in bank_paths:
        loaded, problems = _load(
            path, QuestionBank, "a question bank", "file is empty — a bank needs id, title, locale and questions"
        )
        shown = display_path(path)
        if loaded is not None:
            bank, doc, digest = loaded
            problems += [located(doc, loc, msg) for loc, msg in bank_problems(bank)]
            if knowledge_ids is not None:
                known = sorted(knowledge_ids)
                for i, q in enumerate(bank.questions):
                    refs: list[tuple[tuple[str | int, ...], str]] = [(("questions", i, "source"), q.source)]
                    refs += [(("questions", i, "facts", j, "source"), f.source) for j, f in enumerate(q.facts)]
                    for loc, ref in refs:
                        if ref not in knowledge_ids:
                            problems.append(
                                located(doc, loc, f"unknown knowledge document '{ref}'{suggest(ref, known)}")
                            )
            if bank.id in out.banks:
                other = out.banks[bank.id]
                problems.append(located(doc, ("id",), f"bank id '{bank.id}' is already used by {other.path}"))
            elif not any(p.severity == "error" for p in problems):
                out.banks[bank.id] = LoadedBank(bank, shown, digest, doc)
        out.files[shown] = problems
        out.problems += problems
    for path in exam_paths:
        loaded_exam, problems = _load(
            path, ExamDefinition, "an exam", "file is empty — an exam needs id, title, locale and parts"
        )
        shown = display_path(path)
        if loaded_exam is not None:
            exam, doc, digest = loaded_exam
            problems += [located(doc, loc, msg) for loc, msg in exam_problems(exam)]
            problems += _references(exam, doc, out.banks, scenarios)
            if exam.id in out.exams:
                problems.append(
                    located(doc, ("id",), f"exam id '{exam.id}' is already used by {out.exams[exam.id].path}")
                )
            elif not any(p.severity == "error" for p in problems):
                out.exams[exam.id] = LoadedExam(exam, shown, digest, doc)
        out.files[shown] = problems
        out.problems += problems
    return out


def _load(path: Path, model: type, what: str, empty: str) -> tuple[tuple[Any, YamlDocument, str] | None, list[Problem]]:
    doc, problems = read_yaml(path)
    if doc is None:
        return None, problems
    obj, problems = validate_document(doc, model, empty=empty, what=what)
    if obj is None:
        return None, problems
    return (obj, doc, digest_of(Path(path).read_bytes())), []


def _references(
    exam: ExamDefinition, doc: YamlDocument, banks: Mapping[str, LoadedBank], scenarios: Mapping[str, Scenario] | None
) -> list[Problem]:
    out: list[Problem] = []
    bank_ids = sorted(banks)
    for i, part in enumerate(exam.parts):
        if part.kind is PartKind.WRITTEN:
            assert part.draw is not None
            missing = False
            for j, bid in enumerate(part.draw.banks):
                if bid not in banks:
                    missing = True
                    out.append(
                        located(
                            doc,
                            ("parts", i, "draw", "banks", j),
                            f"unknown question bank '{bid}'{suggest(bid, bank_ids)} — banks live in "
                            "knowledge/<shop>/questions/*.yaml",
                        )
                    )
                elif banks[bid].bank.locale != exam.locale:
                    out.append(
                        located(
                            doc,
                            ("parts", i, "draw", "banks", j),
                            f"bank '{bid}' is in {banks[bid].bank.locale.value}; the exam is in {exam.locale.value}",
                            severity="warning",
                        )
                    )
            if not missing:
                try:
                    draw_questions({b: banks[b].bank for b in part.draw.banks}, part.draw, 0)
                except DrawError as exc:
                    out.append(
                        located(
                            doc,
                            ("parts", i, "draw"),
                            f"cannot draw the questions: {exc} — add questions to the banks or lower the quota",
                        )
                    )
            continue
        if scenarios is None:
            continue
        known = sorted(scenarios)
        for j, sid in enumerate(part.scenarios):
            sc = scenarios.get(sid)
            if sc is None:
                out.append(
                    located(
                        doc,
                        ("parts", i, "scenarios", j),
                        f"unknown scenario '{sid}'{suggest(sid, known)} — "
                        "or the scenario file has errors (run `simulator validate`)",
                    )
                )
                continue
            if part.edge_cases is EdgeCases.ONLY and not any(c.edge for c in sc.variants):
                out.append(located(doc, ("parts", i, "edge_cases"), f"scenario '{sid}' has no edge-case variant"))
            if sc.locale != exam.locale:
                out.append(
                    located(
                        doc,
                        ("parts", i, "scenarios", j),
                        f"scenario '{sid}' is in {sc.locale.value}; the exam is in {exam.locale.value}",
                        severity="warning",
                    )
                )
        if part.pool is not None:
            n = len(pool_candidates(exam, part.pool, scenarios, part.edge_cases))
            if n < part.pool.count:
                out.append(
                    located(
                        doc,
                        ("parts", i, "pool", "count"),
                        f"the pool has {n} matching scenarios; "
                        f"{part.pool.count} are drawn — widen the pool or lower count",
                    )
                )
    return out


def pool_candidates(
    exam: ExamDefinition, pool: object, scenarios: Mapping[str, Scenario], edge_cases: EdgeCases = EdgeCases.ALLOW
) -> list[str]:
    """Scenario ids a role-play pool may draw (same language and shop as the exam), sorted."""
    from simulator.exam.definition import ScenarioPool

    assert isinstance(pool, ScenarioPool)
    out = []
    for sid, sc in sorted(scenarios.items()):
        if sc.locale != exam.locale or (exam.shop and sc.shop and sc.shop != exam.shop):
            continue
        if pool.categories and sc.category not in pool.categories:
            continue
        if pool.difficulties and sc.difficulty not in pool.difficulties:
            continue
        if pool.tiers and sc.tier not in pool.tiers:
            continue
        if edge_cases is EdgeCases.ONLY and not any(c.edge for c in sc.variants):
            continue
        out.append(sid)
    return out


class ExamCatalogue:
    """The exams under ``<scenarios>/exams`` and the banks under ``<knowledge>/**/questions``, checked against the
    scenario catalogue; reloaded when any file changes (checked at most every ``check_every`` seconds).

    A broken exam file never breaks the app: it is listed with its problems for the exam owner and cannot be
    scheduled or started.
    """

    def __init__(self, settings: Settings, scenarios: Catalogue, *, check_every: float = 2.0):
        self.settings = settings
        self.scenarios = scenarios
        self.check_every = check_every
        self._lock = threading.Lock()
        self._signature: tuple[tuple[str, int, int], ...] | None = None
        self._checked = 0.0
        self._set = ExamSet()

    def _scan(self) -> tuple[tuple[str, int, int], ...]:
        sig: list[tuple[str, int, int]] = []
        for root in (self.settings.scenarios_dir, self.settings.knowledge_dir):
            if root.is_dir():
                for p in root.rglob("*"):
                    if p.is_file():
                        st = p.stat()
                        sig.append((str(p), st.st_mtime_ns, st.st_size))
        return tuple(sorted(sig))

    def refresh(self, *, force: bool = False) -> None:
        """Reload if files changed (or ``force``)."""
        if not force and self._signature is not None and time.monotonic() - self._checked < self.check_every:
            return
        with self._lock:
            if not force and self._signature is not None and time.monotonic() - self._checked < self.check_every:
                return
            sig = self._scan()
            self._checked = time.monotonic()
            if sig == self._signature and not force:
                return
            from simulator.knowledge.documents import load_documents

            kdir = self.settings.knowledge_dir
            knowledge_ids = load_documents([kdir]).ids if kdir.is_dir() else None
            exams, _ = exam_files([self.settings.scenarios_dir / EXAMS_FOLDER])
            _, banks = exam_files([kdir])
            scenarios = {e.scenario.id: e.scenario for e in self.scenarios.entries()}
            self._set = load_exam_set(exams, banks, scenarios=scenarios, knowledge_ids=knowledge_ids)
            self._signature = sig

    @property
    def loaded(self) -> ExamSet:
        """The current set (reloaded if files changed)."""
        self.refresh()
        return self._set

    def exams(self) -> list[LoadedExam]:
        """Usable exams, by title."""
        return sorted(self.loaded.exams.values(), key=lambda e: e.exam.title)

    def get(self, exam_id: str) -> LoadedExam:
        """The usable exam with this id, or :class:`NotFound`."""
        try:
            return self.loaded.exams[exam_id]
        except KeyError:
            raise NotFound(f"no usable exam '{exam_id}'") from None

    def bank(self, bank_id: str) -> LoadedBank:
        """The usable bank with this id, or :class:`NotFound`."""
        try:
            return self.loaded.banks[bank_id]
        except KeyError:
            raise NotFound(f"no usable question bank '{bank_id}'") from None
