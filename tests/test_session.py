"""The session: turns, timing, errors, JSON round trip and resuming on another 'instance'."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from simulator.customer import ScriptedCustomer
from simulator.errors import SimulatorError
from simulator.scenario import load_scenario
from simulator.scenario.vocabulary import Outcome
from simulator.session import (
    AwaitingAnswer,
    EmptyReply,
    ReplyTooLong,
    Session,
    SessionEnded,
    SessionKind,
    SessionNotReady,
    SessionStatus,
    clean_reply,
    fill_variables,
)
from simulator.turn import Speaker, TurnSource

REPO = Path(__file__).resolve().parent.parent
PATH = REPO / "scenarios/qinghe/presale-size-hesitant-office.yaml"
SCENARIO = load_scenario(PATH)
# Reference replies may name the scenario's {variables}; a trainee types the values.
GOOD = [
    fill_variables(r, SCENARIO.variable_values())
    for r in (SCENARIO.references.good.replies if SCENARIO.references else [])
]


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


CUSTOMER = ScriptedCustomer(SCENARIO)


def new_session(clock: FakeClock, seed: int = 1) -> Session:
    return Session.create(SCENARIO, seed=seed, clock=clock, digest="d" * 64, trainee_id="t1")


def test_a_whole_conversation_with_timing() -> None:
    clock = FakeClock()
    session = new_session(clock)
    opening = session.start(CUSTOMER)
    assert [t.role for t in opening] == [Speaker.CUSTOMER] and opening[0].source is TurnSource.SCRIPTED
    for i, text in enumerate(GOOD):
        clock.advance(12 + i)
        new = session.reply(CUSTOMER, text)
        assert new[0].role is Speaker.AGENT and new[0].response_seconds == 12 + i
        assert new[0].acts, "acts are recorded on agent turns"
        if session.ended:
            break
    assert session.status is SessionStatus.FINISHED and session.outcome is Outcome.BOUGHT
    assert [t.seq for t in session.turns] == list(range(1, len(session.turns) + 1))
    assert session.kind is SessionKind.PRACTICE
    assert all(t.mood is not None and t.patience is not None for t in session.messages(Speaker.CUSTOMER)[1:])
    transcript = session.transcript()
    assert transcript.turns[0].role == "customer" and transcript.turns[1].at == 12.0 and transcript.complete
    assert transcript.outcome == "bought" and transcript.scenario == SCENARIO.id


def test_the_trainee_turn_and_the_answer_are_two_steps() -> None:
    clock = FakeClock()
    session = new_session(clock)
    session.start(CUSTOMER)
    clock.advance(20)
    sent = session.add_reply(GOOD[0])
    assert session.awaiting_answer and session.turns[-1] == sent and sent.response_seconds == 20
    with pytest.raises(AwaitingAnswer):
        session.add_reply("还有一句")
    clock.advance(3)
    answer = session.answer(CUSTOMER)
    assert not session.awaiting_answer and answer[0].at == 23.0, "the customer speaks when it has answered"
    assert session.turns[-len(answer) - 1].acts, "the reply's acts are recorded once the customer read it"
    with pytest.raises(SessionNotReady, match="send a reply"):
        session.answer(CUSTOMER)


def test_json_round_trip_and_resume_gives_the_same_conversation() -> None:
    clock = FakeClock()
    straight = new_session(clock, seed=5)
    straight.start(CUSTOMER)
    for text in GOOD:
        if straight.ended:
            break
        clock.advance(10)
        straight.reply(CUSTOMER, text)

    clock2 = FakeClock()
    first = new_session(clock2, seed=5)
    first.start(CUSTOMER)
    clock2.advance(10)
    first.reply(CUSTOMER, GOOD[0])
    stored = first.model_dump_json()
    # Another process: load the JSON, use a fresh customer, carry on.
    resumed = Session.model_validate_json(stored).use_clock(clock2)
    fresh = ScriptedCustomer(load_scenario(PATH))
    for text in GOOD[1:]:
        if resumed.ended:
            break
        clock2.advance(10)
        resumed.reply(fresh, text)
    assert resumed.model_dump(exclude={"id"}) == straight.model_dump(exclude={"id"})


def test_same_seed_same_conversation_different_seed_may_differ() -> None:
    runs = []
    for seed in (1, 1, 2, 3, 4):
        clock = FakeClock()
        s = new_session(clock, seed=seed)
        s.start(CUSTOMER)
        for text in GOOD:
            if s.ended:
                break
            clock.advance(5)
            s.reply(CUSTOMER, text)
        runs.append([t.text for t in s.turns])
    assert runs[0] == runs[1]
    assert len({tuple(r) for r in runs}) > 1


def test_blank_control_and_oversized_replies_are_clear_errors() -> None:
    session = new_session(FakeClock())
    session.start(CUSTOMER)
    with pytest.raises(EmptyReply, match="empty"):
        session.reply(CUSTOMER, "   \n ")
    with pytest.raises(EmptyReply):
        session.reply(CUSTOMER, "\x00\x07")
    with pytest.raises(ReplyTooLong, match="limit is 2000"):
        session.reply(CUSTOMER, "好" * 2001)
    assert len(session.turns) == 1, "a rejected reply leaves no trace"
    assert issubclass(EmptyReply, SimulatorError) and issubclass(ReplyTooLong, SimulatorError)
    assert clean_reply(" 在\x00吗\n\t好 ", 10) == "在吗\n\t好"


def test_order_of_calls_is_enforced() -> None:
    session = Session.create(SCENARIO, seed=1)
    with pytest.raises(SessionNotReady, match="start"):
        session.reply(CUSTOMER, "您好")
    session.start(CUSTOMER)
    with pytest.raises(SimulatorError, match="already started"):
        session.start(CUSTOMER)
    session.end()
    assert session.outcome is Outcome.ABANDONED and session.end_reason == "trainee"
    assert session.status is SessionStatus.FINISHED and session.transcript().complete
    with pytest.raises(SessionEnded):
        session.reply(CUSTOMER, "还在吗")
    assert session.end() == [], "ending twice does nothing"
    gave_up = Session.create(SCENARIO, seed=1)
    gave_up.start(CUSTOMER)
    gave_up.end(reason="abandoned", abandoned=True)
    assert gave_up.status is SessionStatus.ABANDONED and gave_up.transcript().complete, "giving up ends it"


def test_explicit_times_and_naive_datetimes_are_utc() -> None:
    session = new_session(FakeClock())
    session.start(CUSTOMER)
    naive = datetime(2025, 3, 1, 10, 0, 40)
    turns = session.reply(CUSTOMER, "方便告诉我您的身高体重吗？", sent_at=naive)
    assert turns[0].at == 40.0 and turns[0].response_seconds == 40
    assert session.time_of(turns[0]) == datetime(2025, 3, 1, 10, 0, 40, tzinfo=UTC)


def test_variables_and_seed_are_stored() -> None:
    session = Session.create(SCENARIO, seed=9, variables={"height_say": "165cm"})
    assert session.variables == SCENARIO.variable_values({"height_say": "165cm"}) and session.seed == 9
