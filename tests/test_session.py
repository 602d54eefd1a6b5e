"""The session: turns, timing, errors, JSON round trip and resuming on another 'instance'."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from simulator.customer import ScriptedCustomer
from simulator.errors import SimulatorError
from simulator.scenario import load_scenario
from simulator.scenario.model import Outcome
from simulator.session import (
    EmptyReply,
    ReplyTooLong,
    Role,
    Session,
    SessionEnded,
    SessionKind,
    SessionNotReady,
    SessionStatus,
    TurnSource,
    scenario_digest,
)

REPO = Path(__file__).resolve().parent.parent
PATH = REPO / "scenarios/qinghe/presale-size-hesitant-office.yaml"
SCENARIO = load_scenario(PATH)
GOOD = SCENARIO.references.good.replies if SCENARIO.references else []


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def new_session(clock: FakeClock, seed: int = 1) -> Session:
    s = Session.create(SCENARIO, seed=seed, clock=clock, digest=scenario_digest(PATH.read_bytes()), trainee_id="t1")
    return s.bind(ScriptedCustomer(SCENARIO))


def test_a_whole_conversation_with_timing() -> None:
    clock = FakeClock()
    session = new_session(clock)
    opening = session.start()
    assert [t.role for t in opening] == [Role.CUSTOMER] and opening[0].source is TurnSource.SCRIPTED
    for i, text in enumerate(GOOD):
        clock.advance(12 + i)
        new = session.reply(text)
        assert new[0].role is Role.AGENT and new[0].response_seconds == 12 + i
        assert new[0].acts, "acts are recorded on agent turns"
        if session.ended:
            break
    assert session.status is SessionStatus.ENDED and session.outcome is Outcome.BOUGHT
    assert [t.seq for t in session.turns] == list(range(len(session.turns)))
    assert session.scenario_digest.startswith("sha256:") and session.kind is SessionKind.PRACTICE
    assert all(t.mood is not None and t.patience is not None for t in session.messages(Role.CUSTOMER)[1:])
    transcript = session.transcript()
    assert transcript[0]["role"] == "customer" and transcript[1]["at"] == 12.0


def test_json_round_trip_and_resume_gives_the_same_conversation() -> None:
    clock = FakeClock()
    straight = new_session(clock, seed=5)
    straight.start()
    for text in GOOD:
        if straight.ended:
            break
        clock.advance(10)
        straight.reply(text)

    clock2 = FakeClock()
    first = new_session(clock2, seed=5)
    first.start()
    clock2.advance(10)
    first.reply(GOOD[0])
    stored = first.model_dump_json()
    # Another process: load the JSON, attach a fresh customer, carry on.
    resumed = Session.model_validate_json(stored).bind(ScriptedCustomer(load_scenario(PATH)), clock=clock2)
    for text in GOOD[1:]:
        if resumed.ended:
            break
        clock2.advance(10)
        resumed.reply(text)
    assert resumed.model_dump(exclude={"id"}) == straight.model_dump(exclude={"id"})


def test_same_seed_same_conversation_different_seed_may_differ() -> None:
    runs = []
    for seed in (1, 1, 2, 3, 4):
        clock = FakeClock()
        s = new_session(clock, seed=seed)
        s.start()
        for text in GOOD:
            if s.ended:
                break
            clock.advance(5)
            s.reply(text)
        runs.append([t.text for t in s.turns])
    assert runs[0] == runs[1]
    assert len({tuple(r) for r in runs}) > 1


def test_blank_and_oversized_replies_are_clear_errors() -> None:
    session = new_session(FakeClock())
    session.start()
    with pytest.raises(EmptyReply, match="empty"):
        session.reply("   \n ")
    with pytest.raises(ReplyTooLong, match="limit is 2000"):
        session.reply("好" * 2001)
    assert len(session.turns) == 1, "a rejected reply leaves no trace"
    assert issubclass(EmptyReply, SimulatorError) and issubclass(ReplyTooLong, SimulatorError)


def test_order_of_calls_is_enforced() -> None:
    unbound = Session.create(SCENARIO, seed=1)
    with pytest.raises(SessionNotReady, match="bind"):
        unbound.start()
    session = unbound.bind(ScriptedCustomer(SCENARIO))
    with pytest.raises(SessionNotReady, match="start"):
        session.reply("您好")
    session.start()
    with pytest.raises(SimulatorError, match="already started"):
        session.start()
    session.end()
    assert session.outcome is Outcome.ABANDONED and session.end_reason == "trainee"
    with pytest.raises(SessionEnded):
        session.reply("还在吗")
    assert session.end() == [], "ending twice does nothing"


def test_explicit_times_and_naive_datetimes_are_utc() -> None:
    session = new_session(FakeClock())
    session.start()
    naive = datetime(2025, 3, 1, 10, 0, 40)
    turns = session.reply("方便告诉我您的身高体重吗？", at=naive)
    assert turns[0].at.tzinfo is not None and turns[0].response_seconds == 40
    assert turns[1].at == turns[0].at, "a simulated trainee's clock also stamps the customer's answer"


def test_variables_and_seed_are_stored() -> None:
    session = Session.create(SCENARIO, seed=9, variables={"height_say": "165cm"})
    assert session.variables == {"height_say": "165cm"} and session.seed == 9
