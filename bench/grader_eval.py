"""Does the offline grade mean something on real conversations?

JDDC 2019 (../shared/eval/jddc2019_multiref): 293 real customer turns, each answered by up to three human agents.
Every real reply is graded in its real context; it is *acceptable* when the grader deducts nothing on that
reply and it crosses no red line. Each real reply also gets degraded twins (documented below) and we count the
share of pairs where the real reply's overall score is strictly above the twin's (ties count as misses).

The knowledge side of JDDC is JD's, not our demo shop's, so the "wrong number" check uses the other human
agents' replies to the same turn as the knowledge passages (a peer retriever): a figure the peers agree on is
the reference. Pairs where no peer states a comparable figure are reported as not checkable.

MAIA-DQE (../shared/eval/maia_dqe, English): every agent turn is graded in context; we report the rank
correlation between the grader's turn score (100 − points lost on that turn) and the human interaction-quality
label (IQ 1–5), and how often turns the grader flags have low IQ.

Twins (deterministic: the variant is chosen by the item number):
* rude — a rude opener (rotating) + the reply with 您→你 and softeners (亲 哦 呢 哈 呀 啦) removed.
* curt — the reply replaced by 嗯 / 哦 / 不知道 / 自己看 (rotating).
* wrong-number — the first number-with-unit in the reply changed (n → n+1 when n < 3, else n + n/2 rounded).
* over-promise — an over-promise appended (rotating: 保证明天就能到 / 百分百没有问题 / 绝对让您满意).
* skipped-verification — only for replies that ask to verify (订单号, 核实, 查询 …) when no earlier agent turn did:
  the reply replaced by a remedy done at once (已经为您办理退款了 / 已为您申请换货 / 这就给您补发).

Data is read from ../shared/eval at run time and never copied into the repository.

    .venv/bin/python bench/grader_eval.py [--eval-dir ../shared/eval] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from simulator.grading import Grader
from simulator.grading.claims import extract_claims
from simulator.knowledge.passage import Passage
from simulator.settings import Settings
from simulator.transcript import Transcript
from simulator.turn import Turn

ROOT = Path(__file__).resolve().parent.parent
RUDE = ["你自己没看清楚吧，", "这不是我们的问题，", "烦不烦啊，", "跟你说了多少遍了，"]
CURT = ["嗯", "哦", "不知道", "自己看"]
PROMISE = ["，保证明天就能到", "，百分百没有问题", "，绝对让您满意"]
REMEDY = ["好的，已经为您办理退款了", "好的，已为您申请换货，请耐心等待", "好的，这就给您补发"]
SOFTENERS = re.compile(r"[亲哦呢哈呀啦]")
ORDER_GIVEN = re.compile(r"\d{8,}|订单号|照片|图片")
VERIFY = re.compile(
    r"订单号|订单编号|核实|核对|查询|查一下|查看一下|帮您看一下|手机号|收货人|照片|图片|截图|地址和电话"
)


class PeerRetriever:
    """The other human agents' replies to the same customer turn, served as knowledge passages."""

    def __init__(self, texts: list[str]):
        self.passages = [
            Passage(f"peer#{i}", "peer", "peer reply", (), t, "peer", 1.0, kind="policy") for i, t in enumerate(texts)
        ]

    def search(self, query, k=5, *, kind=None, tier=None, tags=None, locale=None, doc_ids=None):
        kinds = {kind} if isinstance(kind, str) else set(kind or [])
        return [p for p in self.passages if not kinds or p.kind in kinds][:k]


def clean(text: str) -> str:
    return text.strip()


def first_ref(refs: list[str]) -> str | None:
    return next((r for r in refs if r and r.strip() != "NULL"), None)


def items(path: Path):
    """(item id, context turns, customer text, [real replies]) for each of the 293 customer turns."""
    for line in path.read_text(encoding="utf-8").splitlines():
        s = json.loads(line)
        turns: list[Turn] = []
        for c in s["context"]:
            if c["role"] == "user":
                turns.append(Turn(role="customer", text=c["text"]))
            else:
                ref = first_ref(c["refs"])
                if ref:
                    turns.append(Turn(role="agent", text=clean(ref)))
        for k, nt in enumerate(s["next_turns"]):
            refs = [clean(r) for r in nt["agent_refs"] if r and r.strip() and r.strip() != "NULL"]
            yield f"{s['session']}/{k}", list(turns), nt["user"], refs
            turns.append(Turn(role="customer", text=nt["user"]))
            if refs:
                turns.append(Turn(role="agent", text=refs[0]))


