"""The persistent store of record: a chromadb collection of chunks with their embeddings.

Embedded ``PersistentClient`` under the index directory by default, a Chroma server (``chroma run``) when
``Settings.chroma_url`` is set. Embeddings are always computed by our own :class:`~simulator.embedding.Embedder`
and passed explicitly; the collection also carries a registered embedding function that wraps the same
embedder, so chromadb never falls back to downloading its default ONNX model — not even when another tool
reopens the collection.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from simulator.embedding.base import Embedder, Vectors
from simulator.errors import ConfigError
from simulator.knowledge.chunks import Chunk
from simulator.settings import Settings

_NAME_RE = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9._-]{1,510})[a-zA-Z0-9]$")
EF_NAME = "cs-simulator"


def _chroma() -> Any:
    import chromadb  # imported lazily: it pulls in a lot and most CLI commands never need it

    return chromadb


def _embedding_function_class() -> type:
    """The chromadb embedding function wrapping our embedders, registered once under :data:`EF_NAME`."""
    from chromadb.api.types import EmbeddingFunction
    from chromadb.utils.embedding_functions import known_embedding_functions, register_embedding_function

    existing = known_embedding_functions.get(EF_NAME)
    if existing is not None:
        return existing

    class SimulatorEmbeddingFunction(EmbeddingFunction):
        """Lets chromadb embed with the simulator's embedder (spec as in ``SIM_EMBEDDER``), lazily."""

        def __init__(self, spec: str = "use", embedder: Embedder | None = None):
            self._spec = spec
            self._embedder = embedder

        def __call__(self, input: Sequence[str]) -> Any:
            if self._embedder is None:
                from simulator.embedding.factory import make_embedder

                self._embedder = make_embedder(Settings(embedder=self._spec))
            return list(self._embedder.embed(list(input)))

        @staticmethod
        def name() -> str:
            return EF_NAME

        def default_space(self) -> str:  # type: ignore[override]
            return "cosine"

        def get_config(self) -> dict[str, Any]:
            return {"spec": self._spec}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> SimulatorEmbeddingFunction:
            return SimulatorEmbeddingFunction(spec=str(config.get("spec", "use")))

    register_embedding_function(SimulatorEmbeddingFunction)
    return SimulatorEmbeddingFunction


def check_collection_name(name: str) -> str:
    """Return ``name`` if chromadb accepts it as a collection name, else raise a ConfigError saying why."""
    if not _NAME_RE.match(name) or ".." in name:
        raise ConfigError(
            f"collection name {name!r} is not valid — use 3-512 characters from a-z, A-Z, 0-9, '.', '_', '-', "
            "starting and ending with a letter or digit (SIM_COLLECTION)"
        )
    return name


def make_client(settings: Settings, db_dir: Path | None = None) -> Any:
    """A chromadb client: HttpClient for ``settings.chroma_url``, else PersistentClient under ``db_dir``.

    Args:
        settings: Settings (``chroma_url``, ``index_dir``).
        db_dir: Index directory overriding ``settings.index_dir``; the chroma files go in ``<db_dir>/chroma``.
    """
    chromadb = _chroma()
    from chromadb.config import Settings as ChromaSettings

    # Telemetry off: nothing may touch the network at run time.
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError(
                f"SIM_CHROMA_URL={settings.chroma_url!r} is not an http(s) URL like http://127.0.0.1:8001"
            )
        port = url.port or (443 if url.scheme == "https" else 8000)
        try:
            return chromadb.HttpClient(
                host=url.hostname, port=port, ssl=url.scheme == "https", settings=chroma_settings
            )
        except Exception as exc:  # chromadb raises bare ValueError/ConnectError variants here
            raise ConfigError(
                f"cannot reach the Chroma server at {settings.chroma_url} ({exc}) — start it with "
                "`chroma run --path DIR --host 127.0.0.1 --port PORT` or unset SIM_CHROMA_URL"
            ) from exc
    path = (db_dir or settings.index_dir) / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


@dataclass
class StoredPage:
    """One page of stored chunks with their embeddings."""

    chunks: list[Chunk]
    vectors: Vectors


