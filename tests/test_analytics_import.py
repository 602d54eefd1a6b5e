"""Importing real chats: the three formats, per-line errors, all-or-nothing, agents mapped to accounts, re-imports,
and the QA job that grades them in batch and survives a restart."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import FakeGrader

from simulator.analytics.chatlog import TextLogFormat, parse_csv_text, parse_text_lines, parse_time
from simulator.analytics.importer import ImportFailed, ImportOptions, import_chats, parse_agent_map, read_files
from simulator.analytics.jobs import QaRunner
from simulator.engine import Engine
from simulator.settings import Settings
from simulator.store.facts import CriterionFact, ScoreFact
from simulator.store.grades import GradeRecord
from simulator.store.groups import create_group, members
from simulator.store.imports import RealChat
from simulator.store.jobs import Job
from simulator.store.sessions import SessionRecord, TurnRecord, load_session
from simulator.store.users import create_user, get_user_by_name, password_hasher

TZ = "Asia/Shanghai"
HASHER = password_hasher(fast=True)

CSV = """\
会话ID,时间,发送方,客服,内容,店铺,满意度
c1,2026-11-20 10:00:00,买家,,在吗 这件165穿什么码,青禾,5
c1,2026-11-20 10:00:20,客服,青禾旗舰店:小满,亲，您好～请问您体重多少呀？,青禾,
c1,2026-11-20 10:01:00,买家,,52公斤,青禾,
c1,2026-11-20 10:01:30,客服,青禾旗舰店:小满,建议M码哦，有问题随时找我～,青禾,
c2,2026-11-20 11:00:00,买家,,快递怎么还没到,青禾,
c2,2026-11-20 11:03:00,客服,青禾旗舰店:阿杰,不知道,青禾,
"""

TEXT_LOG = """\
tb_buyer01 2026-11-20 14:00:05
这个外套会起球吗
青禾旗舰店:小满 2026-11-20 14:00:40
亲，您好～
这款是羊毛混纺，正常穿着不容易起球哦
tb_buyer01 2026-11-20 14:02:00
好的
tb_buyer02 2026-11-20 14:05:00
我要退货
青禾旗舰店:阿杰 2026-11-20 14:09:00
自己看详情页
"""


@pytest.fixture
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path / "data", embedder="fake", _env_file=None)  # type: ignore[call-arg]
    engine = Engine(settings, grader=FakeGrader(), knowledge_index=False, embeddings=False)
    with engine.store.write() as s:
        create_user(s, HASHER, "xiaoman", "demo1234", display_name="小满")
        create_user(s, HASHER, "ajie", "demo1234", display_name="阿杰")
        create_user(s, HASHER, "laowang", "demo1234", role="trainer", display_name="老王")
    yield engine
    engine.store.dispose()


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def _import(engine: Engine, *paths: Path, **kw):  # type: ignore[no-untyped-def]
    options = ImportOptions(**kw)
    parsed = read_files(list(paths), options, TZ)
    return import_chats(engine.store, parsed, options, hasher=HASHER, files=", ".join(p.name for p in paths))


def _count(engine: Engine, table) -> int:  # type: ignore[no-untyped-def]
    with engine.store.read() as s:
        return s.query(table).count()


def test_times_in_the_forms_exports_use() -> None:
    a = parse_time("2026-11-20 10:00:00", TZ)
    assert a.isoformat() == "2026-11-20T02:00:00+00:00"  # Shanghai local time
    for form in ("2026/11/20 10:00:00", "2026年11月20日 10:00:00", "2026-11-20T10:00:00+08:00", "1795140000"):
        assert parse_time(form, TZ) == a, form
    assert parse_time("1795140000000", TZ) == a
    with pytest.raises(ValueError, match="2026-11-20 10:01:02"):
        parse_time("yesterday", TZ)


def test_csv_conversations_with_agents_shop_and_rating() -> None:
    r = parse_csv_text(CSV, "day.csv", TZ)
    assert not r.errors and not r.warnings
    c1, c2 = sorted(r.chats, key=lambda c: c.external_id)
    assert (c1.agent, c1.shop, c1.satisfaction) == ("青禾旗舰店:小满", "青禾", 1.0)
    assert [t.role.value for t in c1.turns] == ["customer", "agent", "customer", "agent"]
    assert [t.at for t in c1.turns] == [0.0, 20.0, 60.0, 90.0]
    assert c2.agent == "青禾旗舰店:阿杰" and c2.turns[1].at == 180.0


def test_csv_errors_name_file_line_and_column() -> None:
    bad = CSV + "c3,yesterday,买家,,hi,青禾,\nc3,2026-11-20 12:00:00,robot,x,hi,青禾,\nc4,2026-11-20 12:00:00,买家\n"
    r = parse_csv_text(bad, "day.csv", TZ)
    shown = [p.format() for p in r.errors]
    assert shown[0].startswith("day.csv:8:2: time 'yesterday' is not a date and time")
    assert shown[1].startswith("day.csv:9:3: speaker 'robot' is neither a buyer nor an agent")
    assert shown[2].startswith("day.csv:10:1: 3 fields, the header has 7")
    missing = parse_csv_text("id,when,who,text\n1,2,3,4\n", "x.csv", TZ)
    assert "no column for conversation, time, speaker, agent" in missing.errors[0].format()


def test_text_log_splits_conversations_by_buyer_and_reads_multiline_messages() -> None:
    r = parse_text_lines(TEXT_LOG.splitlines(), "qianniu.txt", TZ, TextLogFormat())
    assert not r.errors
    first, second = r.chats
    assert first.agent == "青禾旗舰店:小满" and len(first.turns) == 3
    assert first.turns[1].text == "亲，您好～\n这款是羊毛混纺，正常穿着不容易起球哦"
    assert second.agent == "青禾旗舰店:阿杰" and second.turns[1].at == 240.0
    assert first.external_id.startswith("tb_buyer01@")


def test_text_log_pattern_is_configurable_and_errors_are_located() -> None:
    log = "[10:00:00 2026-11-20] <客服>小满: 您好\n[10:00:05 2026-11-20] <buyer>tb1: 在吗\n"
    fmt = TextLogFormat(
        line=r"^\[(?P<time>[\d:]+ [\d-]+)\] <(?P<role>[^>]+)>(?P<speaker>[^:]+): (?P<text>.*)$", agent=r"^小满$"
    )
    # the time is written time-first here: unparsable, so every header line is an error with its column
    r = parse_text_lines(log.splitlines(), "log.txt", TZ, fmt)
    assert r.errors and r.errors[0].format().startswith("log.txt:1:2: time '10:00:00 2026-11-20'")
    fmt2 = TextLogFormat(line=r"^(?P<time>\S+ \S+) (?P<speaker>[^:]+): (?P<text>.*)$", agent="小满")
    ok = parse_text_lines(["2026-11-20 10:00:00 tb1: 在吗", "2026-11-20 10:00:09 小满: 您好"], "l.txt", TZ, fmt2)
    assert not ok.errors and ok.chats[0].turns[1].text == "您好" and ok.chats[0].agent == "小满"
    stray = parse_text_lines(["hello", "tb1 2026-11-20 10:00:00", "在吗"], "l.txt", TZ, TextLogFormat())
    assert stray.errors[0].format().startswith("l.txt:1:1: a message before any speaker/time line")
    with pytest.raises(ValueError, match="named group"):
        TextLogFormat(line=r"^(?P<speaker>\S+)$")


def test_import_maps_agents_stores_real_chats_and_queues_qa(engine: Engine, tmp_path: Path) -> None:
    report = _import(engine, _write(tmp_path, "day.csv", CSV), shop="青禾")
    assert report.conversations == 2 and report.messages == 6 and report.job_id is not None
    assert report.agents == {"青禾旗舰店:小满": "xiaoman", "青禾旗舰店:阿杰": "ajie"}  # by display name
    with engine.store.read() as s:
        rows = s.query(SessionRecord).all()
        assert {r.kind for r in rows} == {"real"} and all(r.status == "finished" for r in rows)
        real = s.query(RealChat).all()
        assert {r.external_id for r in real} == {"c1", "c2"} and {r.shop for r in real} == {"青禾"}
        found = load_session(s, real[0].session_id)
        assert found is not None and found[1].transcript().turns[0].role.value == "customer"
    # the same file again: nothing new, nothing doubled
    again = _import(engine, _write(tmp_path, "day.csv", CSV), shop="青禾")
    assert again.conversations == 0 and again.already_imported == 2 and again.job_id is None
    assert _count(engine, SessionRecord) == 2


def test_a_failed_import_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    good = _write(tmp_path, "good.csv", CSV)
    bad = _write(tmp_path, "bad.jsonl", '{"id": "j1", "agent": "小满", "turns": []}\nnot json\n')
    with pytest.raises(ImportFailed) as exc:
        _import(engine, good, bad)
    text = str(exc.value)
    assert 'bad.jsonl:1:1: conversation 1: no "turns"' in text and "bad.jsonl:2:1: invalid JSON" in text
    assert _count(engine, SessionRecord) == 0 and _count(engine, TurnRecord) == 0 and _count(engine, Job) == 0
    # an agent without an account is an error too (nothing stored), with how to fix it
    stranger = CSV.replace("青禾旗舰店:阿杰", "青禾旗舰店:小雨")
    with pytest.raises(ImportFailed, match=r"agent '青禾旗舰店:小雨' has no account — map it"):
        _import(engine, _write(tmp_path, "s.csv", stranger))
    assert _count(engine, SessionRecord) == 0


def test_agents_mapped_by_hand_or_created_and_put_in_a_group(engine: Engine, tmp_path: Path) -> None:
    with engine.store.write() as s:
        trainer = get_user_by_name(s, "laowang").id
        group = create_group(s, "11月新人班", trainer_id=trainer).id
    stranger = CSV.replace("青禾旗舰店:阿杰", "青禾旗舰店:小雨").replace("青禾旗舰店:小满", "客服07")
    report = _import(
        engine,
        _write(tmp_path, "s.csv", stranger),
        agent_map=parse_agent_map(["客服07=xiaoman"]),
        create_agents=True,
        group_id=group,
    )
    assert report.agents["客服07"] == "xiaoman"
    assert report.created == [report.agents["青禾旗舰店:小雨"]]
    with engine.store.read() as s:
        created = get_user_by_name(s, report.created[0])
        assert created.display_name == "小雨" and created.role == "trainee"
        assert {u.username for u in members(s, group)} == {"xiaoman", created.username}
    with pytest.raises(ImportFailed, match="not NAME=username"):
        parse_agent_map(["nonsense"])


def test_gb18030_csv_from_excel(engine: Engine, tmp_path: Path) -> None:
    report = _import(engine, _write(tmp_path, "excel.csv", CSV, encoding="gb18030"))
    assert report.conversations == 2


def test_qa_job_grades_everything_and_survives_a_restart(engine: Engine, tmp_path: Path) -> None:
    rows = ["会话ID,时间,发送方,客服,内容"]
    for n in range(30):
        rows.append(f"k{n},2026-11-20 10:{n:02d}:00,买家,,第{n}个问题")
        rows.append(f"k{n},2026-11-20 10:{n:02d}:30,客服,{'小满' if n % 2 else '阿杰'},回答{n}")
    report = _import(engine, _write(tmp_path, "many.csv", "\n".join(rows) + "\n"))
    first = QaRunner(engine, batch=4, worker="box:1")
    job = first.run(limit=8)  # the process "dies" after 8 conversations
    assert job is not None and job.status == "queued" and job.done == 8
    assert _count(engine, GradeRecord) == 8
    seen: list[int] = []
    job = QaRunner(engine, batch=4, worker="box:2").run(on_progress=lambda j: seen.append(j.done))
    assert job is not None and job.status == "done" and job.done == 30 and job.id == report.job_id
    assert seen == sorted(seen) and seen[-1] == 30
    assert _count(engine, GradeRecord) == 30 and _count(engine, ScoreFact) == 30  # none graded twice
    with engine.store.read() as s:
        facts = s.query(ScoreFact).all()
        assert {f.source for f in facts} == {"real"}
        assert {f.first_response_s for f in facts} == {30.0} and {f.reply_ratio for f in facts} == {1.0}
        assert s.query(CriterionFact).filter(CriterionFact.criterion == "greeting").count() == 30
    assert QaRunner(engine).run() is None  # nothing left


def test_a_job_of_a_killed_worker_is_taken_over(engine: Engine, tmp_path: Path) -> None:
    _import(engine, _write(tmp_path, "day.csv", CSV))
    from simulator.store.jobs import claim_job

    with engine.store.write() as s:
        job = claim_job(s, "elsewhere:1")  # another machine holds it, heartbeat fresh
        assert job is not None
    assert QaRunner(engine, worker="here:2").run() is None  # its lease is still running
    with engine.store.write() as s:
        from datetime import timedelta

        from simulator.store.schema import utcnow

        s.get(Job, job.id).heartbeat_at = utcnow() - timedelta(minutes=5)  # type: ignore[union-attr]
    done = QaRunner(engine, worker="here:2").run()
    assert done is not None and done.status == "done" and done.done == 2


def test_a_conversation_the_grader_fails_on_does_not_stop_the_job(engine: Engine, tmp_path: Path) -> None:
    class Flaky(FakeGrader):
        def grade(self, transcript, scenario=None, variables=None):  # type: ignore[no-untyped-def]
            if any("不知道" in t.text for t in transcript.turns):
                raise RuntimeError("boom")
            return super().grade(transcript, scenario, variables)

    engine._grader = Flaky()
    _import(engine, _write(tmp_path, "day.csv", CSV))
    job = QaRunner(engine).run()
    assert job is not None and job.status == "done" and (job.done, job.failed) == (1, 1)
    assert len(job.params["failed"]) == 1


def test_the_documented_examples_read_cleanly() -> None:
    from simulator.analytics.importer import read_files

    repo = Path(__file__).resolve().parent.parent
    files = [repo / "docs" / "examples" / f"real-chats.{x}" for x in ("csv", "jsonl", "txt")]
    parsed = read_files(files, ImportOptions(), TZ)
    assert not parsed.errors and not parsed.warnings
    assert len(parsed.chats) == 6 and {c.agent for c in parsed.chats} == {"青禾旗舰店:小满", "青禾旗舰店:阿杰"}
