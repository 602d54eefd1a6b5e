"""Knowledge-base speed: index build time and hybrid top-5 query latency at 10k and 100k chunks.

The corpus is synthetic but shaped like the real one: Markdown product pages (description, material and care,
a size table), policies, reply scripts and FAQ entries in Chinese with some English, generated from fixed
vocabularies with a seeded random generator, so every run builds the same documents. It is written to a
temporary folder and indexed through the same ``KnowledgeBase.build`` the CLI uses (read, chunk, embed,
store in chromadb, BM25), then queried with colloquial buyer questions — query embedding included.

    .venv/bin/python bench/kb_speed.py --chunks 10000 --chunks 100000            # USE embedder (default)
    .venv/bin/python bench/kb_speed.py --chunks 10000 --embedder fake            # plumbing only
    .venv/bin/python bench/kb_speed.py --chunks 100000 --workdir /tmp/kbspeed --reuse   # re-time queries only

Prints a Markdown table; ``--json FILE`` also writes the raw figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from simulator.knowledge.base import KnowledgeBase
from simulator.settings import Settings

COLOURS = "米白 雾霾蓝 燕麦色 黑色 藏青 酒红 奶咖 浅灰 墨绿 杏色 焦糖 香芋紫".split()  # noqa: SIM905
STYLES = "法式 复古 通勤 宽松 修身 高腰 垂感 休闲 基础款 轻薄 加厚 小香风".split()  # noqa: SIM905
GARMENTS = "连衣裙 衬衫 针织开衫 大衣 阔腿裤 T恤 牛仔外套 羽绒服 半身裙 马甲 防晒衣 卫衣 西装 毛衣 方巾".split()  # noqa: SIM905
MATERIALS = [
    "100% 聚酯纤维",
    "100% 桑蚕丝",
    "70% 羊毛 30% 锦纶",
    "90% 羊毛 10% 羊绒",
    "73% 粘纤 24% 聚酯纤维 3% 氨纶",
    "100% 新疆长绒棉",
    "100% 亚麻",
    "80% 棉 20% 聚酯纤维",
    "90% 白鸭绒",
]
CARE = [
    "建议冷水手洗，不可暴晒，平铺晾干。",
    "仅限干洗，不可机洗，熨烫请垫布。",
    "可机洗，洗衣袋包裹，30℃ 以下中性洗涤剂。",
    "首次洗涤可能轻微掉色，请与浅色衣物分开洗。",
    "羊毛材质可能轻微起球，属于正常现象，可用去球器处理。",
]
POLICY_TOPICS = [
    ("退货", "签收后 {d} 天内吊牌完好、未穿着未洗涤可申请退货，运费险赔付 {a} 元左右。"),
    ("换货", "签收 {d} 天内可免费换一次尺码或颜色，仓库收到后 {h} 小时内发出新商品。"),
    ("发票", "确认收货后 {h} 小时内开具电子普通发票，公司抬头需提供税号，专票需 {d} 个工作日。"),
    ("价保", "付款后 {d} 天内同款降价可申请退差价，直播间专属价和秒杀不参与价保。"),
    ("发货", "付款后 {h} 小时内从仓库发出，默认中通快递，顺丰需加 {a} 元，偏远地区另加运费。"),
    ("物流", "物流 {h} 小时未更新时客服提交催件，{d} 天内回复买家处理进度。"),
    ("优惠券", "店铺券满 {a}0 减 {d} 元，每单限用一张，可与平台购物券叠加。"),
    ("投诉", "买家要投诉时先道歉安抚，在权限内给方案，不接受则转组长，组长 {h} 小时内回电。"),
]
SCRIPT_LINES = [
    "亲，您好，很高兴为您服务～请问有什么可以帮您？",
    "亲，麻烦提供一下您的身高体重，我帮您推荐合适的尺码哦。",
    "理解您的心情，给您带来不便真的很抱歉，我马上帮您处理。",
    "这款面料垂感很好，上身显瘦，通勤和约会都很合适。",
    "您放心，签收 7 天内可以免费换一次尺码，还有运费险。",
    "亲，我这边帮您申请一个专属优惠券，您看可以吗？",
    "Thanks for reaching out! Could you share your order number so I can check the details?",
    "We offer free returns within 30 days of delivery as long as the item is unused with tags.",
]
QUERIES = [
    "165 52斤穿啥码",
    "发票咋开",
    "能便宜点不",
    "运费谁出",
    "物流好几天没动了",
    "羊毛衫起球怎么办",
    "真丝衬衫能机洗吗",
    "买了三天就降价了能退差价吗",
    "公司报销要专票",
    "换个码要多久发货",
    "好评返现吗",
    "do you ship express",
    "大衣是什么料子",
    "160 100斤 阔腿裤什么码",
    "我要投诉你们",
    "优惠券能叠加吗",
    "吊牌剪了还能退吗",
    "羽绒服可以干洗吗",
    "how long do refunds take",
    "顺丰要加钱吗",
]


def _product(rng: random.Random, n: int) -> str:
    name = f"{rng.choice(STYLES)}{rng.choice(COLOURS)}{rng.choice(GARMENTS)}"
    price = rng.randrange(59, 1500)
    material = rng.choice(MATERIALS)
    rows = "\n".join(
        f"| {s} | {150 + 5 * i}–{158 + 5 * i} | {80 + 15 * i}–{95 + 15 * i} | {84 + 4 * i} | {60 + 2 * i} |"
        for i, s in enumerate(["S", "M", "L", "XL", "XXL"][: rng.randrange(3, 6)])
    )
    return f"""---