class ChunkStore:
    """A chromadb collection holding chunks, tied to one embedder.

    Args:
        client: A chromadb client (see :func:`make_client`).
        name: Collection name (3+ characters).
        embedder: The embedder whose vectors the collection holds.
        spec: The ``SIM_EMBEDDER`` string that recreates that embedder (stored for the embedding function).
    """

    def __init__(self, client: Any, name: str, embedder: Embedder, spec: str = "use"):
        self.client = client
        self.name = check_collection_name(name)
        self.embedder = embedder
        self._ef = _embedding_function_class()(spec=spec, embedder=embedder)
        self._collection: Any = None

    # ---- collection lifecycle -------------------------------------------------------------------------
    def existing_metadata(self) -> dict[str, Any] | None:
        """Metadata of the collection if it exists, without creating it."""
        from chromadb.errors import NotFoundError

        try:
            col = self.client.get_collection(self.name, embedding_function=self._ef)
        except (NotFoundError, ValueError):  # ValueError: older chromadb for a missing collection
            return None
        except Exception as exc:  # connection refused, server error: say so instead of "no index"
            raise ConfigError(f"cannot read collection '{self.name}' from chromadb: {exc}") from exc
        return dict(col.metadata or {})

    def collection(self) -> Any:
        """The collection, created if missing."""
        if self._collection is None:
            self._collection = self.client.get_or_create_collection(
                self.name,
                metadata={"embedder": self.embedder.name, "dim": self.embedder.dim, "revision": ""},
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=self._ef,
            )
        return self._collection

    def ensure_embedder(self) -> bool:
        """Drop the collection if it was built with another embedder. Returns True if it was dropped."""
        meta = self.existing_metadata()
        if meta is None or meta.get("embedder") == self.embedder.name:
            return False
        self.client.delete_collection(self.name)
        self._collection = None
        return True

    @property
    def revision(self) -> str:
        """Changes every time the content changes; the in-memory snapshot is valid only for the same value."""
        meta = self.existing_metadata() or {}
        return str(meta.get("revision", ""))

    def new_revision(self) -> str:
        """Stamp the collection with a fresh revision and return it."""
        rev = uuid.uuid4().hex
        self.collection().modify(metadata={"embedder": self.embedder.name, "dim": self.embedder.dim, "revision": rev})
        return rev

    # ---- content --------------------------------------------------------------------------------------
    def count(self) -> int:
        """Number of stored chunks."""
        return int(self.collection().count())

    def doc_hashes(self, page: int = 5000) -> dict[str, str]:
        """``doc_id → doc_sha`` for every stored document."""
        out: dict[str, str] = {}
        col = self.collection()
        offset = 0
        while True:
            got = col.get(include=["metadatas"], limit=page, offset=offset)
            for meta in got["metadatas"] or []:
                out[str(meta["doc_id"])] = str(meta.get("doc_sha", ""))
            if len(got["ids"]) < page:
                return out
            offset += page

    def delete_documents(self, doc_ids: Sequence[str], batch: int = 500) -> None:
        """Remove every chunk of these documents."""
        col = self.collection()
        ids = list(doc_ids)
        for i in range(0, len(ids), batch):
            col.delete(where={"doc_id": {"$in": ids[i : i + batch]}})

    def add(self, chunks: Sequence[Chunk], vectors: Vectors) -> None:
        """Store chunks with their embeddings (in batches chromadb accepts)."""
        col = self.collection()
        step = max(1, min(int(self.client.get_max_batch_size()), 4000))
        for i in range(0, len(chunks), step):
            part = chunks[i : i + step]
            col.add(
                ids=[c.id for c in part],
                embeddings=np.asarray(vectors[i : i + step], dtype=np.float32),
                documents=[c.text for c in part],
                metadatas=[_to_meta(c) for c in part],
            )

    def pages(self, page: int = 5000) -> Iterator[StoredPage]:
        """Every stored chunk with its embedding, a page at a time."""
        col = self.collection()
        offset = 0
        while True:
            got = col.get(include=["documents", "metadatas", "embeddings"], limit=page, offset=offset)
            ids = got["ids"]
            if ids:
                chunks = [_from_meta(i, d, m) for i, d, m in zip(ids, got["documents"], got["metadatas"], strict=True)]
                vectors = np.asarray(got["embeddings"], dtype=np.float32).reshape(len(ids), -1)
                yield StoredPage(chunks, vectors)
            if len(ids) < page:
                return
            offset += page


def _to_meta(c: Chunk) -> dict[str, Any]:
    # chromadb metadata values are scalars: lists travel as JSON.
    return {
        "doc_id": c.doc_id,
        "doc_sha": c.doc_sha,
        "title": c.title,
        "heading_path": json.dumps(list(c.heading_path), ensure_ascii=False),
        "kind": c.kind,
        "tier": c.tier,
        "locale": c.locale,
        "shop": c.shop,
        "tags": json.dumps(list(c.tags), ensure_ascii=False),
        "source": c.source,
        "line": c.line,
    }


def _from_meta(chunk_id: str, text: str | None, m: dict[str, Any]) -> Chunk:
    return Chunk(
        id=chunk_id,
        doc_id=str(m["doc_id"]),
        title=str(m.get("title", "")),
        heading_path=tuple(json.loads(str(m.get("heading_path", "[]")))),
        text=text or "",
        kind=str(m.get("kind", "other")),
        tier=str(m.get("tier", "掌握")),
        locale=str(m.get("locale", "zh-CN")),
        shop=str(m.get("shop", "")),
        tags=tuple(json.loads(str(m.get("tags", "[]")))),
        source=str(m.get("source", "")),
        line=int(m.get("line", 0)),
        doc_sha=str(m.get("doc_sha", "")),
    )
