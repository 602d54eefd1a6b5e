"""xAPI statements for every attempt, and sending them to a Learning Record Store.

Per practice or exam attempt (never play-tests, never imported real chats — those are not learning):

* ``attempted`` when it starts;
* when it is graded: ``completed`` (it ran to its end; an abandoned attempt is not completed), ``passed`` or
  ``failed`` (the pass mark and the red lines), and ``scored`` with the scaled score and one extension per
  dimension. The graded statements carry the same ``result``: ``score`` (scaled 0–1, raw 0–100), ``success``,
  ``completion``, ``duration`` and the extensions.

Statement ids are derived from the attempt and the verb (UUID 5), so grading an attempt again never sends a second
statement for it. Statements go into the outbox (:mod:`simulator.store.outbox`) in the transaction that stores
what they report; :class:`Sender` posts them in batches, with backoff while the LRS is unreachable or failing.
A hand-written builder rather than a library: the one xAPI package on PyPI (``tincan``) was last released in
2020, and a statement is a small JSON document the LRS itself validates.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from simulator.grading.result import Grade
from simulator.session import as_utc
from simulator.settings import Settings
from simulator.store.database import Database
from simulator.store.outbox import OutboxStatement, due, mark_failed
from simulator.store.schema import utcnow

log = logging.getLogger("simulator.xapi")

VERSION = "1.0.3"
NAMESPACE = uuid.UUID("6f2d7c1e-3b8a-5f0e-9c4d-2a1b0e9f8d7c")
VERBS = {
    "attempted": "http://adlnet.gov/expapi/verbs/attempted",
    "completed": "http://adlnet.gov/expapi/verbs/completed",
    "passed": "http://adlnet.gov/expapi/verbs/passed",
    "failed": "http://adlnet.gov/expapi/verbs/failed",
    "scored": "http://adlnet.gov/expapi/verbs/scored",
}
VERB_NAMES = {
    "attempted": "attempted",
    "completed": "completed",
    "passed": "passed",
    "failed": "failed",
    "scored": "scored",
}
SIMULATION = "http://adlnet.gov/expapi/activities/simulation"


def statement_id(session_id: str, verb: str) -> str:
    """The fixed id of an attempt's statement with this verb."""
    return str(uuid.uuid5(NAMESPACE, f"{session_id}:{verb}"))


def actor(settings: Settings, username: str, display_name: str) -> dict[str, Any]:
    """The agent: an account on this installation."""
    return {
        "objectType": "Agent",
        "name": display_name,
        "account": {"homePage": settings.xapi_iri.rstrip("/"), "name": username},
    }


def activity(settings: Settings, scenario_id: str, title: str, locale: str) -> dict[str, Any]:
    """The scenario as an activity."""
    return {
        "objectType": "Activity",
        "id": f"{settings.xapi_iri.rstrip('/')}/scenarios/{scenario_id}",
        "definition": {"type": SIMULATION, "name": {locale: title or scenario_id}},
    }


def extension(settings: Settings, name: str) -> str:
    """The IRI of one of our extensions."""
    return f"{settings.xapi_iri.rstrip('/')}/xapi/extensions/{name}"


def _timestamp(at: datetime) -> str:
    return as_utc(at).isoformat()


def _duration(seconds: float) -> str:
    return f"PT{max(0.0, seconds):.1f}S"