def twin(kind: str, reply: str, n: int, lexicon, earlier: list[Turn]) -> str | None:
    if kind == "rude":
        return RUDE[n % len(RUDE)] + SOFTENERS.sub("", reply.replace("您", "你"))
    if kind == "curt":
        return CURT[n % len(CURT)]
    if kind == "over-promise":
        return reply.rstrip("。！!~～ ") + PROMISE[n % len(PROMISE)]
    if kind == "wrong-number":
        for c in extract_claims(reply, lexicon):
            if not c.asserted:
                continue
            m = re.search(r"\d+(?:\.\d+)?", c.number)
            if not m or m.group(0) not in reply:
                continue
            v = float(m.group(0))
            new = v + 1 if v < 3 else v + round(v / 2)
            return reply.replace(m.group(0), f"{new:g}", 1)
        return None
    if kind == "skipped-verification":
        # Only when nothing was verified before, by the grader's own cues (agent) or an order number (customer).
        verified = lexicon.cue("verify")
        if not VERIFY.search(reply) or any(
            (t.role == "agent" and verified(t.text)) or (t.role == "customer" and ORDER_GIVEN.search(t.text))
            for t in earlier
        ):
            return None
        return REMEDY[n % len(REMEDY)]
    raise ValueError(kind)


def turn_lost(grade, turn: int) -> float:
    return sum(f.points for f in grade.findings() if f.turn == turn) + sum(1 for f in grade.red_lines if f.turn == turn)


def jddc(eval_dir: Path, grader_settings: Settings) -> dict:
    path = eval_dir / "jddc2019_multiref" / "dev_sessions.jsonl"
    kinds = ["rude", "curt", "wrong-number", "over-promise", "skipped-verification"]
    acceptable = Counter()
    pairs: dict[str, Counter] = defaultdict(Counter)
    misses: dict[str, list] = defaultdict(list)
    lost_criteria: Counter = Counter()
    n = 0
    t0 = time.perf_counter()
    graded = 0
    for item_id, context, user, refs in items(path):
        for j, real in enumerate(refs):
            peers = [r for i, r in enumerate(refs) if i != j]
            grader = Grader(grader_settings, retriever=PeerRetriever(peers))
            base = [*context, Turn(role="customer", text=user)]
            last = len(base)
            g_real = grader.grade(Transcript(id=item_id, turns=[*base, Turn(role="agent", text=real)], complete=False))
            graded += 1
            lost = turn_lost(g_real, last)
            acceptable["total"] += 1
            if lost == 0:
                acceptable["ok"] += 1
            else:
                for f in g_real.findings():
                    if f.turn == last:
                        lost_criteria[f.criterion] += 1
            lex = grader.lexicon("zh-CN")
            for kind in kinds:
                t = twin(kind, real, n, lex, [*context, Turn(role="customer", text=user)])
                if t is None or t == real:
                    continue
                g_twin = grader.grade(Transcript(id=item_id, turns=[*base, Turn(role="agent", text=t)], complete=False))
                graded += 1
                a, b = g_real.overall or 0.0, g_twin.overall or 0.0
                outcome = "real>twin" if a > b else ("tie" if a == b else "twin>real")
                pairs[kind][outcome] += 1
                if kind == "wrong-number":
                    # Checkable only when a peer reply states a comparable figure (kb-consistent was scored).
                    kb = g_real.criterion("kb-consistent")
                    if kb is not None and kb.scored:
                        pairs["wrong-number (checkable)"][outcome] += 1
                if outcome != "real>twin" and len(misses[kind]) < 5:
                    misses[kind].append(
                        {"item": item_id, "real": real[:80], "twin": t[:80], "real_score": a, "twin_score": b}
                    )
            n += 1
    seconds = time.perf_counter() - t0
    return {
        "real_replies": acceptable["total"],
        "acceptable": acceptable["ok"],
        "acceptable_share": round(acceptable["ok"] / max(1, acceptable["total"]), 3),
        "deductions_on_real_replies": dict(lost_criteria.most_common(10)),
        "pairs": {
            k: {**v, "n": sum(v.values()), "share": round(v["real>twin"] / max(1, sum(v.values())), 3)}
            for k, v in pairs.items()
        },
        "misses": misses,
        "transcripts_graded": graded,
        "seconds": round(seconds, 1),
    }