id: synth/products/p{n:06d}
title: {name}
kind: product
tier: {rng.choice(["必会", "掌握", "了解"])}
tags: [商品, {rng.choice(GARMENTS)}]
---
# {name}（款号 X{n:06d}）

## 卖点
{name}，{rng.choice(STYLES)}版型，{rng.choice(COLOURS)}和{rng.choice(COLOURS)}两个颜色，售价 ¥{price}。
适合{rng.choice(["通勤", "约会", "日常", "旅行", "聚会"])}穿着，搭配{rng.choice(GARMENTS)}效果很好。

## 面料与洗护
- 面料：{material}
- 洗护：{rng.choice(CARE)}
- 注意：{rng.choice(CARE)}

## 尺码表
| 尺码 | 身高 cm | 体重 斤 | 胸围 cm | 衣长 cm |
|---|---|---|---|---|
{rows}

## 常见问题
- 会不会缩水？{rng.choice(CARE)}
- 偏大还是偏小？版型{rng.choice(["正常", "偏大半码", "偏小半码"])}，两个码之间{rng.choice(["选小码", "选大码"])}。
"""


def _policy(rng: random.Random, n: int) -> str:
    topic, template = rng.choice(POLICY_TOPICS)
    fill = {"d": rng.randrange(3, 16), "h": rng.choice([24, 48, 72]), "a": rng.randrange(8, 30)}
    paras = "\n\n".join(
        f"## {topic}规则 {k + 1}\n\n{template.format(**fill)} {rng.choice(SCRIPT_LINES)}" for k in range(4)
    )
    return f"---\nid: synth/policies/p{n:06d}\ntitle: {topic}政策 {n}\nkind: policy\n---\n# {topic}政策\n\n{paras}\n"


def _script(rng: random.Random, n: int) -> str:
    lines = "\n".join(f"- {rng.choice(SCRIPT_LINES)}" for _ in range(6))
    return f"---\nid: synth/scripts/s{n:06d}\nkind: script\n---\n# 话术 {n}\n\n## 推荐回复\n\n{lines}\n"


def write_corpus(folder: Path, target_chunks: int, seed: int = 7) -> int:
    """Write synthetic documents until they hold about ``target_chunks`` chunks; returns the document count."""
    from simulator.knowledge.chunks import chunk_document
    from simulator.knowledge.documents import load_document

    rng = random.Random(seed)
    makers = [_product, _product, _policy, _script]
    # Measure chunks per document on a sample, then write enough documents.
    sample = folder / "_sample"
    sample.mkdir(parents=True)
    per_doc = []
    for i, make in enumerate(makers * 10):
        p = sample / f"{i}.md"
        p.write_text(make(random.Random(i), i), encoding="utf-8")
        doc, _ = load_document(p, sample)
        assert doc is not None
        per_doc.append(len(chunk_document(doc)))
    for p in sample.iterdir():
        p.unlink()
    sample.rmdir()
    n_docs = max(1, round(target_chunks / statistics.mean(per_doc)))
    for n in range(n_docs):
        sub = folder / f"d{n // 1000:03d}"
        sub.mkdir(exist_ok=True)
        (sub / f"{n:06d}.md").write_text(makers[n % len(makers)](rng, n), encoding="utf-8")
    return n_docs


def run(target: int, embedder: str, queries: int, workdir: Path, reuse: bool = False) -> dict[str, float | int | str]:
    corpus = workdir / f"corpus-{target}"
    data = workdir / f"data-{target}"
    reusing = reuse and corpus.is_dir() and data.is_dir()
    if not reusing:
        shutil.rmtree(corpus, ignore_errors=True)
        shutil.rmtree(data, ignore_errors=True)
    n_docs = sum(1 for _ in corpus.rglob("*.md")) if reusing else write_corpus(corpus, target)
    settings = Settings(data_dir=data, embedder=embedder, _env_file=None)  # type: ignore[call-arg]
    kb = KnowledgeBase.open(settings)
    stage_times: dict[str, float] = {}
    last = [time.perf_counter(), ""]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if last[1]:
            stage_times[str(last[1])] = stage_times.get(str(last[1]), 0.0) + now - float(last[0])
        last[0], last[1] = now, stage

    t0 = time.perf_counter()
    report = kb.build([corpus], progress=progress)  # with --reuse: an unchanged corpus, nothing re-embedded
    build_s = time.perf_counter() - t0
    progress("", 0, 0)

    t0 = time.perf_counter()
    fresh = KnowledgeBase.open(settings)
    fresh.load()
    load_s = time.perf_counter() - t0

    qs = [QUERIES[i % len(QUERIES)] for i in range(queries)]
    for q in QUERIES:  # warm-up: first-use costs (model load, caches) are not query latency
        fresh.search(q, 5)
    lat = {"hybrid": [], "vector": [], "bm25": [], "hybrid_filtered": []}  # type: dict[str, list[float]]
    for q in qs:
        for mode in ("hybrid", "vector", "bm25"):
            t = time.perf_counter()
            fresh.search(q, 5, mode=mode)  # type: ignore[arg-type]
            lat[mode].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        fresh.search(q, 5, kind="product", tier=["必会", "掌握"])
        lat["hybrid_filtered"].append((time.perf_counter() - t) * 1000)
    out: dict[str, float | int | str] = {
        "target_chunks": target,
        "documents": n_docs,
        "chunks": report.chunks,
        "embedder": embedder,
        "build_s": round(build_s, 1),
        "reused_index": reusing,
        "load_average": round(os.getloadavg()[0], 1),
        "embed_s": round(stage_times.get("embedding", 0.0), 1),
        "store_s": round(stage_times.get("storing", 0.0), 1),
        "index_s": round(stage_times.get("indexing", 0.0), 1),
        "load_s": round(load_s, 2),
        "queries": queries,
    }
    for mode, values in lat.items():
        values.sort()
        out[f"{mode}_median_ms"] = round(statistics.median(values), 2)
        out[f"{mode}_p95_ms"] = round(values[int(0.95 * (len(values) - 1))], 2)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chunks", type=int, action="append", help="Corpus size in chunks (repeatable).")
    ap.add_argument("--embedder", default="use", help="use, fake or st:<model> (default: use).")
    ap.add_argument("--queries", type=int, default=300, help="Timed queries per mode.")
    ap.add_argument("--workdir", type=Path, help="Keep corpus and index here (default: a temporary folder).")
    ap.add_argument("--json", type=Path, help="Also write the results as JSON.")
    ap.add_argument(
        "--reuse", action="store_true", help="Reuse corpus and index in --workdir (re-time queries, not the build)."
    )
    args = ap.parse_args(argv)
    sizes = args.chunks or [10_000]
    results = []
    with tempfile.TemporaryDirectory(prefix="kb-speed-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for size in sizes:
            r = run(size, args.embedder, args.queries, workdir, reuse=args.reuse)
            results.append(r)
            print(json.dumps(r, ensure_ascii=False), file=sys.stderr, flush=True)
    print(
        "| chunks | docs | load avg | build s (embed / store / index) | load s | hybrid p50 / p95 ms | "
        "vector p50 / p95 | BM25 p50 / p95 | hybrid+filters p50 / p95 |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['chunks']:,} | {r['documents']:,} | {r['load_average']} | {r['build_s']} ({r['embed_s']} / "
            f"{r['store_s']} / "
            f"{r['index_s']}) | {r['load_s']} | {r['hybrid_median_ms']} / {r['hybrid_p95_ms']} | "
            f"{r['vector_median_ms']} / {r['vector_p95_ms']} | {r['bm25_median_ms']} / {r['bm25_p95_ms']} | "
            f"{r['hybrid_filtered_median_ms']} / {r['hybrid_filtered_p95_ms']} |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
