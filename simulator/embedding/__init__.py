"""Sentence embeddings behind one ``Embedder`` protocol.

Backends: the multilingual Universal Sentence Encoder (offline default), sentence-transformers for any model
name or local path, and a deterministic fake for fast tests. Vectors are float32 and L2-normalised, so a dot
product is the cosine similarity.
"""

from simulator.embedding.base import Embedder, FakeEmbedder, cosine

__all__ = ["Embedder", "FakeEmbedder", "cosine"]
