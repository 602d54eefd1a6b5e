"""A QA team's labels: which conversation, and the score a human rater gave it (overall, and per dimension).

The CSV ``simulator calibrate`` reads (UTF-8, a header row; extra columns are ignored)::

    transcript,score,service,technique,knowledge,process
    chats/0001.json,85,90,,80,
    c-0002,60,,,,

* ``transcript`` (or ``id``, ``conversation``, ``file``): a transcript file (relative to the CSV's folder or the
  working directory; ``file.jsonl#id`` picks one of several), or the id of a transcript in the files given with
  ``--transcripts``.
* ``score``: the overall human score; ``service`` … ``process``: per dimension, where given. Any numeric scale.

Every bad row is a :class:`~simulator.errors.Problem` with its file and line, and the other rows are still read.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from simulator.errors import Problem, display_path
from simulator.grading.calibration import OVERALL, TARGETS
from simulator.transcript import Transcript, read_transcripts

REFERENCE_COLUMNS = ("transcript", "id", "conversation", "file")
SCORE_COLUMNS = {"score": OVERALL, **{t: t for t in TARGETS if t != OVERALL}}
MAX_LABEL_BYTES = 20_000_000


@dataclass
class Label:
    """One labelled conversation."""

    line: int
    reference: str
    transcript: Transcript
    scores: dict[str, float]  # target → human score


def _problem(path: str, line: int, message: str) -> Problem:
    return Problem(path, line, 0, "", message)


def read_labels(path: Path, transcript_files: Iterable[Path] = ()) -> tuple[list[Label], list[Problem]]:
    """The labels in a CSV with their transcripts; bad rows (and unreadable transcript files) as problems."""
    shown = display_path(path)
    try:
        if path.stat().st_size > MAX_LABEL_BYTES:
            return [], [_problem(shown, 0, f"file is larger than {MAX_LABEL_BYTES:,} bytes — split it")]
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return [], [_problem(shown, 0, "no such file")]
    except UnicodeDecodeError:
        return [], [_problem(shown, 0, "not UTF-8 text — save the CSV as UTF-8")]
    except OSError as exc:
        return [], [_problem(shown, 0, f"cannot read the file: {exc.strerror or exc}")]

    problems: list[Problem] = []
    by_id: dict[str, Transcript] = {}
    for f in transcript_files:
        found, bad = read_transcripts(f)
        problems += bad
        for t in found:
            by_id.setdefault(t.id, t)

    reader = csv.reader(text.splitlines())
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        return [], [_problem(shown, 0, "empty file — expected a header row such as 'transcript,score'")]
    except csv.Error as exc:
        return [], [_problem(shown, 1, f"not a CSV header: {exc}")]
    ref_col = next((header.index(c) for c in REFERENCE_COLUMNS if c in header), None)
    score_cols = {header.index(c): target for c, target in SCORE_COLUMNS.items() if c in header}
    if ref_col is None or not score_cols:
        missing = [] if ref_col is not None else ["a transcript column (transcript, id, conversation or file)"]
        if not score_cols:
            missing.append("a score column (score, service, technique, knowledge or process)")
        return [], [_problem(shown, 1, f"header has no {' and no '.join(missing)}; got: {', '.join(header)}")]

    labels: list[Label] = []
    seen: dict[str, int] = {}
    files: dict[Path, list[Transcript]] = {}
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(_problem(shown, reader.line_num, f"not valid CSV: {exc}"))
            break
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(
                _problem(
                    shown,
                    line,
                    f"{len(row)} field(s) where the header has {len(header)} — quote a value that holds a comma",
                )
            )
            continue
        ref = row[ref_col].strip()
        if not ref:
            problems.append(_problem(shown, line, f"no transcript in column '{header[ref_col]}'"))
            continue
        scores: dict[str, float] = {}
        wrong = False
        for col, target in score_cols.items():
            cell = row[col].strip()
            if not cell:
                continue
            try:
                value = float(cell)
            except ValueError:
                problems.append(_problem(shown, line, f"{header[col]} '{cell}' is not a number"))
                wrong = True
                continue
            if not math.isfinite(value):
                problems.append(_problem(shown, line, f"{header[col]} '{cell}' is not a finite number"))
                wrong = True
                continue
            scores[target] = value
        if wrong:
            continue
        if not scores:
            problems.append(_problem(shown, line, "no score given — fill 'score' or a dimension's column"))
            continue
        if ref in seen:
            problems.append(
                _problem(
                    shown,
                    line,
                    f"'{ref}' is labelled twice (first on line {seen[ref]}); "
                    "keep one row per conversation (average the raters' scores)",
                )
            )
            continue
        transcript, why = _resolve(ref, path.parent, by_id, files)
        if transcript is None:
            problems.append(_problem(shown, line, why))
            continue
        seen[ref] = line
        labels.append(Label(line, ref, transcript, scores))
    return labels, problems


def _resolve(
    ref: str, base: Path, by_id: dict[str, Transcript], files: dict[Path, list[Transcript]]
) -> tuple[Transcript | None, str]:
    """The transcript a reference names, or (None, why)."""
    if ref in by_id:
        return by_id[ref], ""
    name, _, wanted = ref.partition("#")
    candidates = [base / name, Path(name)]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        hint = "" if by_id else " (no --transcripts files were given)"
        return None, (
            f"'{ref}' is neither a transcript file nor the id of a transcript in the --transcripts files{hint}"
        )
    if path not in files:
        found, bad = read_transcripts(path)
        if bad and not found:
            return None, f"transcript file {display_path(path)}: {bad[0].format()}"
        files[path] = found
    found = files[path]
    if wanted:
        match = next((t for t in found if t.id == wanted), None)
        return (match, "") if match else (None, f"{display_path(path)} has no transcript with id '{wanted}'")
    if len(found) != 1:
        return None, (
            f"{display_path(path)} holds {len(found)} transcripts — name one as "
            f"'{name}#<id>', or pass the file with --transcripts and give the id"
        )
    return found[0], ""
