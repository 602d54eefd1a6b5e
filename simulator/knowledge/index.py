"""The in-memory search index: a vector matrix and a BM25 index over the same chunks, fused by rank.

chromadb stays the store of record; this index is a snapshot of it, saved next to the chroma files and
reloaded in well under a second, because an exact matrix product plus a sparse BM25 lookup answers a
filtered hybrid query over 100k chunks inside the latency budget, where a round trip per query through the
chromadb client (and its post-filtering) would not.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from simulator.embedding.base import Vectors
from simulator.embedding.blas import blas_threads
from simulator.knowledge.chunks import Chunk

SNAPSHOT_FORMAT = 1
COARSE_MIN_CHUNKS = 30_000
"""From this many chunks on, vector search is two-stage: a PCA-reduced matrix shortlists candidates, full vectors
rank them. Below it an exact product over all vectors is already fast."""
COARSE_DIM = 128
COARSE_CANDIDATES = 8  # × depth: shortlist size for the exact re-scoring


@dataclass(frozen=True)
class Fusion:
    """How vector and keyword rankings combine (reciprocal-rank fusion).

    Attributes:
        k: RRF constant; larger flattens the difference between ranks.
        vector_weight: Weight of the vector ranking.
        bm25_weight: Weight of the BM25 ranking.
        depth: How many candidates each side contributes.
    """

    k: float = 60.0
    vector_weight: float = 1.0
    bm25_weight: float = 1.0
    depth: int = 50


@dataclass
class Hit:
    """One ranked chunk index with the scores that produced its rank."""

    index: int
    score: float
    vector_rank: int | None = None
    bm25_rank: int | None = None


class SearchIndex:
    """Chunks, their vectors and their BM25 index, all in memory.

    Args:
        chunks: The chunks, in a fixed order.
        vectors: ``(len(chunks), dim)`` L2-normalised vectors in the same order.
        tokens: Keyword tokens of each chunk (title and headings included), same order.
        revision: The store revision this snapshot mirrors.
        embedder: Name of the embedder that made the vectors.
    """

    def __init__(
        self,
        chunks: list[Chunk],
        vectors: Vectors,
        tokens: list[list[str]],
        revision: str = "",
        embedder: str = "",
        bm25: Any = None,
    ):
        if len(chunks) != len(vectors) or len(chunks) != len(tokens):
            raise ValueError("chunks, vectors and tokens must have the same length")
        self.chunks = chunks
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.tokens = tokens
        self.revision = revision
        self.embedder = embedder
        self._bm25 = bm25 if bm25 is not None else _build_bm25(tokens)
        self._by_field: dict[str, dict[str, npt.NDArray[np.bool_]]] = {}
        self._coarse: tuple[Vectors, Vectors] | None = None
        self._by_doc: dict[str, list[int]] = {}
        for i, c in enumerate(chunks):
            self._by_doc.setdefault(c.doc_id, []).append(i)

    def __len__(self) -> int:
        return len(self.chunks)

    @property
    def doc_ids(self) -> set[str]:
        """Ids of the indexed documents."""
        return set(self._by_doc)

    # ---- filtering --------------------------------------------------------------------------------------
    def _field_mask(self, name: str, value: str) -> npt.NDArray[np.bool_]:
        masks = self._by_field.setdefault(name, {})
        if value not in masks:
            if name == "tags":
                masks[value] = np.fromiter((value in c.tags for c in self.chunks), bool, len(self.chunks))
            else:
                masks[value] = np.fromiter((getattr(c, name) == value for c in self.chunks), bool, len(self.chunks))
        return masks[value]

    def mask(
        self,
        *,
        kind: str | Sequence[str] | None = None,
        tier: str | Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        locale: str | Sequence[str] | None = None,
        doc_ids: Sequence[str] | None = None,
    ) -> npt.NDArray[np.bool_] | None:
        """Boolean mask of chunks passing every filter (None when there is no filter)."""
        result: npt.NDArray[np.bool_] | None = None

        def both(m: npt.NDArray[np.bool_]) -> None:
            nonlocal result
            result = m.copy() if result is None else result & m

        for name, wanted in (("kind", kind), ("tier", tier), ("locale", locale)):
            if wanted is None:
                continue
            values = [wanted] if isinstance(wanted, str) else list(wanted)
            m = np.zeros(len(self.chunks), dtype=bool)
            for v in values:
                m |= self._field_mask(name, v)
            both(m)
        for tag in tags or ():
            both(self._field_mask("tags", tag))  # every tag must be present
        if doc_ids is not None:
            m = np.zeros(len(self.chunks), dtype=bool)
            for d in doc_ids:
                m[self._by_doc.get(d, [])] = True
            both(m)
        return result

    # ---- ranking ----------------------------------------------------------------------------------------
    def vector_ranking(
        self, query_vector: Vectors, depth: int, mask: npt.NDArray[np.bool_] | None = None
    ) -> list[tuple[int, float]]:
        """``(chunk index, cosine)`` of the ``depth`` nearest chunks, best first."""
        if not len(self.chunks):
            return []
        q = np.asarray(query_vector, dtype=np.float32).reshape(-1)
        if len(self.chunks) < COARSE_MIN_CHUNKS:
            with blas_threads(1):
                return _top(self.vectors @ q, depth, mask, floor=None)
        # Streaming 100k × 512 floats per query costs ~7 ms and spikes past the latency budget under load; a
        # 128-dimension PCA projection shortlists candidates at a quarter of the memory traffic, and the full
        # vectors then rank the shortlist exactly (bench/kb_speed.py reports its agreement with exact search).
        projection, reduced = self._coarse_matrix()
        with blas_threads(1):  # a memory-bound product: a second thread buys little and stalls under load
            shortlist = _top(reduced @ (q @ projection), depth * COARSE_CANDIDATES, mask, floor=None)
            idx = np.fromiter((i for i, _ in shortlist), dtype=np.int64, count=len(shortlist))
            exact = self.vectors[idx] @ q
        order = np.argsort(-exact, kind="stable")[:depth]
        return [(int(idx[j]), float(exact[j])) for j in order]

    def vector_ranking_exact(
        self, query_vector: Vectors, depth: int, mask: npt.NDArray[np.bool_] | None = None
    ) -> list[tuple[int, float]]:
        """Exact vector ranking over every chunk (what the two-stage search approximates)."""
        q = np.asarray(query_vector, dtype=np.float32).reshape(-1)
        return _top(self.vectors @ q, depth, mask, floor=None) if len(self.chunks) else []

    def _coarse_matrix(self) -> tuple[Vectors, Vectors]:
        if self._coarse is None:
            rng = np.random.default_rng(0)
            sample = self.vectors[rng.choice(len(self.vectors), size=min(len(self.vectors), 10_000), replace=False)]
            centred = sample - sample.mean(axis=0)
            # Principal directions of a sample (eigenvectors of its covariance, largest first). Uncentred dot
            # products in that subspace rank well enough for a shortlist; the exact stage decides the order.
            _, eigvecs = np.linalg.eigh(centred.T @ centred)
            projection = np.ascontiguousarray(eigvecs[:, ::-1][:, :COARSE_DIM], dtype=np.float32)
            self._coarse = (projection, np.ascontiguousarray(self.vectors @ projection, dtype=np.float32))
        return self._coarse

    def warm(self) -> None:
        """Do first-query work now (the coarse matrix at large sizes) rather than inside a timed request."""
        if len(self.chunks) >= COARSE_MIN_CHUNKS:
            self._coarse_matrix()

    def bm25_ranking(
        self, query_tokens: list[str], depth: int, mask: npt.NDArray[np.bool_] | None = None
    ) -> list[tuple[int, float]]:
        """``(chunk index, BM25 score)`` of the ``depth`` best keyword matches (score > 0), best first."""
        ids = self._bm25.get_tokens_ids(query_tokens) if len(self.chunks) else []
        if not ids:
            return []
        scores = self._bm25.get_scores_from_ids(ids)
        return _top(np.asarray(scores), depth, mask, floor=0.0)

    def fuse(
        self,
        vector: list[tuple[int, float]],
        bm25: list[tuple[int, float]],
        fusion: Fusion,
    ) -> list[Hit]:
        """Reciprocal-rank fusion of the two rankings, best first."""
        hits: dict[int, Hit] = {}
        for rank, (i, _) in enumerate(vector, start=1):
            h = hits.setdefault(i, Hit(i, 0.0))
            h.vector_rank = rank
            h.score += fusion.vector_weight / (fusion.k + rank)
        for rank, (i, _) in enumerate(bm25, start=1):
            h = hits.setdefault(i, Hit(i, 0.0))
            h.bm25_rank = rank
            h.score += fusion.bm25_weight / (fusion.k + rank)
        return sorted(hits.values(), key=lambda h: (-h.score, h.index))

    # ---- persistence ------------------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        """Write the snapshot to ``directory`` (replaced atomically enough: written aside, then renamed)."""
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        np.save(tmp / "vectors.npy", self.vectors)
        with (tmp / "chunks.jsonl").open("w", encoding="utf-8") as f:
            for c, toks in zip(self.chunks, self.tokens, strict=True):
                f.write(json.dumps({**asdict(c), "tokens": toks}, ensure_ascii=False) + "\n")
        self._bm25.save(str(tmp / "bm25"), show_progress=False)
        meta = {"format": SNAPSHOT_FORMAT, "revision": self.revision, "embedder": self.embedder, "count": len(self)}
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        shutil.rmtree(directory, ignore_errors=True)
        tmp.rename(directory)

    @staticmethod
    def read_meta(directory: Path) -> dict[str, Any] | None:
        """The snapshot's metadata (revision, embedder, count); None if there is no readable snapshot of this
        format."""
        try:
            meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) and meta.get("format") == SNAPSHOT_FORMAT else None

    @classmethod
    def load(cls, directory: Path) -> SearchIndex | None:
        """Read a snapshot; None if it is missing, from another format, or unreadable."""
        try:
            meta = cls.read_meta(directory)
            if meta is None:
                return None
            vectors = np.load(directory / "vectors.npy", allow_pickle=False)
            chunks: list[Chunk] = []
            tokens: list[list[str]] = []
            with (directory / "chunks.jsonl").open(encoding="utf-8") as f:
                for line in f:
                    d = json.loads(line)
                    tokens.append(d.pop("tokens"))
                    d["heading_path"] = tuple(d["heading_path"])
                    d["tags"] = tuple(d["tags"])
                    chunks.append(Chunk(**d))
            bm25 = _load_bm25(directory / "bm25") if chunks else None
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return cls(chunks, vectors, tokens, revision=str(meta["revision"]), embedder=str(meta["embedder"]), bm25=bm25)


def _top(
    scores: npt.NDArray[Any], depth: int, mask: npt.NDArray[np.bool_] | None, floor: float | None
) -> list[tuple[int, float]]:
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    n = len(scores)
    idx = np.argpartition(-scores, depth)[:depth] if depth < n else np.arange(n)
    idx = idx[np.argsort(-scores[idx], kind="stable")]
    keep = np.isfinite(scores[idx])
    if floor is not None:
        keep &= scores[idx] > floor
    return [(int(i), float(scores[i])) for i in idx[keep]]


def _build_bm25(tokens: list[list[str]]) -> Any:
    import bm25s

    bm25 = bm25s.BM25()
    if tokens:
        # Empty token lists are fine: bm25s adds an empty token so every chunk has a column.
        bm25.index(tokens, show_progress=False)
    return bm25


def _load_bm25(path: Path) -> Any:
    import bm25s

    return bm25s.BM25.load(str(path), show_progress=False)
