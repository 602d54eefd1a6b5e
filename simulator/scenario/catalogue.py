"""The scenario catalogue: every scenario file with its validation status, reloaded on change — the one place
the web app, the CLI and the engine look a scenario up (by id, or by file path on the command line).

Loading YAML is slow (tens of ms per file), so the set is cached and reloaded only when a file under the
scenarios folder was added, removed or modified (checked at most every ``check_every`` seconds). A broken
file never breaks the app: it shows up on the trainer page with its ``path:line:col`` problems and is left out
of the trainee catalogue.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from simulator.errors import NotFound, Problem, ValidationFailed, display_path
from simulator.knowledge.documents import load_documents
from simulator.scenario.loader import SCENARIO_SUFFIXES, ScenarioSet, find_scenario, load_scenario_file, load_scenarios
from simulator.scenario.model import Scenario
from simulator.scenario.vocabulary import Difficulty
from simulator.settings import Settings

DIFFICULTY_ORDER = {d.value: i for i, d in enumerate(Difficulty)}


def scenario_digest(data: bytes) -> str:
    """Hash of a scenario file's content, stored with each session so a changed file is noticed."""
    return hashlib.sha256(data).hexdigest()


@dataclass
class FileStatus:
    """One YAML file under the scenarios folder and what the loader said about it."""

    path: str
    scenario_id: str | None
    title: str | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No errors (warnings allowed)."""
        return not any(p.severity == "error" for p in self.problems)

    @property
    def warnings(self) -> list[Problem]:
        """Only the warnings."""
        return [p for p in self.problems if p.severity != "error"]


@dataclass
class Entry:
    """A scenario that loaded, with the digest of its file (stored with each session for reproducibility)."""

    scenario: Scenario
    path: str
    digest: str


class Catalogue:
    """Scenarios under ``settings.scenarios_dir``, cross-checked against the knowledge document ids.

    Args:
        settings: Where the scenarios and knowledge live.
        check_every: Minimum seconds between two checks of the folder for changes.
    """

    def __init__(self, settings: Settings, *, check_every: float = 2.0):
        self.settings = settings
        self.check_every = check_every
        self._lock = threading.Lock()
        self._signature: tuple[tuple[str, int, int], ...] | None = None
        self._checked = 0.0
        self._entries: dict[str, Entry] = {}
        self._files: list[FileStatus] = []

    # -- loading --------------------------------------------------------------------------------------------

    def _scan(self) -> tuple[tuple[str, int, int], ...]:
        roots = [self.settings.scenarios_dir, self.settings.knowledge_dir]
        sig: list[tuple[str, int, int]] = []
        for root in roots:
            if not root.is_dir():
                continue
            for p in root.rglob("*"):
                if p.is_file():
                    st = p.stat()
                    sig.append((str(p), st.st_mtime_ns, st.st_size))
        return tuple(sorted(sig))

    def refresh(self, *, force: bool = False) -> None:
        """Reload if files changed (or ``force``)."""
        now = time.monotonic()
        if not force and self._signature is not None and now - self._checked < self.check_every:
            return
        with self._lock:
            if not force and self._signature is not None and time.monotonic() - self._checked < self.check_every:
                return
            sig = self._scan()
            self._checked = time.monotonic()
            if sig == self._signature and not force:
                return
            self._load()
            self._signature = sig

    def _load(self) -> None:
        kdir = self.settings.knowledge_dir
        docs = load_documents([kdir]) if kdir.is_dir() else None
        sset: ScenarioSet = load_scenarios(
            [self.settings.scenarios_dir],
            knowledge_ids=docs.ids if docs is not None else None,
            knowledge_texts={k: d.body for k, d in docs.documents.items()} if docs is not None else None,
        )
        entries: dict[str, Entry] = {}
        by_path: dict[str, FileStatus] = {}
        for sid, loaded in sset.scenarios.items():
            shown = display_path(loaded.path)
            entries[sid] = Entry(loaded.scenario, shown, scenario_digest(loaded.path.read_bytes()))
            by_path[shown] = FileStatus(shown, sid, loaded.scenario.title)
        for p in sset.problems:
            status = by_path.setdefault(p.path, FileStatus(p.path, None, None))
            status.problems.append(p)
        for shown in sset.failed:
            by_path.setdefault(shown, FileStatus(shown, None, None))
        # Cross-file errors (duplicate id, unknown knowledge document) make a scenario unusable for trainees.
        for status in by_path.values():
            if status.scenario_id and not status.ok:
                entries.pop(status.scenario_id, None)
        self._entries = entries
        self._files = sorted(by_path.values(), key=lambda f: (f.ok, f.path))

    # -- queries --------------------------------------------------------------------------------------------

    def entries(self) -> list[Entry]:
        """Usable scenarios, sorted by category, difficulty and title."""
        self.refresh()
        return sorted(
            self._entries.values(),
            key=lambda e: (
                e.scenario.category.value,
                DIFFICULTY_ORDER.get(e.scenario.difficulty.value, 9),
                e.scenario.title,
            ),
        )

    def files(self) -> list[FileStatus]:
        """Every scenario file with its status, broken ones first."""
        self.refresh()
        return list(self._files)

    def get(self, scenario_id: str) -> Entry:
        """The usable scenario with this id, or :class:`NotFound`."""
        self.refresh()
        try:
            return self._entries[scenario_id]
        except KeyError:
            raise NotFound(f"no usable scenario '{scenario_id}'") from None

    def resolve(self, ref: str) -> Entry:
        """A scenario by id, or by the path of its YAML file (what the command line accepts).

        A path is loaded on its own (it need not be under the scenarios folder). An id is looked up in the
        catalogue; before the catalogue has been loaded, only the file named after the id is parsed (a command
        that needs one scenario starts in a fraction of the time it takes to load them all).

        Raises:
            NotFound: no such file, or no scenario with this id (naming the closest).
            ValidationFailed: the scenario's file has errors (every problem as path:line:col).
        """
        path = Path(ref)
        if path.suffix.lower() in SCENARIO_SUFFIXES or path.is_file():
            if not path.is_file():
                raise NotFound(f"no scenario file {ref} — check the path, or pass a scenario id")
            loaded, problems = load_scenario_file(path)
            if loaded is None:
                raise ValidationFailed(problems)
            return Entry(loaded.scenario, display_path(path), scenario_digest(path.read_bytes()))
        if self._signature is None:
            found = find_scenario(ref, [self.settings.scenarios_dir])
            return Entry(found.scenario, display_path(found.path), scenario_digest(found.path.read_bytes()))
        return self.get(ref)

    def filter(
        self,
        *,
        category: str | None = None,
        skill: str | None = None,
        difficulty: str | None = None,
        first: Sequence[str] = (),
    ) -> list[Entry]:
        """Scenarios matching the filters; ids in ``first`` (assignments, in order) come first."""
        out = [
            e
            for e in self.entries()
            if (not category or e.scenario.category.value == category)
            and (not skill or skill in {s.value for s in e.scenario.skills})
            and (not difficulty or e.scenario.difficulty.value == difficulty)
        ]
        rank = {sid: i for i, sid in enumerate(first)}
        return sorted(out, key=lambda e: rank.get(e.scenario.id, len(rank)))


def is_scenario_file(path: Path) -> bool:
    """True for the YAML files the catalogue reads."""
    return path.suffix in SCENARIO_SUFFIXES
