"""KnowledgeBase with the fake embedder and a temporary embedded chromadb: build, incremental re-index, search."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulator.cli import app
from simulator.embedding import FakeEmbedder
from simulator.errors import ConfigError
from simulator.knowledge.base import IndexMissing, KnowledgeBase
from simulator.knowledge.documents import MAX_DOC_BYTES
from simulator.knowledge.passage import Passage, Retriever
from simulator.settings import Settings

DATA = Path(__file__).parent / "data"


class CountingEmbedder(FakeEmbedder):
    """The fake embedder, counting how many texts it embedded."""

    def __init__(self, dim: int = 64):
        super().__init__(dim)
        self.texts = 0

    def embed(self, texts: Sequence[str]):  # type: ignore[override]
        self.texts += len(texts)
        return super().embed(texts)


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", embedder="fake", _env_file=None)  # type: ignore[call-arg]


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    _write(
        folder,
        "policies/invoices.md",
        "---\nid: demo/invoices\ntitle: 发票\nkind: policy\ntier: 必会\ntags: [发票, 售后]\n---\n"
        "# 发票\n\n确认收货后 48 小时内开具电子普通发票，公司抬头需要税号。\n",
    )
    _write(
        folder,
        "size/tops.md",
        "---\nid: demo/size\ntitle: 尺码表\nkind: size-chart\ntier: 必会\ntags: [尺码]\n---\n"
        "# 尺码表\n\n| 尺码 | 身高 cm | 体重 斤 |\n|---|---|---|\n| S | 150-160 | 80-95 |\n| M | 160-165 | 95-110 |\n",
    )
    _write(
        folder,
        "en/returns.md",
        "---\nid: demo/returns-en\ntitle: Returns\nkind: policy\ntier: 掌握\nlocale: en\n---\n"
        "# Returns\n\nReturn unused items within 30 days of delivery for a full refund.\n",
    )
    _write(folder, "faq/care.md", "# 洗护\n\n真丝衬衫请冷水手洗，不要暴晒。\n")
    return folder


def test_build_then_search_returns_passages(tmp_path: Path, shop: Path) -> None:
    kb = KnowledgeBase.open(_settings(tmp_path))
    stages: list[str] = []
    report = kb.build([shop], progress=lambda stage, done, total: stages.append(stage))
    assert (report.documents, report.chunks, report.embedded_chunks, report.skipped_docs) == (4, 4, 4, 0)
    assert not report.problems
    assert {"reading", "embedding", "storing", "indexing"} <= set(stages)
    retriever: Retriever = kb  # the protocol the grader and the web panel code against
    (top, *_) = retriever.search("发票怎么开 税号", k=2)
    assert isinstance(top, Passage)
    assert top.doc_id == "demo/invoices" and top.id == "demo/invoices#0"
    assert top.heading_path == ("发票",) and top.kind == "policy" and top.tier == "必会"
    assert top.source.endswith("policies/invoices.md:10") and top.score > 0
    assert "电子普通发票" in top.text
    size = kb.search("M码身高多少", k=1, kind="size-chart")[0]
    assert size.text.startswith("| 尺码 | 身高 cm | 体重 斤 |")


def test_filters(tmp_path: Path, shop: Path) -> None:
    kb = KnowledgeBase.open(_settings(tmp_path))
    kb.build([shop])
    q = "退货 发票 尺码 洗护 return"
    assert {p.doc_id for p in kb.search(q, 10, locale="en")} == {"demo/returns-en"}
    assert {p.doc_id for p in kb.search(q, 10, kind="policy")} == {"demo/invoices", "demo/returns-en"}
    assert {p.doc_id for p in kb.search(q, 10, kind=["size-chart", "other"])} == {"demo/size", "faq/care"}
    assert {p.doc_id for p in kb.search(q, 10, tier="掌握")} == {"demo/returns-en", "faq/care"}
    assert {p.doc_id for p in kb.search(q, 10, tags=["发票", "售后"])} == {"demo/invoices"}
    assert kb.search(q, 10, tags=["发票", "尺码"]) == []
    assert {p.doc_id for p in kb.search(q, 10, doc_ids=["faq/care"])} == {"faq/care"}
    assert kb.search("   ", 5) == []


def test_modes_and_max_per_doc(tmp_path: Path, shop: Path) -> None:
    kb = KnowledgeBase.open(_settings(tmp_path))
    kb.build([shop])
    assert kb.search("税号", 1, mode="bm25")[0].doc_id == "demo/invoices"
    assert kb.search("zzzz qqqq", 5, mode="bm25") == []  # no shared keyword: no BM25 hit
    assert len(kb.search("zzzz qqqq", 3, mode="vector")) == 3  # the vector side always ranks something
    assert len(kb.search("发票", 10, max_per_doc=1)) == 4


def test_incremental_reindex_by_content_hash(tmp_path: Path, shop: Path) -> None:
    settings = _settings(tmp_path)
    emb = CountingEmbedder()
    KnowledgeBase.open(settings, embedder=emb).build([shop])
    assert emb.texts == 4

    emb = CountingEmbedder()
    kb = KnowledgeBase.open(settings, embedder=emb)
    report = kb.build([shop])
    assert (report.embedded_chunks, report.skipped_docs, report.changed_docs, emb.texts) == (0, 4, [], 0)

    _write(shop, "faq/care.md", "# 洗护\n\n真丝衬衫请冷水手洗，不要暴晒，可以用中性洗涤剂。\n")
    (shop / "en/returns.md").unlink()
    _write(shop, "faq/new.md", "# 会员\n\n新会员首单立减 5 元。\n")
    emb = CountingEmbedder()
    kb = KnowledgeBase.open(settings, embedder=emb)
    report = kb.build([shop])
    assert report.changed_docs == ["faq/care", "faq/new"]
    assert report.removed_docs == ["demo/returns-en"]
    assert (report.skipped_docs, report.embedded_chunks, emb.texts - 0) == (2, 2, 2)
    assert report.chunks == 4
    fresh = KnowledgeBase.open(settings, embedder=CountingEmbedder())
    ids = {p.doc_id for p in fresh.search("return refund 会员 洗护", 10)}
    assert "demo/returns-en" not in ids and {"faq/new", "faq/care"} <= ids
    assert "中性洗涤剂" in fresh.search("洗涤剂", 1, doc_ids=["faq/care"])[0].text
    assert fresh.store.count() == 4  # the store of record agrees


def test_snapshot_is_rebuilt_from_chroma_when_missing_or_stale(tmp_path: Path, shop: Path) -> None:
    settings = _settings(tmp_path)
    kb = KnowledgeBase.open(settings)
    kb.build([shop])
    expected = [p.id for p in kb.search("发票 尺码", 4)]
    shutil.rmtree(kb.snapshot_dir)
    again = KnowledgeBase.open(settings)
    assert [p.id for p in again.search("发票 尺码", 4)] == expected
    assert (again.snapshot_dir / "meta.json").exists()  # saved again for the next process
    meta = json.loads((again.snapshot_dir / "meta.json").read_text())
    meta["revision"] = "stale"
    (again.snapshot_dir / "meta.json").write_text(json.dumps(meta))
    assert [p.id for p in KnowledgeBase.open(settings).search("发票 尺码", 4)] == expected


def test_changing_the_embedder_rebuilds_and_a_mismatch_is_explained(tmp_path: Path, shop: Path) -> None:
    settings = _settings(tmp_path)
    KnowledgeBase.open(settings, embedder=FakeEmbedder(64)).build([shop])
    with pytest.raises(ConfigError, match=r"built with embedder 'fake-64'.*kb build"):
        KnowledgeBase.open(settings, embedder=FakeEmbedder(32)).search("发票")
    emb = CountingEmbedder(32)
    report = KnowledgeBase.open(settings, embedder=emb).build([shop])
    assert report.rebuilt and report.embedded_chunks == 4 and emb.texts == 4
    assert KnowledgeBase.open(settings, embedder=FakeEmbedder(32)).store.existing_metadata()["embedder"] == "fake-32"


def test_search_before_build_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(IndexMissing, match="kb build"):
        KnowledgeBase.open(_settings(tmp_path)).search("发票")


def test_bad_collection_name_is_a_config_error(tmp_path: Path) -> None:
    settings = _settings(tmp_path).model_copy(update={"collection": "kb"})
    with pytest.raises(ConfigError, match="3-512 characters"):
        KnowledgeBase.open(settings)


def test_bad_files_are_reported_and_never_stop_the_others(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    shutil.copytree(DATA / "knowledge_bad", folder)
    (folder / "huge.md").write_text("# Huge\n\n" + "x" * (MAX_DOC_BYTES + 10), encoding="utf-8")
    kb = KnowledgeBase.open(_settings(tmp_path))
    report = kb.build([folder])
    where = {(Path(p.path).name, p.line) for p in report.problems}
    assert {
        ("broken-front-matter.md", 3),
        ("unclosed-front-matter.md", 1),
        ("bad-kind.md", 3),
        ("z-duplicate.md", 1),
        ("empty.md", 1),
        ("latin1.md", 6),
        ("huge.md", 1),
        ("headings-only.md", 1),
    } <= where
    assert all(p.format().split(":")[1].isdigit() for p in report.problems)
    assert kb.search("退货地址", 1)[0].doc_id == "bad-set/good"
    assert report.chunks == 1


def test_cli_build_and_search_on_plain_markdown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SIM_EMBEDDER", "fake")
    db = tmp_path / "db"
    runner = CliRunner()
    result = runner.invoke(app, ["kb", "build", "--knowledge", str(DATA / "knowledge_plain"), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "4 documents" in result.output and "re-embedded 4 documents" in result.output
    result = runner.invoke(app, ["kb", "search", "tyre pressure heavy rider", "--db", str(db), "--json", "--k", "2"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)
    assert len(hits) == 2 and hits[0]["doc_id"] == "guides/tyre-pressure"
    assert set(hits[0]) >= {"id", "doc_id", "title", "heading_path", "text", "source", "score"}
    result = runner.invoke(app, ["kb", "search", "车铃 铃声变小", "--db", str(db), "--k", "1"])
    assert result.exit_code == 0 and "车铃 › 常见问题" in result.output and "车铃.md:7" in result.output
    result = runner.invoke(app, ["kb", "build", "--knowledge", str(DATA / "knowledge_plain"), "--db", str(db)])
    assert "re-embedded 0 documents" in result.output and "skipped 4 unchanged" in result.output


def test_cli_build_reports_problems_as_path_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    args = ["kb", "build", "--knowledge", str(DATA / "knowledge_bad"), "--embedder", "fake", "--strict"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "knowledge_bad/latin1.md:6:1: byte 0xe9 is not UTF-8" in result.output
    assert "knowledge_bad/unclosed-front-matter.md:1:1:" in result.output
    assert "Traceback" not in result.output


def test_prepared_queries_are_embedded_in_one_batch_and_search_the_same(tmp_path: Path, shop: Path) -> None:
    emb = CountingEmbedder()
    kb = KnowledgeBase.open(_settings(tmp_path), embedder=emb)
    kb.build([shop])
    questions = ["发票怎么开", "M码身高多少", "真丝怎么洗"]
    expected = [[p.id for p in kb.search(q, 3)] for q in questions]
    kb.forget_queries()
    calls: list[int] = []
    original = emb.embed
    emb.embed = lambda texts: (calls.append(len(texts)), original(texts))[1]  # type: ignore[method-assign]
    kb.prepare([*questions, "发票怎么开", "  "])  # duplicates and blanks cost nothing
    assert calls == [3]
    assert [[p.id for p in kb.search(q, 3)] for q in questions] == expected
    assert calls == [3]  # every search found its vector
    kb.search("退货", 3)
    assert calls == [3, 1]  # an unprepared query is embedded on its own
