"""Reading YAML that people wrote: line marks, duplicate keys, encoding and size problems as :class:`Problem`.

ruamel.yaml's round-trip loader keeps the line and column of every key and item, refuses duplicate keys
(PyYAML silently keeps the last one) and follows YAML 1.2 (``no`` stays a string). Everything that can go
wrong while reading becomes a ``Problem`` with ``path:line:col``; nothing here raises anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from simulator.errors import Problem, ValidationFailed, display_path

MAX_FILE_BYTES = 1_000_000
MAX_NODES = 200_000  # guards against alias bombs ("billion laughs") before pydantic walks the data

MAX_DEPTH = 100

Loc = tuple[str | int, ...]


def _flow_depth(text: str) -> int:
    """Deepest nesting of [ ] and { } (a cheap linear over-estimate; quotes are ignored)."""
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}" and depth:
            depth -= 1
    return deepest


@dataclass
class YamlDocument:
    """Parsed YAML plus what is needed to point back into the text."""

    path: str
    data: Any

    def locate(self, loc: Loc, *, key: bool = False) -> tuple[int, int]:
        """1-based (line, col) of the value at ``loc`` (or of its key when ``key`` is true).

        Walks as deep as the document goes; a location that does not exist (a missing field) resolves to the
        deepest existing parent, which is where the author has to add it.
        """
        node = self.data
        line, col = _start(node)
        for i, part in enumerate(loc):
            last = i == len(loc) - 1
            if isinstance(node, CommentedMap):
                if isinstance(part, int) and part not in node:
                    continue  # a single mapping accepted where a list is expected
                if part not in node:
                    break
                kl, kc = node.lc.key(part)
                vl, vc = node.lc.value(part)
                line, col = (kl, kc) if (key and last) else (vl, vc)
                child = node[part]
                if not (key and last) and isinstance(child, CommentedMap | CommentedSeq) and len(child):
                    # Block collections start on the next line; point at the key for clarity.
                    line, col = (kl, kc) if vl != kl else (vl, vc)
                node = child
            elif isinstance(node, CommentedSeq):
                if not isinstance(part, int) or part >= len(node):
                    break
                line, col = node.lc.item(part)
                node = node[part]
            else:
                break
        return line + 1, col + 1


def _start(node: Any) -> tuple[int, int]:
    lc = getattr(node, "lc", None)
    if lc is not None and lc.line is not None:
        return lc.line, lc.col or 0
    return 0, 0


def _count_nodes(node: Any, budget: list[int], depth: int = 0) -> bool:
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        return False
    if isinstance(node, dict):
        return all(_count_nodes(v, budget, depth + 1) for v in node.values())
    if isinstance(node, list):
        return all(_count_nodes(v, budget, depth + 1) for v in node)
    return True


def read_yaml(path: Path | str, text: str | bytes | None = None) -> tuple[YamlDocument | None, list[Problem]]:
    """Read one YAML file. Returns the document (or None) and every problem found while reading."""
    shown = display_path(path)
    try:
        raw = Path(path).read_bytes() if text is None else (text.encode() if isinstance(text, str) else text)
    except OSError as exc:
        return None, [Problem(shown, 0, 0, "", f"cannot read the file: {exc.strerror or exc}")]
    if len(raw) > MAX_FILE_BYTES:
        return None, [
            Problem(shown, 1, 1, "", f"file is {len(raw):,} bytes; the limit is {MAX_FILE_BYTES:,} — split it up")
        ]
    try:
        decoded = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [
            Problem(
                shown, line, col, "", f"byte 0x{raw[exc.start]:02x} is not UTF-8 — save the file as UTF-8 (not GBK)"
            )
        ]
    if "\x00" in decoded:
        line = decoded[: decoded.index("\x00")].count("\n") + 1
        return None, [Problem(shown, line, 1, "", "file contains a NUL byte — is it a binary file?")]
    if _flow_depth(decoded) > MAX_DEPTH:
        # ruamel's scanner slows down quadratically on deep [[[…]]] before it gives up: refuse early.
        return None, [Problem(shown, 1, 1, "", f"YAML is nested more than {MAX_DEPTH} levels deep — flatten it")]
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        data = yaml.load(decoded)
    except DuplicateKeyError as exc:
        return None, [_marked(shown, exc, "each key may appear once in a mapping; merge or rename them")]
    except MarkedYAMLError as exc:
        return None, [_marked(shown, exc, None)]
    except YAMLError as exc:
        return None, [Problem(shown, 1, 1, "", f"YAML error: {exc}")]
    except RecursionError:
        return None, [Problem(shown, 1, 1, "", "YAML is nested too deeply")]
    except Exception as exc:  # ruamel raises assorted errors on hostile input; never show a traceback
        return None, [Problem(shown, 1, 1, "", f"cannot parse YAML: {type(exc).__name__}: {exc}")]
    if data is not None and not _count_nodes(data, [MAX_NODES]):
        return None, [
            Problem(shown, 1, 1, "", "document expands to too many values or is nested too deeply (YAML aliases?)")
        ]
    return YamlDocument(shown, data), []


def kind_name(value: object) -> str:
    """How a YAML value is called in messages for people."""
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _marked(shown: str, exc: MarkedYAMLError, hint: str | None) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    problem = " ".join(str(exc.problem or "").split())
    if "end of stream" in problem and exc.context_mark is not None:
        mark = exc.context_mark  # an unclosed quote or bracket: point at where it was opened
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    if isinstance(exc, DuplicateKeyError):
        key = problem.split(" with value")[0].replace("found duplicate key ", "")
        return Problem(shown, line, col, "", f"duplicate key {key} — {hint}")
    what = " ".join(x for x in (exc.context, exc.problem) if x) or str(exc)
    what = " ".join(what.split()).replace("'\\t'", "a tab").replace("\t", "a tab")
    hint = hint or _syntax_hint(what)
    return Problem(shown, line, col, "", f"{what} — {hint}")


def _syntax_hint(what: str) -> str:
    w = what.lower()
    if "a tab" in w or "tab character" in w:
        return "indent with spaces, not tabs"
    if "flow sequence" in w or "flow mapping" in w:
        return "inside [ … ] or { … } quote items that contain , [ ] { } or ':', or write the list as '- item' lines"
    if "mapping values are not allowed" in w:
        return "a value containing ': ' must be quoted, or the indentation is off"
    if "could not find expected ':'" in w or "simple key" in w:
        return "check the indentation and that every key ends with ':'"
    if "expected <block end>" in w or "did not find expected key" in w:
        return "check the indentation of this line against the lines above"
    if "found character" in w or "cannot start any token" in w:
        return "quote values that start with @, `, % or other special characters"
    if "unacceptable character" in w or "special characters are not allowed" in w:
        return "remove the control character"
    if "while scanning a quoted scalar" in w or "unexpected end of stream" in w:
        return "close the quote"
    if "alias" in w or "anchor" in w:
        return "define the &anchor before using *alias"
    return "fix the YAML syntax here"


Model = TypeVar("Model", bound=BaseModel)


def read_model(path: Path | str, model: type[Model], shape: str) -> tuple[Model, str]:
    """Read a YAML rules file into ``model``; returns it with the path as shown in messages.

    Args:
        path: The file.
        model: The pydantic model of the whole file (a mapping).
        shape: What the file should be, for a file that is not a mapping ("facts.yaml is a mapping (negation:, …)").

    Raises:
        ValidationFailed: with every problem, each pointing at ``path:line:col`` (unknown keys named as such).
    """
    doc, problems = read_yaml(path)
    if doc is None:
        raise ValidationFailed(problems)
    if not isinstance(doc.data, dict):
        raise ValidationFailed([Problem(doc.path, 1, 1, "", shape)])
    try:
        return model.model_validate(doc.data), doc.path
    except ValidationError as exc:
        out = []
        for err in exc.errors(include_url=False):
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
            line, col = doc.locate(loc)
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = f"unknown key '{loc[-1]}'"
            out.append(Problem(doc.path, line, col, ".".join(str(p) for p in loc), msg))
        raise ValidationFailed(out) from None
