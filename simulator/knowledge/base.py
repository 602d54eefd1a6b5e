"""The knowledge base: build an index from Markdown documents, answer questions with passages.

>>> kb = KnowledgeBase.open(settings)
>>> report = kb.build([settings.knowledge_dir])          # incremental: unchanged documents are not re-embedded
>>> kb.search("165 52斤穿啥码", k=5, locale="zh-CN")       # → list[Passage], best first

chromadb holds chunks and embeddings (the store of record); an in-memory snapshot of the same data — vector
matrix plus BM25 over jieba / stemmed tokens — answers queries, fusing the two rankings by reciprocal rank.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from simulator.embedding.base import Embedder
from simulator.errors import ConfigError, Problem, SimulatorError
from simulator.knowledge.chunks import Chunk, chunk_document
from simulator.knowledge.documents import load_documents
from simulator.knowledge.index import Fusion, Hit, SearchIndex
from simulator.knowledge.passage import Passage
from simulator.knowledge.query import normalise_query
from simulator.knowledge.store import ChunkStore, make_client
from simulator.knowledge.tokens import Tokenizer
from simulator.settings import Settings
from simulator.text import has_cjk

Progress = Callable[[str, int, int], None]
"""Build progress callback: ``(stage, done, total)`` with stage one of reading, embedding, storing, indexing."""

Mode = Literal["hybrid", "vector", "bm25"]
EMBED_BATCH = 256
OTHER_LANGUAGE_FACTOR = 0.5
QUERY_CACHE_SIZE = 4096  # query vectors kept (2 KB each with USE)
_LATIN = re.compile(r"[A-Za-z]")


class IndexMissing(SimulatorError):
    """There is no knowledge index yet (or it is empty)."""


@dataclass
class BuildReport:
    """What a build did.

    Attributes:
        documents: Documents that loaded.
        chunks: Chunks in the index after the build.
        embedded_chunks: Chunks embedded by this build.
        changed_docs: Ids of new or changed documents (re-embedded).
        skipped_docs: Documents unchanged since the last build (not re-embedded).
        removed_docs: Ids of documents removed from the index (deleted, or now unreadable).
        problems: Every problem found, as ``path:line`` problems.
        rebuilt: The whole index was rebuilt because the embedder changed.
        seconds: Wall time of the build.
    """

    documents: int = 0
    chunks: int = 0
    embedded_chunks: int = 0
    changed_docs: list[str] = field(default_factory=list)
    skipped_docs: int = 0
    removed_docs: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rebuilt: bool = False
    seconds: float = 0.0

    @property
    def errors(self) -> list[Problem]:
        """Problems of severity error (each is a file that was not indexed)."""
        return [p for p in self.problems if p.severity == "error"]


def _snapshot_dir(settings: Settings, root: Path) -> Path:
    if settings.chroma_url:
        url_key = hashlib.sha256(settings.chroma_url.encode()).hexdigest()[:10]
        return root / "snapshots" / f"{settings.collection}-{url_key}"
    return root / "snapshots" / settings.collection


class KnowledgeBase:
    """Hybrid (vector + BM25) search over knowledge documents, persisted in chromadb.

    Create with :meth:`open`; the constructor is for tests that inject parts.

    Args:
        store: The chromadb-backed chunk store.
        embedder: Embeds chunks and queries (must match the store's).
        snapshot_dir: Where the in-memory index is saved between processes.
        tokenizer: Keyword tokenizer for BM25.
        fusion: Rank-fusion parameters.
        synonyms: Colloquial → document words for query normalisation (default: the built-in list).
        prefer_query_language: Without a locale filter, rank passages in the query's language higher.
    """

    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        snapshot_dir: Path,
        tokenizer: Tokenizer | None = None,
        fusion: Fusion | None = None,
        synonyms: dict[str, str] | None = None,
        prefer_query_language: bool = True,
    ):
        self.store = store
        self.synonyms = synonyms
        self.prefer_query_language = prefer_query_language
        self.embedder = embedder
        self.snapshot_dir = snapshot_dir
        self.tokenizer = tokenizer or Tokenizer()
        self.fusion = fusion or Fusion()
        self._index: SearchIndex | None = None
        # Query vectors by normalised query text: a batch embeds ~2.5x faster than the same texts one by one
        # (USE, 8 short questions), and buyers ask the same things again. Bounded; shared by request threads.
        self._query_vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._query_lock = threading.Lock()

    @classmethod
    def open(cls, settings: Settings, *, embedder: Embedder | None = None, db_dir: Path | None = None) -> KnowledgeBase:
        """Open (without loading yet) the knowledge base that ``settings`` describe.

        Args:
            settings: Embedder, chroma URL or index directory, collection name.
            embedder: Use this embedder instead of the one ``settings.embedder`` names (tests, benchmarks).
            db_dir: Index directory overriding ``settings.index_dir``.
        """
        if embedder is None:
            from simulator.embedding.factory import make_embedder

            embedder = make_embedder(settings)
        root = db_dir or settings.index_dir
        client = make_client(settings, db_dir=root)
        store = ChunkStore(client, settings.collection, embedder, spec=settings.embedder)
        return cls(store, embedder, _snapshot_dir(settings, root))

    @staticmethod
    def has_snapshot(settings: Settings) -> bool:
        """Whether this data directory holds a search snapshot of the embedded store's collection made with the
        embedder ``settings`` name — i.e. the index was built here — read without opening chromadb or loading
        the embedder. Always False with a Chroma server (only the server knows what it holds).
        """
        if settings.chroma_url:
            return False
        from simulator.embedding.factory import make_embedder  # constructing one loads no model

        meta = SearchIndex.read_meta(_snapshot_dir(settings, settings.index_dir))
        return meta is not None and meta.get("embedder") == make_embedder(settings).name

    # ---- building ---------------------------------------------------------------------------------------
    def build(self, paths: Iterable[Path | str], progress: Progress | None = None) -> BuildReport:
        """Index every Markdown document under ``paths``; only new or changed documents are embedded.

        Documents no longer present are removed. A bad file is reported in ``problems`` and skipped; it never
        stops the others.
        """
        started = time.perf_counter()
        report_progress: Progress = progress or (lambda stage, done, total: None)
        report = BuildReport()
        paths = list(paths)
        docset = load_documents(paths)
        report.problems += docset.problems
        report.documents = len(docset.documents)

        chunks_by_doc: dict[str, list[Chunk]] = {}
        for n, doc in enumerate(docset.documents.values(), start=1):
            chunks = chunk_document(doc)
            if chunks:
                chunks_by_doc[doc.id] = chunks
            else:
                report.problems.append(
                    Problem(
                        doc.path,
                        doc.body_line,
                        1,
                        "",
                        "document has headings but no text — nothing to index",
                        "warning",
                    )
                )
            report_progress("reading", n, len(docset.documents))

        report.rebuilt = self.store.ensure_embedder()
        previous_revision = self.store.revision
        stored = self.store.doc_hashes()
        current = {doc_id: chunks[0].doc_sha for doc_id, chunks in chunks_by_doc.items()}
        changed = sorted(d for d, sha in current.items() if stored.get(d) != sha)
        removed = sorted(set(stored) - set(current))
        report.changed_docs = changed
        report.removed_docs = removed
        report.skipped_docs = len(current) - len(changed)

        to_embed = [c for d in changed for c in chunks_by_doc[d]]
        vectors = self._embed_chunks(to_embed, report_progress)
        report.embedded_chunks = len(to_embed)
        stale = sorted(set(changed) & set(stored)) + removed
        if stale:
            self.store.delete_documents(stale)
        report_progress("storing", 0, len(to_embed))
        self.store.add(to_embed, vectors)
        report_progress("storing", len(to_embed), len(to_embed))
        revision = self.store.new_revision() if (changed or removed or not previous_revision) else previous_revision

        index = self._assemble(previous_revision, revision, chunks_by_doc, to_embed, vectors, report_progress)
        index.save(self.snapshot_dir)
        self._index = index
        report.chunks = len(index)
        report.seconds = time.perf_counter() - started
        return report

    def _embed_chunks(self, chunks: Sequence[Chunk], progress: Progress) -> np.ndarray:
        out = np.zeros((len(chunks), self.embedder.dim), dtype=np.float32)
        progress("embedding", 0, len(chunks))
        for i in range(0, len(chunks), EMBED_BATCH):
            part = chunks[i : i + EMBED_BATCH]
            out[i : i + len(part)] = self.embedder.embed([c.embed_text for c in part])
            progress("embedding", i + len(part), len(chunks))
        return out

    def _chunk_tokens(self, chunk: Chunk) -> list[str]:
        # Title and headings count twice: a chunk is about its headings even when its text never repeats them.
        context = self.tokenizer.tokens(chunk.context)
        return context + context + self.tokenizer.tokens(chunk.text)

    def _assemble(
        self,
        previous_revision: str,
        revision: str,
        chunks_by_doc: dict[str, list[Chunk]],
        new_chunks: list[Chunk],
        new_vectors: np.ndarray,
        progress: Progress,
    ) -> SearchIndex:
        """The in-memory index after a build: reuse the old snapshot's vectors and tokens where still valid."""
        old = SearchIndex.load(self.snapshot_dir)
        reuse: dict[tuple[str, str], tuple[np.ndarray, list[str]]] = {}
        if old is not None and old.revision == previous_revision and old.embedder == self.embedder.name:
            for i, c in enumerate(old.chunks):
                reuse[(c.id, c.doc_sha)] = (old.vectors[i], old.tokens[i])
        fresh = {c.id: new_vectors[i] for i, c in enumerate(new_chunks)}
        ordered = [c for d in sorted(chunks_by_doc) for c in chunks_by_doc[d]]
        missing = [c for c in ordered if c.id not in fresh and (c.id, c.doc_sha) not in reuse]
        if missing:  # no usable snapshot: the store of record has the vectors
            for page in self.store.pages():
                for c, v in zip(page.chunks, page.vectors, strict=True):
                    if c.id not in fresh:
                        reuse.setdefault((c.id, c.doc_sha), (v, []))
        vectors = np.zeros((len(ordered), self.embedder.dim), dtype=np.float32)
        tokens: list[list[str]] = []
        for n, c in enumerate(ordered):
            toks: list[str]
            if c.id in fresh:
                vectors[n], toks = fresh[c.id], []
            else:
                vectors[n], toks = reuse[(c.id, c.doc_sha)]
            tokens.append(toks or self._chunk_tokens(c))
            if n % 500 == 0 or n == len(ordered) - 1:
                progress("indexing", n + 1, len(ordered))
        return SearchIndex(ordered, vectors, tokens, revision=revision, embedder=self.embedder.name)

    # ---- loading ----------------------------------------------------------------------------------------
    def load(self) -> SearchIndex:
        """The in-memory index, loaded from the snapshot (or rebuilt from the store if the snapshot is stale)."""
        if self._index is not None:
            return self._index
        meta = self.store.existing_metadata()
        if meta is None:
            raise IndexMissing(f"there is no knowledge index '{self.store.name}' yet — run `simulator kb build` first")
        if meta.get("embedder") != self.embedder.name:
            raise ConfigError(
                f"the knowledge index was built with embedder '{meta.get('embedder')}' but this process uses "
                f"'{self.embedder.name}' — rebuild it with `simulator kb build`, or set SIM_EMBEDDER to match"
            )
        revision = str(meta.get("revision", ""))
        index = SearchIndex.load(self.snapshot_dir)
        if index is None or index.revision != revision or index.embedder != self.embedder.name:
            index = self._index_from_store(revision)
            index.save(self.snapshot_dir)
        index.warm()
        self._index = index
        return index

    def refresh(self) -> None:
        """Forget the loaded index so the next search sees another process's build."""
        self._index = None

    def _index_from_store(self, revision: str) -> SearchIndex:
        chunks: list[Chunk] = []
        parts: list[np.ndarray] = []
        for page in self.store.pages():
            chunks += page.chunks
            parts.append(page.vectors)
        order = sorted(range(len(chunks)), key=lambda i: (chunks[i].doc_id, _chunk_number(chunks[i].id)))
        chunks = [chunks[i] for i in order]
        vectors = np.concatenate(parts)[order] if parts else np.zeros((0, self.embedder.dim), np.float32)
        tokens = [self._chunk_tokens(c) for c in chunks]
        return SearchIndex(chunks, vectors, tokens, revision=revision, embedder=self.embedder.name)

    def __len__(self) -> int:
        return len(self.load())

    # ---- searching --------------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int = 5,
        *,
        kind: str | Sequence[str] | None = None,
        tier: str | Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        locale: str | Sequence[str] | None = None,
        doc_ids: Sequence[str] | None = None,
        mode: Mode = "hybrid",
        max_per_doc: int | None = None,
    ) -> list[Passage]:
        """The ``k`` best passages for ``query``, best first (the :class:`~simulator.knowledge.passage.Retriever`
        protocol).

        Args:
            query: The question, as a buyer or trainee typed it.
            k: How many passages.
            kind: Only these document kinds (product, size-chart, policy, script, faq, sop, other).
            tier: Only these tiers (必会, 掌握, 了解).
            tags: Only documents carrying every one of these tags.
            locale: Only these locales (zh-CN, en).
            doc_ids: Only these documents.
            mode: ``hybrid`` (default), or one side alone: ``vector`` or ``bm25``.
            max_per_doc: At most this many passages from one document (None: no limit).

        Without a ``locale`` filter, passages in another language than the query's rank lower (not removed).
        Scores are reciprocal-rank-fusion scores in every mode, comparable only within one result list.
        """
        index = self.load()
        if not query.strip() or k <= 0 or not len(index):
            return []
        hits = self.rank(query, index, mode=mode, kind=kind, tier=tier, tags=tags, locale=locale, doc_ids=doc_ids)
        out: list[Passage] = []
        per_doc: dict[str, int] = {}
        for hit in hits:
            c = index.chunks[hit.index]
            if max_per_doc is not None and per_doc.get(c.doc_id, 0) >= max_per_doc:
                continue
            per_doc[c.doc_id] = per_doc.get(c.doc_id, 0) + 1
            out.append(_passage(c, hit.score))
            if len(out) == k:
                break
        return out

    def prepare(self, queries: Sequence[str]) -> None:
        """Embed the queries about to be searched in one batch (the grader calls this once per transcript)."""
        texts = {normalise_query(x, self.synonyms).text for x in queries if x.strip()}
        with self._query_lock:
            missing = [t for t in texts if t not in self._query_vectors]
        if missing:
            self._remember(missing, self.embedder.embed(missing))

    def forget_queries(self) -> None:
        """Drop the cached query vectors (benchmarks measure the cold case with it)."""
        with self._query_lock:
            self._query_vectors.clear()

    def _query_vector(self, text: str) -> np.ndarray:
        with self._query_lock:
            vec = self._query_vectors.get(text)
            if vec is not None:
                self._query_vectors.move_to_end(text)
                return vec
        return self._remember([text], self.embedder.embed([text]))[0]

    def _remember(self, texts: Sequence[str], vectors: Any) -> list[np.ndarray]:
        out = [np.asarray(v, dtype=np.float32) for v in vectors]
        with self._query_lock:
            for t, v in zip(texts, out, strict=True):
                self._query_vectors[t] = v
                self._query_vectors.move_to_end(t)
            while len(self._query_vectors) > QUERY_CACHE_SIZE:
                self._query_vectors.popitem(last=False)
        return out

    def rank(
        self,
        query: str,
        index: SearchIndex | None = None,
        *,
        mode: Mode = "hybrid",
        kind: str | Sequence[str] | None = None,
        tier: str | Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        locale: str | Sequence[str] | None = None,
        doc_ids: Sequence[str] | None = None,
    ) -> list[Hit]:
        """Ranked chunk hits (with each side's rank) for ``query``; :meth:`search` turns them into passages."""
        index = index or self.load()
        mask = index.mask(kind=kind, tier=tier, tags=tags, locale=locale, doc_ids=doc_ids)
        q = normalise_query(query, self.synonyms)
        depth = self.fusion.depth
        vector: list[tuple[int, float]] = []
        bm25: list[tuple[int, float]] = []
        if mode in ("hybrid", "vector"):
            vector = index.vector_ranking(self._query_vector(q.text), depth, mask)
        if mode in ("hybrid", "bm25"):
            # Typed and added words weigh the same: counting typed words double was measured worse
            # (bench/kb_quality.py, zh hybrid MRR 0.896 → 0.883).
            bm25 = index.bm25_ranking(self.tokenizer.tokens(q.text), depth, mask)
        hits = index.fuse(vector, bm25, self.fusion)
        language = query_language(query) if locale is None and self.prefer_query_language else None
        if language:
            # A buyer's language says which documents answer them: the multilingual embedder happily matches an
            # English question to a Chinese page, so documents in another language rank lower (not filtered:
            # a Chinese shop's page may still be the only answer to "T601 size?").
            for h in hits:
                if not index.chunks[h.index].locale.lower().startswith(language):
                    h.score *= OTHER_LANGUAGE_FACTOR
            hits.sort(key=lambda h: (-h.score, h.index))
        return hits


def query_language(text: str) -> str | None:
    """``zh`` if the text has Chinese characters, ``en`` if it has Latin letters only, else None."""
    if has_cjk(text):
        return "zh"
    return "en" if _LATIN.search(text) else None


def _chunk_number(chunk_id: str) -> int:
    tail = chunk_id.rpartition("#")[2]
    return int(tail) if tail.isdigit() else 0


def _passage(c: Chunk, score: float) -> Passage:
    return Passage(
        id=c.id,
        doc_id=c.doc_id,
        title=c.title,
        heading_path=c.heading_path,
        text=c.text,
        source=f"{c.source}:{c.line}" if c.line else c.source,
        score=round(float(score), 6),
        kind=c.kind,
        tier=c.tier,
        locale=c.locale,
        tags=c.tags,
    )
