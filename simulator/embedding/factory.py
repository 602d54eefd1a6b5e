"""Pick the embedder that ``Settings.embedder`` names."""

from __future__ import annotations

from simulator.embedding.base import Embedder, FakeEmbedder
from simulator.errors import ConfigError
from simulator.settings import Settings


def make_embedder(settings: Settings) -> Embedder:
    """The embedder for ``settings.embedder``: ``use``, ``fake`` (or ``fake:<dim>``) or ``st:<model name or path>``.

    Raises:
        ConfigError: The setting names no known backend.
    """
    spec = settings.embedder.strip()
    if spec == "use":
        from simulator.embedding.use import UseEmbedder

        return UseEmbedder(threads=settings.embedder_threads)
    if spec == "fake" or spec.startswith("fake:"):
        dim = spec.partition(":")[2]
        if dim and not dim.isdigit():
            raise ConfigError(f"SIM_EMBEDDER={spec}: the fake embedder's dimension must be a number, e.g. fake:256")
        return FakeEmbedder(int(dim) if dim else 256)
    if spec.startswith("st:") and spec[3:].strip():
        from simulator.embedding.transformer import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(spec[3:].strip())
    raise ConfigError(
        f"SIM_EMBEDDER={spec!r} is not an embedder — use 'use' (default), 'fake', or 'st:<model name or path>'"
    )
