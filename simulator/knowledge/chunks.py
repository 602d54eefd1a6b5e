"""Chunks: the pieces of a knowledge document that are embedded, keyword-indexed and returned as passages.

Chunking follows the Markdown structure (parsed with markdown-it-py): a chunk never spans two headings, blocks
under one heading are packed together up to a size limit, and a table stays with its header — a table too long
for one chunk is split into several chunks that each repeat the header row. Every chunk keeps the document id,
heading path, tier, kind, tags, locale, source file and the line it starts on.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from markdown_it import MarkdownIt

from simulator.knowledge.documents import Document

MAX_CHUNK_CHARS = 480
"""Soft size limit. Short chunks embed more precisely with the averaging USE encoder; a table row or sentence is
never cut in the middle, so a single very long line can still exceed it."""

CHUNKER_VERSION = "1"
"""Part of every chunk's content hash: bump it when chunking changes so existing indexes re-chunk everything."""

_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])|(?<=\.)\s")


@dataclass(frozen=True)
class Chunk:
    """One indexed piece of a document.

    Attributes:
        id: ``doc_id#n`` with ``n`` counting from 0 in document order.
        doc_id: Id of the document.
        title: Document title.
        heading_path: Headings above the chunk, outermost first.
        text: Markdown text of the chunk (a table chunk starts with the header row and its separator).
        kind, tier, locale, shop, tags: Copied from the document, for filtering.
        source: Source file as shown to people.
        line: 1-based line in the source file where the chunk starts.
        doc_sha: Content hash of the document (plus chunker version): unchanged documents are not re-embedded.
    """

    id: str
    doc_id: str
    title: str
    heading_path: tuple[str, ...]
    text: str
    kind: str
    tier: str
    locale: str
    shop: str
    tags: tuple[str, ...]
    source: str
    line: int
    doc_sha: str = ""

    @property
    def context(self) -> str:
        """Title and headings, joined; what the chunk is about even when its text does not say it."""
        parts = [self.title, *(h for h in self.heading_path if h != self.title)]
        return " › ".join(p for p in parts if p)

    @property
    def embed_text(self) -> str:
        """Text given to the embedder: the context line first, so a bare table still knows what it is."""
        return f"{self.context}\n{self.text}" if self.context else self.text


@dataclass
class _Block:
    line: int  # 0-based line within the body
    text: str
    table_header: str | None = None  # header + separator lines, for tables
    table_rows: list[str] = field(default_factory=list)


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table")


def chunk_document(doc: Document, max_chars: int = MAX_CHUNK_CHARS) -> list[Chunk]:
    """Split one document into chunks along its headings, keeping tables with their header row.

    Args:
        doc: The loaded document.
        max_chars: Soft size limit of a chunk's text.

    Returns:
        The chunks in document order (empty only if the body holds nothing but headings).
    """
    lines = doc.body.splitlines()
    tokens = _parser().parse(doc.body)
    sections: list[tuple[tuple[str, ...], list[_Block]]] = []
    path: list[tuple[int, str]] = []
    blocks: list[_Block] = []

    def flush() -> None:
        if blocks:
            sections.append((tuple(h for _, h in path), list(blocks)))
            blocks.clear()

    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.level != 0 or tok.nesting == -1:
            i += 1
            continue
        if tok.type == "heading_open":
            flush()
            level = int(tok.tag[1:])
            heading = tokens[i + 1].content.strip() if i + 1 < len(tokens) else ""
            path = [(lv, h) for lv, h in path if lv < level] + [(level, heading)]
        elif tok.map is not None:
            start, end = tok.map
            if tok.type == "table_open":
                blocks.append(_table_block(lines, start, end))
            else:
                text = "\n".join(lines[start:end]).strip()
                if text:
                    blocks.append(_Block(start, text))
        i += 1
    flush()

    # Same bytes at the same path with the same chunker → same chunks: the document need not be re-embedded.
    doc_sha = hashlib.sha256(f"{doc.sha256}|{doc.path}|{doc.id}|c{CHUNKER_VERSION}".encode()).hexdigest()[:32]
    chunks: list[Chunk] = []
    for heading_path, section_blocks in sections:
        for line, text in _pack(section_blocks, max_chars):
            chunks.append(
                Chunk(
                    id=f"{doc.id}#{len(chunks)}",
                    doc_id=doc.id,
                    title=doc.title,
                    heading_path=heading_path,
                    text=text,
                    kind=str(doc.kind),
                    tier=str(doc.tier),
                    locale=doc.locale,
                    shop=doc.shop,
                    tags=tuple(doc.tags),
                    source=doc.path,
                    line=doc.body_line + line,
                    doc_sha=doc_sha,
                )
            )
    return chunks


def _table_block(lines: list[str], start: int, end: int) -> _Block:
    rows = [ln.rstrip() for ln in lines[start:end] if ln.strip()]
    header = "\n".join(rows[:2])
    return _Block(start, "\n".join(rows), table_header=header, table_rows=rows[2:])


def _pack(blocks: list[_Block], max_chars: int) -> list[tuple[int, str]]:
    """Greedy packing of blocks into chunks of at most ``max_chars`` (soft), splitting oversized blocks."""
    pieces: list[tuple[int, str]] = []
    for b in blocks:
        if len(b.text) <= max_chars:
            pieces.append((b.line, b.text))
        elif b.table_header is not None:
            pieces += _split_table(b, max_chars)
        else:
            pieces += _split_text(b, max_chars)
    out: list[tuple[int, str]] = []
    for line, text in pieces:
        if out and len(out[-1][1]) + 2 + len(text) <= max_chars:
            out[-1] = (out[-1][0], f"{out[-1][1]}\n\n{text}")
        else:
            out.append((line, text))
    return out


def _split_table(b: _Block, max_chars: int) -> list[tuple[int, str]]:
    assert b.table_header is not None
    out: list[tuple[int, str]] = []
    rows: list[str] = []
    first_row = 0
    for n, row in enumerate(b.table_rows):
        if rows and len(b.table_header) + sum(len(r) + 1 for r in rows) + len(row) > max_chars:
            out.append((b.line + 2 + first_row, "\n".join([b.table_header, *rows])))
            rows, first_row = [], n
        rows.append(row)
    if rows or not out:
        out.append((b.line + 2 + first_row, "\n".join([b.table_header, *rows])))
    return out


def _split_text(b: _Block, max_chars: int) -> list[tuple[int, str]]:
    """Split an oversized paragraph, list or code block at line ends, then at sentence ends."""
    units: list[tuple[int, str]] = []
    for offset, text in enumerate(b.text.splitlines()):
        if len(text) <= max_chars:
            units.append((b.line + offset, text))
        else:
            units += [(b.line + offset, s) for s in _SENTENCE_END.split(text) if s and s.strip()]
    out: list[tuple[int, str]] = []
    last_line = -1
    for line, unit in units:
        if out and len(out[-1][1]) + 1 + len(unit) <= max_chars:
            # Sentences cut from one line rejoin without a line break.
            sep = "" if line == last_line else "\n"
            out[-1] = (out[-1][0], out[-1][1] + sep + unit)
        else:
            out.append((line, unit))
        last_line = line
    return [(ln, t.strip()) for ln, t in out if t.strip()]
