"""Play a scripted trainee (a scenario's reference good/bad replies, or a replies file) against a customer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from simulator.customer.base import Customer
from simulator.scenario.model import Outcome, ReferenceTrainee, Scenario
from simulator.session import Session, SessionKind

EPOCH = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)


def play_replies(
    scenario: Scenario,
    customer: Customer,
    replies: Sequence[str],
    *,
    reply_seconds: float = 15.0,
    seed: int = 0,
    kind: SessionKind = SessionKind.REFERENCE,
    variables: dict[str, str] | None = None,
    start: datetime = EPOCH,
) -> Session:
    """Play ``replies`` in order on a simulated clock; returns the finished session.

    Each reply is sent ``reply_seconds`` after the customer's last message. Replies left over when the customer
    ends are ignored; running out of replies before an outcome ends the session as ``abandoned``.
    """
    clock_now = [start]
    session = Session.create(scenario, kind=kind, seed=seed, variables=variables, clock=lambda: clock_now[0])
    session.bind(customer)
    session.start()
    for text in replies:
        if session.ended:
            break
        last = session.turns[-1].at
        clock_now[0] = last + timedelta(seconds=reply_seconds)
        session.reply(text, at=clock_now[0])
    if not session.ended:
        session.end(reason="no more replies", outcome=Outcome.ABANDONED)
    return session


def play_reference(scenario: Scenario, trainee: ReferenceTrainee, customer: Customer, *, seed: int = 0) -> Session:
    """Play a reference trainee (``scenario.references.good`` or ``.bad``) with its own reply time."""
    return play_replies(scenario, customer, trainee.replies, reply_seconds=trainee.reply_seconds, seed=seed)
