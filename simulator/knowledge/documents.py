"""Knowledge documents: Markdown files with optional front matter, read with ``path:line`` problems.

Front matter (between ``---`` lines at the top) may give ``id``, ``title``, ``kind``, ``tier``, ``tags`` and
``locale``. Without it the id comes from the path (``products/dress-101.md`` → ``products/dress-101``) so any
folder of plain Markdown can be indexed. One bad file never stops the others.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from simulator.errors import Problem, display_path, suggest
from simulator.scenario.vocabulary import Tier
from simulator.scenario.yamlsource import read_yaml
from simulator.text import count_cjk

MAX_DOC_BYTES = 2_000_000
DOC_SUFFIXES = (".md", ".markdown")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_FM_RE = re.compile(r"\A---[ \t]*\r?\n(.*?)(?:\r?\n)---[ \t]*(?:\r?\n|\Z)", re.S)


class DocKind(StrEnum):
    """What a knowledge document is."""

    PRODUCT = "product"
    SIZE_CHART = "size-chart"
    POLICY = "policy"
    SCRIPT = "script"
    FAQ = "faq"
    SOP = "sop"
    OTHER = "other"


class DocumentMeta(BaseModel):
    """Front matter of a knowledge document. Unknown keys are allowed (other tools write their own) but warned."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True, coerce_numbers_to_str=True)

    id: str | None = Field(default=None, min_length=1, max_length=200, description="Stable id; default: path.")
    title: str | None = Field(default=None, max_length=300, description="Title; default: first heading.")
    kind: DocKind = Field(default=DocKind.OTHER, description="product, size-chart, policy, script, faq, sop.")
    tier: Tier = Field(default=Tier.MASTER, description="必会, 掌握 or 了解.")
    tags: list[str] = Field(default_factory=list, description="Free labels for filtering.")
    locale: str | None = Field(
        default=None, description="zh-CN or en; default: detected from the text (Chinese characters → zh-CN)."
    )
    shop: str = Field(default="", description="Which shop the document belongs to.")


@dataclass
class Document:
    """A knowledge document ready for chunking."""

    id: str
    title: str
    kind: DocKind
    tier: Tier
    tags: list[str]
    locale: str
    shop: str
    path: str
    body: str
    body_line: int  # 1-based line of the body's first line in the file
    sha256: str


@dataclass
class DocumentSet:
    """Documents keyed by id, plus every problem found."""

    documents: dict[str, Document] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ids(self) -> set[str]:
        """Ids of the documents that loaded."""
        return set(self.documents)


def document_files(paths: Iterable[Path | str]) -> list[tuple[Path, Path]]:
    """(file, root) pairs for every Markdown file under ``paths``; the root makes the path-derived id."""
    out: list[tuple[Path, Path]] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out += [(f, p) for f in sorted(p.rglob("*")) if f.suffix.lower() in DOC_SUFFIXES and f.is_file()]
        elif p.is_file():
            out.append((p, p.parent))
    return out


def load_document(path: Path, root: Path) -> tuple[Document | None, list[Problem]]:
    """Read one document; every problem is returned, nothing raised."""
    shown = display_path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(shown, 0, 0, "", f"cannot read the file: {exc.strerror or exc}")]
    if len(raw) > MAX_DOC_BYTES:
        return None, [
            Problem(shown, 1, 1, "", f"file is {len(raw):,} bytes; the limit is {MAX_DOC_BYTES:,} — split it")
        ]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [Problem(shown, line, 1, "", f"byte 0x{raw[exc.start]:02x} is not UTF-8 — save the file as UTF-8")]
    problems: list[Problem] = []
    meta = DocumentMeta()
    body, body_line = text, 1
    if text.startswith("---"):
        m = _FM_RE.match(text)
        if m is None:
            return None, [
                Problem(shown, 1, 1, "", "front matter starts with '---' but never ends — add a closing '---'")
            ]
        body = text[m.end() :]
        body_line = text[: m.end()].count("\n") + 1
        parsed, fm_problems = _parse_meta(shown, m.group(1))
        problems += fm_problems
        if parsed is None:
            return None, problems
        meta = parsed
    if not body.strip():
        empty = Problem(shown, body_line, 1, "", "document has no content — write something or delete it")
        return None, [*problems, empty]
    rel = path.relative_to(root).with_suffix("") if path.is_relative_to(root) else Path(path.stem)
    doc_id = meta.id or rel.as_posix()
    title = meta.title or _first_heading(body) or path.stem
    return (
        Document(
            id=doc_id,
            title=title,
            kind=meta.kind,
            tier=meta.tier,
            tags=list(meta.tags),
            locale=meta.locale or detect_locale(body),
            shop=meta.shop,
            path=shown,
            body=body,
            body_line=body_line,
            sha256=hashlib.sha256(raw).hexdigest(),
        ),
        problems,
    )


def _parse_meta(shown: str, fm_text: str) -> tuple[DocumentMeta | None, list[Problem]]:
    # Front matter starts on line 2 of the file: offset every mark by one line.
    doc, problems = read_yaml(shown, fm_text)
    problems = [Problem(p.path, p.line + 1, p.col, p.location, "front matter: " + p.message) for p in problems]
    if doc is None:
        return None, problems
    if doc.data is None:
        return DocumentMeta(), problems
    if not isinstance(doc.data, dict):
        return None, [Problem(shown, 2, 1, "", "front matter must be key: value lines")]
    try:
        meta = DocumentMeta.model_validate(dict(doc.data))
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            line, col = doc.locate(loc)
            name = str(loc[0]) if loc else ""
            expected = _enum_choices(name)
            value = err.get("input")
            hint = suggest(str(value), expected) or (f" — one of: {', '.join(expected)}" if expected else "")
            msg = f"'{value}' is not allowed{hint}" if err["type"] == "enum" else err["msg"]
            problems.append(Problem(shown, line + 1, col, name, msg))
        return None, problems
    for extra in meta.model_extra or {}:
        hint = suggest(extra, list(DocumentMeta.model_fields))
        if hint:
            line, col = doc.locate((extra,), key=True)
            problems.append(
                Problem(shown, line + 1, col, extra, f"unknown front-matter key '{extra}'{hint}", "warning")
            )
    return meta, problems


def _enum_choices(name: str) -> list[str]:
    return {"kind": [k.value for k in DocKind], "tier": [t.value for t in Tier]}.get(name, [])


def _first_heading(body: str) -> str | None:
    for line in body.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip() or None
    return None


def load_documents(paths: Iterable[Path | str]) -> DocumentSet:
    """Load every Markdown document under ``paths``; duplicate ids are reported against the second file."""
    result = DocumentSet()
    for path, root in document_files(paths):
        doc, problems = load_document(path, root)
        result.problems += problems
        if doc is None:
            continue
        if doc.id in result.documents:
            first = result.documents[doc.id]
            result.problems.append(
                Problem(doc.path, 1, 1, "id", f"duplicate document id '{doc.id}' — also used by {first.path}")
            )
            continue
        result.documents[doc.id] = doc
    return result


def detect_locale(text: str) -> str:
    """``zh-CN`` when Chinese characters are at least as many as Latin words, else ``en``.

    A Chinese character carries about as much as an English word, so a Chinese page with product codes and
    English brand names stays zh-CN, and an English page quoting a Chinese term stays en.
    """
    return "zh-CN" if count_cjk(text) >= len(_LATIN_WORD.findall(text)) else "en"
