"""Errors a person can cause, with where and how to fix.

Every problem a trainer or trainee can cause is a :class:`SimulatorError` subclass. Its message says what is
wrong, where (``path:line:col`` for files) and how to fix it. Code that shows errors to people catches
``SimulatorError`` and never shows a traceback.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in a file.

    Attributes:
        path: The file the problem is in.
        line: 1-based line, or 0 when the problem concerns the whole file.
        col: 1-based column, or 0 when unknown.
        location: Dotted path inside the document (``persona.mood``), empty for syntax problems.
        message: What is wrong and how to fix it.
        severity: ``error`` or ``warning``.
    """

    path: str
    line: int
    col: int
    location: str
    message: str
    severity: str = "error"

    def format(self) -> str:
        """Compiler-style ``path:line:col: location: message``."""
        where = f"{self.path}:{self.line}:{self.col}"
        prefix = f"{self.location}: " if self.location else ""
        tag = "" if self.severity == "error" else f"{self.severity}: "
        return f"{where}: {tag}{prefix}{self.message}"

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly form for ``--json`` output."""
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "location": self.location,
            "message": self.message,
            "severity": self.severity,
        }


class SimulatorError(Exception):
    """Base class for every error a person can cause (bad file, bad input, bad configuration)."""


class ValidationFailed(SimulatorError):
    """A file (or several) did not validate; carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(p.format() for p in problems))


class NotFound(SimulatorError):
    """A named thing (scenario, document, transcript) does not exist."""


class ConfigError(SimulatorError):
    """The settings are inconsistent or point at something unusable."""


def display_path(path: Path | str) -> str:
    """Path relative to the working directory when possible, so messages stay short and clickable."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def suggest(word: str, candidates: list[str] | tuple[str, ...]) -> str:
    """`` — did you mean 'x'?`` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" — did you mean '{close[0]}'?" if close else ""
