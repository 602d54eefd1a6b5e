"""A plausible six weeks of a shop's team for the demo set-up, so the trainer's dashboard means something on first
look: six agents in a team led by the demo trainer, real chats imported and QA-graded through the real pipeline
(importer → QA job → grader), practice attempts played on the scenarios' reference trainees, and one training
plan from a month ago.

The chats are assembled from a small bank of lines written for this demo (nothing from any real data set), and
each agent has habits that make the four problem types appear: 小满 forgets to greet (个体), three agents end
without a closing (共性), 阿杰 is curt again after his training (多发), and since a promotion twelve days ago many
agents answer upset buyers without a word of empathy (突发). 晓峰 once offers cash for a good review (a red line).

:func:`day_csv` writes one day of such chats as a CSV file — what the demo's "import a day of real chats" uses.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pwdlib import PasswordHash
from sqlalchemy import select

from simulator.analytics.attempts import record_start
from simulator.analytics.importer import ImportOptions, import_chats, read_sources
from simulator.analytics.plans import PlanRequest, create_plan
from simulator.analytics.problems import ProblemType
from simulator.engine import Engine
from simulator.session import SessionKind, play_replies
from simulator.store.assignments import Assignment, AssignmentKind, AssignmentStatus, create_assignment
from simulator.store.groups import Group, add_members, create_group
from simulator.store.plans import PlanMember
from simulator.store.sessions import create_session
from simulator.store.users import User, UserRole, create_user

SHOP = "qinghe"
HEADER = ["会话ID", "时间", "发送方", "客服", "内容", "结果", "满意度"]
SHOP_NAME = "青禾旗舰店"
TEAM = "青禾客服一组"
COHORT = "2026-11 新人班"
PROMOTION_DAYS = 12  # the promotion that brings the upset buyers started this many days ago


@dataclass(frozen=True)
class Agent:
    """A demo agent and their habits (probability of each fault per conversation)."""

    username: str
    name: str
    no_greeting: float = 0.05
    no_farewell: float = 0.08
    curt: float = 0.05
    slow: float = 0.05
    no_empathy: float = 0.08
    over_promise: float = 0.02
    skill: float = 0.7  # chance a practice attempt is played well


AGENTS = (
    Agent("xiaoman", "小满", no_greeting=0.65, skill=0.8),
    Agent("ajie", "阿杰", curt=0.85, slow=0.35, skill=0.75),
    Agent("xiaoyu", "小雨", no_farewell=0.55, skill=0.9),
    Agent("dali", "大力", no_farewell=0.6, over_promise=0.15, skill=0.8),
    Agent("anqi", "安琪", no_farewell=0.5, skill=0.85),
    Agent("xiaofeng", "晓峰", skill=0.95),
)

ITEMS = ("碎花连衣裙", "针织开衫", "羊毛大衣", "半身裙", "真丝衬衫", "羽绒服")
SIZES = ("S", "M", "L")

Line = tuple[str, str]  # (speaker: "c" buyer / "a" agent, text)


def _conversation(rng: random.Random, agent: Agent, upset_share: float, promo: bool) -> tuple[list[Line], str | None]:
    """One chat: its lines (before faults are timed) and its outcome word (下单 for a sale that closed)."""
    item = rng.choice(ITEMS)
    greet = "亲，您好～" if rng.random() >= agent.no_greeting else ""
    thanks = rng.choice(["感谢亲的支持，有问题随时找我哦～", "好的亲，祝您生活愉快，还有其他问题随时找我～"])
    bye = thanks if rng.random() >= agent.no_farewell else rng.choice(["好的，已备注。", "行，那就这样。"])
    if rng.random() < upset_share:
        # A late parcel: an upset buyer.
        empathy_lost = rng.random() < (0.65 if promo else agent.no_empathy)
        first = (
            f"{greet}给您带来不便真的很抱歉，我马上帮您查一下物流，麻烦发一下订单号～"
            if not empathy_lost
            else f"{greet}发一下订单号。"
        )
        promise = "保证明天一定送到。" if rng.random() < agent.over_promise else "预计明后天送达，我已经帮您催件了。"
        lines = [
            (
                "c",
                rng.choice(
                    ["我的快递怎么还没到？？都三天了", "下单这么久还没发货，怎么回事", "活动买的东西到底什么时候到"]
                ),
            ),
            ("a", first),
            ("c", f"订单号{rng.randint(10**9, 10**10 - 1)}"),
            ("a", f"查到了，包裹在杭州中转站，{promise}"),
            ("c", rng.choice(["好吧，尽快", "那我再等等"])),
            ("a", bye),
        ]
        return lines, None
    topic = rng.random()
    if topic < 0.45:
        size = rng.choice(SIZES)
        buys = rng.random() < 0.7
        lines = [
            ("c", f"这件{item}我{rng.randint(155, 172)}穿什么码"),
            ("a", f"{greet}请问您体重大概多少呀？平时穿什么码呢？"),
            ("c", f"{rng.randint(90, 130)}斤，平时穿{size}"),
            ("a", f"建议您拍{size}码哦，这款版型正常，穿着不紧～"),
            ("c", "好的那我拍了" if buys else "我再看看吧"),
            ("a", bye),
        ]
        return lines, "下单" if buys else "未下单"
    if topic < 0.75:
        lines = [
            ("c", f"这个{item}是什么面料？会起球吗"),
            ("a", f"{greet}这款面料是羊毛混纺的，正常穿着不容易起球哦"),
            ("c", "洗了会缩水吗"),
            ("a", "建议冷水手洗或者干洗，平铺晾干，不会明显缩水的"),
            ("c", rng.choice(["好的谢谢", "明白了"])),
            ("a", bye),
        ]
        return lines, "下单" if rng.random() < 0.4 else "未下单"
    lines = [
        ("c", "衣服大了能退吗"),
        ("a", f"{greet}可以的，签收后7天内支持无理由退换，在订单页申请就可以～"),
        ("c", "运费谁出"),
        ("a", "您下单时有运费险的话，退货运费会自动理赔哦"),
        ("c", "好"),
        ("a", bye),
    ]
    return lines, None


def _faults(rng: random.Random, agent: Agent, lines: list[Line], *, cashback: bool) -> list[Line]:
    """Apply the agent's curt replies and the red line to a conversation's middle replies."""
    out = list(lines)
    agent_rows = [i for i, (sp, _t) in enumerate(out) if sp == "a"]
    middle = agent_rows[1:-1]
    if middle and rng.random() < agent.curt:
        out[rng.choice(middle)] = ("a", rng.choice(["不知道", "嗯", "自己看详情页"]))
    if cashback and middle:
        out[middle[-1]] = ("a", "给个五星好评返现5元哦，收到货记得截图找我～")
    return out


def day_rows(
    day: date,
    agents: tuple[Agent, ...] = AGENTS,
    *,
    seed: int = 7,
    per_agent: float = 1.5,
    promo_since: date | None = None,
) -> list[list[str]]:
    """One day of chats as CSV rows (conversation, time, speaker, agent, text, outcome, satisfaction): about 40 %
    of buyers leave a rating, lower when the agent was curt, slow or cold."""
    rng = random.Random(f"{seed}:{day.isoformat()}")
    promo = promo_since is not None and day >= promo_since
    rows: list[list[str]] = []
    for agent in agents:
        n = int(per_agent) + (1 if rng.random() < per_agent - int(per_agent) else 0)
        for k in range(n):
            lines, outcome = _conversation(rng, agent, 0.5 if promo else 0.2, promo)
            cashback = agent.username == "xiaofeng" and day.day % 17 == 3 and k == 0
            lines = _faults(rng, agent, lines, cashback=cashback)
            at = datetime.combine(day, time(rng.randint(9, 21), rng.randint(0, 59), rng.randint(0, 59)))
            conv = f"{day:%Y%m%d}-{agent.username}-{k + 1}"
            for sp, text in lines:
                if sp == "a":
                    wait = rng.uniform(90, 240) if rng.random() < agent.slow else rng.uniform(6, 25)
                    at += timedelta(seconds=wait)
                    who = f"{SHOP_NAME}:{agent.name}"
                    rows.append([conv, at.strftime("%Y-%m-%d %H:%M:%S"), "客服", who, text, "", ""])
                else:
                    at += timedelta(seconds=rng.uniform(10, 60))
                    rows.append([conv, at.strftime("%Y-%m-%d %H:%M:%S"), "买家", "", text, "", ""])
            if outcome and rows:
                rows[-1][5] = outcome
            if rng.random() < 0.4 and rows:
                said = " ".join(t for sp, t in lines if sp == "a")
                bad = sum(w in said for w in ("不知道", "自己看", "发一下订单号。", "已备注", "那就这样"))
                rows[-1][6] = str(max(1, min(5, 5 - 2 * bad - (1 if rng.random() < 0.2 else 0))))
    return rows


def day_csv(day: date, **kw: object) -> str:
    """One day of the demo team's chats as a CSV file's text (what a shop's export looks like)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADER)
    w.writerows(day_rows(day, **kw))  # type: ignore[arg-type]
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------------------


def _practice(engine: Engine, users: dict[str, int], today: date, rng: random.Random, tz: str) -> int:
    """Practice attempts on the scenarios' reference trainees over the last weeks (graded like any attempt)."""
    entries = [
        e
        for e in engine.scenarios.entries()
        if e.scenario.references is not None and e.scenario.locale.value == "zh-CN"
    ]
    if not entries:
        return 0
    played = 0
    for agent in AGENTS:
        for back in range(40, 0, -4):
            if rng.random() < 0.4:
                continue
            entry = rng.choice(entries)
            sc = entry.scenario
            refs = sc.references
            assert refs is not None
            trainee = refs.good if rng.random() < agent.skill else refs.bad
            start = datetime.combine(
                today - timedelta(days=back), time(rng.randint(9, 20), rng.randint(0, 59)), tzinfo=ZoneInfo(tz)
            ).astimezone(UTC)
            session = play_replies(
                sc,
                engine.customer(sc),
                trainee.replies,
                reply_seconds=trainee.reply_seconds,
                seed=rng.randint(0, 9999),
                kind=SessionKind.PRACTICE,
                start=start,
                digest=entry.digest,
            )
            with engine.store.write() as s:
                row = create_session(s, session, user_id=users[agent.username])
                record_start(s, row=row, settings=engine.settings, scenario=sc)
                sid = row.id
            engine.grade_session(sid)
            played += 1
    return played


def seed(
    engine: Engine,
    hasher: PasswordHash,
    *,
    trainer: str = "laowang",
    days: int = 42,
    today: date | None = None,
    practice: bool = True,
    say: Callable[[str], None] = lambda _m: None,
) -> dict[str, int]:
    """Create the demo team and its history (once: nothing happens when the team exists). Returns counts."""
    from simulator.analytics.jobs import QaRunner

    tz = engine.settings.timezone
    today = today or datetime.now(ZoneInfo(tz)).date()
    rng = random.Random(11)
    with engine.store.write() as s:
        if s.scalar(select(Group.id).where(Group.name == TEAM)) is not None:
            return {}
        lead = s.scalar(select(User).where(User.username == trainer))
        if lead is None:
            return {}
        users: dict[str, int] = {}
        for a in AGENTS:
            u = s.scalar(select(User).where(User.username == a.username))
            if u is None:
                u = create_user(s, hasher, a.username, "demo1234", role=UserRole.TRAINEE, display_name=a.name)
            users[a.username] = u.id
        team = create_group(s, TEAM, trainer_id=lead.id, kind="team")
        add_members(s, team.id, list(users.values()))
        cohort = create_group(s, COHORT, trainer_id=lead.id, kind="cohort")
        add_members(s, cohort.id, [users["xiaoman"], users["ajie"]])
        lead_id = lead.id
    # A plan from a month ago: 阿杰's curt replies, trained and retested (he is curt again since: 多发).
    now = datetime.now(UTC)
    with engine.store.write() as s:
        plan = create_plan(
            s,
            PlanRequest(
                lead_id,
                "no-curt-replies",
                "service",
                "不敷衍 · 个体问题 · 一个月前",
                ProblemType.INDIVIDUAL,
                [users["ajie"]],
                [users["ajie"]],
                engine.scenarios_training("no-curt-replies", locale="zh-CN"),
                note="演示数据",
            ),
            tz=tz,
            now=now - timedelta(days=35),
        )
        trained = now - timedelta(days=30)
        s.scalars(select(PlanMember).where(PlanMember.plan_id == plan.id)).one().trained_at = trained
        for asg in s.scalars(select(Assignment).where(Assignment.plan_id == plan.id)):
            asg.status, asg.started_at, asg.completed_at, asg.score, asg.criterion_kept = (
                "done",
                trained,
                trained,
                86.0,
                True,
            )
        for n, back in ((1, 29), (2, 27)):
            r = create_assignment(
                s,
                trainer_id=lead_id,
                trainee_id=users["ajie"],
                scenario_id=plan.scenario_ids[0] if plan.scenario_ids else "presale-size-hesitant-office",
                plan_id=plan.id,
                kind=AssignmentKind.RETEST,
                criterion=plan.criterion,
                round=n,
                available_at=now - timedelta(days=back),
                due_at=now - timedelta(days=back - 1),
            )
            r.created_at = trained
            r.status, r.completed_at, r.score, r.criterion_kept = (
                AssignmentStatus.DONE.value,
                now - timedelta(days=back),
                88.0,
                True,
            )
    # Six weeks of real chats through the importer and the QA job.
    promo_since = today - timedelta(days=PROMOTION_DAYS)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADER)
    for back in range(days, 0, -1):
        w.writerows(day_rows(today - timedelta(days=back), promo_since=promo_since))
    options = ImportOptions(shop=SHOP, group_id=None, created_by=lead_id)
    parsed = read_sources([("demo-chats.csv", buf.getvalue().encode("utf-8"))], options, tz)
    report = import_chats(engine.store, parsed, options, hasher=hasher, files="demo-chats.csv (demo)")
    say(f"  demo: {report.conversations} real chats imported; grading them…")
    QaRunner(engine).run(report.job_id)
    played = _practice(engine, users, today, rng, tz) if practice else 0
    return {"agents": len(AGENTS), "real_chats": report.conversations, "practice": played}