def build(
    settings: Settings,
    verb: str,
    *,
    session_id: str,
    who: dict[str, Any],
    what: dict[str, Any],
    at: datetime,
    kind: str,
    result: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One statement."""
    statement: dict[str, Any] = {
        "id": statement_id(session_id, verb),
        "actor": who,
        "verb": {"id": VERBS[verb], "display": {"en-US": VERB_NAMES[verb]}},
        "object": what,
        "timestamp": _timestamp(at),
        "context": {
            "registration": str(uuid.UUID(session_id)) if _is_uuid(session_id) else statement_id(session_id, "reg"),
            "platform": "cs-simulator",
            "extensions": {extension(settings, "session-kind"): kind, extension(settings, "session-id"): session_id},
        },
        "version": VERSION,
    }
    if result is not None:
        statement["result"] = result
    return statement


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def graded_result(settings: Settings, grade: Grade, *, completed: bool, seconds: float) -> dict[str, Any]:
    """The ``result`` of a graded attempt: scaled score, success, completion, duration, per-dimension scores."""
    result: dict[str, Any] = {"completion": completed, "duration": _duration(seconds)}
    if grade.overall is not None:
        result["score"] = {"scaled": round(grade.overall / 100, 4), "raw": grade.overall, "min": 0, "max": 100}
    if grade.passed is not None:
        result["success"] = grade.passed
    dims = {d.value: s.score for d, s in grade.dimensions.items()}
    result["extensions"] = {
        extension(settings, "dimension-scores"): dims,
        extension(settings, "red-lines"): sorted({f.red_line or f.criterion for f in grade.red_lines}),
        extension(settings, "pass-mark"): grade.pass_mark,
    }
    return result


def graded_statements(
    settings: Settings,
    *,
    session_id: str,
    who: dict[str, Any],
    what: dict[str, Any],
    grade: Grade,
    kind: str,
    completed: bool,
    ended_at: datetime,
    seconds: float,
) -> list[dict[str, Any]]:
    """completed (if it ran to its end), passed/failed (if decided), scored (if scored) for a graded attempt."""
    result = graded_result(settings, grade, completed=completed, seconds=seconds)
    verbs: list[str] = []
    if completed:
        verbs.append("completed")
    if grade.passed is not None:
        verbs.append("passed" if grade.passed else "failed")
    if grade.overall is not None:
        verbs.append("scored")
    return [
        build(settings, v, session_id=session_id, who=who, what=what, at=ended_at, kind=kind, result=result)
        for v in verbs
    ]


# ---------------------------------------------------------------------------------------------------------
# Sending


class LrsError(Exception):
    """The LRS could not be reached or answered with an error."""


class Sender:
    """Posts due outbox statements to the LRS: in batches of up to ``batch``; a refused batch is retried one
    statement at a time so one bad statement cannot hold back the others.

    Args:
        db: The database holding the outbox.
        settings: ``lrs_url``, ``lrs_username``, ``lrs_password``.
        client: An HTTP client (tests); default one with a 10 s timeout.
    """

    def __init__(self, db: Database, settings: Settings, *, client: httpx.Client | None = None, batch: int = 50):
        self.db = db
        self.settings = settings
        self.batch = batch
        self._client = client

    @property
    def configured(self) -> bool:
        """An LRS endpoint is set."""
        return bool(self.settings.lrs_url)

    def client(self) -> httpx.Client:
        """The HTTP client (made on first use)."""
        if self._client is None:
            auth = None
            if self.settings.lrs_username:
                auth = (self.settings.lrs_username, self.settings.lrs_password.get_secret_value())
            self._client = httpx.Client(timeout=10.0, auth=auth)
        return self._client

    def _url(self) -> str:
        base = (self.settings.lrs_url or "").rstrip("/")
        return base if base.endswith("/statements") else base + "/statements"

    def _post(self, statements: list[Mapping[str, Any]]) -> httpx.Response:
        try:
            return self.client().post(
                self._url(),
                json=list(statements),
                headers={"X-Experience-API-Version": VERSION, "Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise LrsError(f"{type(exc).__name__}: {exc}") from None

    def flush(self, *, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
        """Send what is due now; returns counts of sent, failed (will be retried) and rejected statements."""
        counts = {"sent": 0, "failed": 0, "rejected": 0}
        if not self.configured:
            return counts
        now = now or utcnow()
        while counts["sent"] + counts["failed"] + counts["rejected"] < limit:
            with self.db.read() as s:
                rows = list(due(s, now, self.batch))
            if not rows:
                break
            outcome = self._send(rows, now)
            for k, v in outcome.items():
                counts[k] += v
            if outcome["failed"]:
                break  # the LRS is down or failing: wait for the backoff
        return counts

    def _send(self, rows: list[OutboxStatement], now: datetime) -> dict[str, int]:
        counts = {"sent": 0, "failed": 0, "rejected": 0}
        try:
            resp = self._post([r.statement for r in rows])
        except LrsError as exc:
            self._record(rows, failed=str(exc), now=now)
            counts["failed"] = len(rows)
            return counts
        if resp.status_code in (200, 204):
            self._record(rows, sent=True, now=now)
            counts["sent"] = len(rows)
            return counts
        if resp.status_code >= 500 or resp.status_code in (401, 403, 408, 429):
            self._record(rows, failed=f"HTTP {resp.status_code}: {resp.text[:300]}", now=now)
            counts["failed"] = len(rows)
            return counts
        # 409 (one of them is there already) or 400 (one is invalid): find out one by one
        for row in rows:
            try:
                one = self._post([row.statement])
            except LrsError as exc:
                self._record([row], failed=str(exc), now=now)
                counts["failed"] += 1
                continue
            if one.status_code in (200, 204, 409):
                self._record([row], sent=True, now=now)
                counts["sent"] += 1
            elif one.status_code >= 500 or one.status_code in (401, 403, 408, 429):
                self._record([row], failed=f"HTTP {one.status_code}: {one.text[:300]}", now=now)
                counts["failed"] += 1
            else:
                self._record([row], rejected=f"HTTP {one.status_code}: {one.text[:500]}", now=now)
                counts["rejected"] += 1
                log.warning("the LRS refused statement %s: %s", row.statement_id, one.text[:300])
        return counts

    def _record(
        self,
        rows: list[OutboxStatement],
        *,
        now: datetime,
        sent: bool = False,
        failed: str | None = None,
        rejected: str | None = None,
    ) -> None:
        ids = [r.id for r in rows]
        with self.db.write() as s:
            for row in s.query(OutboxStatement).filter(OutboxStatement.id.in_(ids)):
                if sent:
                    row.sent_at = now
                    row.attempts += 1
                elif rejected is not None:
                    row.rejected = rejected
                    row.attempts += 1
                elif failed is not None:
                    mark_failed(row, failed, now)