def spearman(x: list[float], y: list[float]) -> float:
    def ranks(v: list[float]) -> np.ndarray:
        a = np.asarray(v, dtype=float)
        order = a.argsort(kind="stable")
        r = np.empty(len(a))
        r[order] = np.arange(len(a))
        for val in np.unique(a):  # average ranks for ties
            mask = a == val
            r[mask] = r[mask].mean()
        return r

    rx, ry = ranks(x), ranks(y)
    return float(np.corrcoef(rx, ry)[0, 1])


def maia(eval_dir: Path, settings: Settings) -> dict:
    grader = Grader(settings)
    scores: list[float] = []
    iqs: list[float] = []
    flagged_iq: list[float] = []
    for f in sorted((eval_dir / "maia_dqe" / "raw").glob("*.json")):
        for d in json.loads(f.read_text(encoding="utf-8")):
            turns: list[Turn] = []
            for t in d["turns"]:
                if t["floor"] == "inbound":
                    turns.append(Turn(role="customer", text=" ".join(t["text_mt"])))
                    continue
                turns.append(Turn(role="agent", text=" ".join(t["text_src"])))
                if t.get("IQ") is None:
                    continue
                g = grader.grade(Transcript(id=str(d["id"]), turns=list(turns), complete=False))
                lost = turn_lost(g, len(turns) - 1)
                scores.append(100 - lost)
                iqs.append(float(t["IQ"]))
                if lost > 0:
                    flagged_iq.append(float(t["IQ"]))
    iq = np.asarray(iqs)
    sc = np.asarray(scores)
    low = iq <= 3
    return {
        "agent_turns": len(iqs),
        "spearman_score_vs_iq": round(spearman(scores, iqs), 3),
        "flagged_turns": len(flagged_iq),
        "mean_iq_flagged": round(float(np.mean(flagged_iq)), 2) if flagged_iq else None,
        "mean_iq_unflagged": round(float(iq[sc == 100].mean()), 2) if (sc == 100).any() else None,
        "low_iq_turns(<=3)": int(low.sum()),
        "share_low_iq_flagged": round(float((sc[low] < 100).mean()), 3) if low.any() else None,
        "share_high_iq_flagged": round(float((sc[~low] < 100).mean()), 3) if (~low).any() else None,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "eval")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not (args.eval_dir / "jddc2019_multiref").is_dir():
        print(f"no evaluation data at {args.eval_dir}", file=sys.stderr)
        return 2
    settings = Settings()
    out = {"jddc2019": jddc(args.eval_dir, settings), "maia_dqe": maia(args.eval_dir, settings)}
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    j = out["jddc2019"]
    print(f"JDDC real replies judged acceptable: {j['acceptable']}/{j['real_replies']} = {j['acceptable_share']:.1%}")
    print("deductions on real replies:", j["deductions_on_real_replies"])
    print(f"{'transformation':<22} {'pairs':>6} {'real>twin':>10} {'tie':>5} {'twin>real':>10} {'share':>7}")
    for k, v in j["pairs"].items():
        print(
            f"{k:<22} {v['n']:>6} {v.get('real>twin', 0):>10} {v.get('tie', 0):>5} {v.get('twin>real', 0):>10} "
            f"{v['share']:>7.1%}"
        )
    for k, ms in j["misses"].items():
        for m in ms[:3]:
            print(f"  miss {k}: {m}")
    print(f"graded {j['transcripts_graded']} transcripts in {j['seconds']} s")
    print("MAIA-DQE:", json.dumps(out["maia_dqe"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
