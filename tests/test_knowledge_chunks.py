"""Chunking: headings, tables with their header, metadata, line numbers."""

from __future__ import annotations

from pathlib import Path

from simulator.knowledge.chunks import chunk_document
from simulator.knowledge.documents import load_document


def _doc(tmp_path: Path, text: str, name: str = "doc.md"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    doc, problems = load_document(path, tmp_path)
    assert doc is not None, problems
    return doc


FRONT = """---
id: shop/size/tops
title: 上衣尺码表
kind: size-chart
tier: 必会
tags: [尺码, 上衣]
locale: zh-CN
shop: qinghe
---
"""


def test_chunks_follow_headings_and_keep_metadata(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path,
        FRONT
        + "# 上衣尺码表\n\n导语一句。\n\n## 怎么选码\n\n先问身高体重。\n\n"
        + "### 两个码之间\n\n偏瘦选小码。\n\n## 洗护\n\n手洗。\n",
    )
    chunks = chunk_document(doc)
    assert [c.heading_path for c in chunks] == [
        ("上衣尺码表",),
        ("上衣尺码表", "怎么选码"),
        ("上衣尺码表", "怎么选码", "两个码之间"),
        ("上衣尺码表", "洗护"),
    ]
    assert [c.id for c in chunks] == [f"shop/size/tops#{n}" for n in range(4)]
    first = chunks[0]
    assert (first.doc_id, first.kind, first.tier, first.locale, first.shop, first.tags) == (
        "shop/size/tops",
        "size-chart",
        "必会",
        "zh-CN",
        "qinghe",
        ("尺码", "上衣"),
    )
    lines = (tmp_path / "doc.md").read_text(encoding="utf-8").splitlines()
    for c in chunks:  # the line number points at the chunk's first line in the file
        assert lines[c.line - 1].strip() == c.text.splitlines()[0].strip()
    assert chunks[2].embed_text.startswith("上衣尺码表 › 怎么选码 › 两个码之间\n")


def test_small_table_stays_whole_with_its_header(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "# T\n\n| 尺码 | 身高 |\n|---|---|\n| S | 150-160 |\n| M | 160-165 |\n")
    (chunk,) = chunk_document(doc)
    assert chunk.text.splitlines() == ["| 尺码 | 身高 |", "|---|---|", "| S | 150-160 |", "| M | 160-165 |"]


def test_long_table_splits_and_every_part_repeats_the_header(tmp_path: Path) -> None:
    rows = "".join(f"| 型号{i:03d} | {100 + i} 元 | 说明文字说明文字说明文字 |\n" for i in range(60))
    doc = _doc(tmp_path, f"# 价目\n\n## 价格表\n\n| 型号 | 价格 | 备注 |\n|---|---|---|\n{rows}")
    chunks = chunk_document(doc, max_chars=300)
    assert len(chunks) > 3
    body_rows: list[str] = []
    for c in chunks:
        lines = c.text.splitlines()
        assert lines[:2] == ["| 型号 | 价格 | 备注 |", "|---|---|---|"]
        assert len(c.text) <= 300
        assert c.heading_path == ("价目", "价格表")
        body_rows += lines[2:]
        src = (tmp_path / "doc.md").read_text(encoding="utf-8").splitlines()
        assert src[c.line - 1] == lines[2]  # line of the first body row in this part
    assert len(body_rows) == 60 and body_rows[0].startswith("| 型号000") and body_rows[-1].startswith("| 型号059")


def test_small_blocks_under_one_heading_are_packed_and_long_text_is_split(tmp_path: Path) -> None:
    sentence = "这是一句比较长的说明文字，用来测试切分。"
    doc = _doc(tmp_path, "# A\n\n短段一。\n\n- 列表一\n- 列表二\n\n" + sentence * 40 + "\n")
    chunks = chunk_document(doc, max_chars=200)
    assert chunks[0].text.startswith("短段一。\n\n- 列表一")
    assert all(len(c.text) <= 200 for c in chunks)
    assert "".join(c.text for c in chunks).count("切分") == 40  # nothing lost


def test_plain_markdown_without_front_matter(tmp_path: Path) -> None:
    (tmp_path / "guides").mkdir()
    doc = _doc(tmp_path, "Intro before any heading.\n\n# Title\n\nBody.\n", name="guides/setup.md")
    chunks = chunk_document(doc)
    assert doc.id == "guides/setup"
    assert chunks[0].heading_path == () and chunks[0].text == "Intro before any heading."
    assert chunks[1].heading_path == ("Title",)
    assert (chunks[0].kind, chunks[0].tier, chunks[0].locale) == ("other", "掌握", "en")  # detected from the text


def test_headings_only_document_has_no_chunks(tmp_path: Path) -> None:
    assert chunk_document(_doc(tmp_path, "# A\n\n## B\n")) == []


def test_content_hash_changes_with_content_and_path(tmp_path: Path) -> None:
    a = chunk_document(_doc(tmp_path, "# A\n\ntext\n", name="a.md"))[0].doc_sha
    same = chunk_document(_doc(tmp_path, "# A\n\ntext\n", name="a.md"))[0].doc_sha
    edited = chunk_document(_doc(tmp_path, "# A\n\ntext!\n", name="a.md"))[0].doc_sha
    moved = chunk_document(_doc(tmp_path, "# A\n\ntext\n", name="b.md"))[0].doc_sha
    assert a == same and len({a, edited, moved}) == 3


def test_locale_without_front_matter_is_detected_from_the_text(tmp_path: Path) -> None:
    from simulator.knowledge.documents import detect_locale

    assert detect_locale("# Warranty\n\nFrames carry a lifetime warranty for the original owner.") == "en"
    assert detect_locale("# 车铃\n\n铃声变小怎么办？拧紧 M4 螺丝，检查 Acme 铃盖。") == "zh-CN"
    plain = Path(__file__).parent / "data" / "knowledge_plain"
    doc, _ = load_document(plain / "guides" / "warranty.md", plain)
    assert doc is not None and doc.locale == "en"
    doc, _ = load_document(plain / "车铃.md", plain)
    assert doc is not None and doc.locale == "zh-CN"
