"""Embedder selection from settings, and the properties every embedder promises."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.embedding import Embedder, FakeEmbedder
from simulator.embedding.factory import make_embedder
from simulator.embedding.transformer import SentenceTransformerEmbedder, resolve_model
from simulator.embedding.use import UseEmbedder, cpu_count
from simulator.errors import ConfigError
from simulator.settings import Settings


def _settings(**kw: object) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg, arg-type]


def test_factory_picks_the_backend() -> None:
    use = make_embedder(_settings(embedder="use"))
    assert isinstance(use, UseEmbedder) and use.dim == 512
    assert (use.threads_for(1), use.threads_for(256)) == (1, cpu_count())  # queries on one thread, batches on all
    one = make_embedder(_settings(embedder="use", embedder_threads=1))
    assert isinstance(one, UseEmbedder) and one.threads_for(256) == 1
    fake = make_embedder(_settings(embedder="fake:32"))
    assert isinstance(fake, FakeEmbedder) and fake.dim == 32 and fake.name == "fake-32"
    st = make_embedder(_settings(embedder="st:/no/such/model"))
    assert isinstance(st, SentenceTransformerEmbedder) and st.name == "st:/no/such/model"
    for e in (use, fake):  # (isinstance reads .dim, which would load the ST model)
        assert isinstance(e, Embedder)


@pytest.mark.parametrize("spec", ["openai", "st:", "fake:x", ""])
def test_factory_rejects_unknown_specs(spec: str) -> None:
    with pytest.raises(ConfigError, match="SIM_EMBEDDER"):
        make_embedder(_settings(embedder=spec))


def test_fake_embedder_is_deterministic_and_normalised() -> None:
    emb = FakeEmbedder(64)
    a = emb.embed(["发票怎么开", "return policy", ""])
    assert a.shape == (3, 64) and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a[:2], axis=1), 1.0) and not a[2].any()
    assert np.array_equal(a, FakeEmbedder(64).embed(["发票怎么开", "return policy", ""]))
    assert emb.embed([]).shape == (0, 64)


def test_model_names_resolve_to_local_files_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert resolve_model(str(tmp_path)) == str(tmp_path.resolve())
    assert resolve_model("some-org/unknown-model") == "some-org/unknown-model"


@pytest.mark.slow  # importing torch alone takes seconds
def test_missing_sentence_transformer_model_is_a_config_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("sentence_transformers")
    with pytest.raises(ConfigError, match="cannot load sentence-transformers model"):
        SentenceTransformerEmbedder(str(tmp_path / "nothing-here")).embed(["x"])
