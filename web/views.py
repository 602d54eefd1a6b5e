"""Rendering: the Jinja environment, the template context, filters, and display names of values.

Templates rely on Jinja's autoescaping for every value. The one filter that returns markup is ``passage``:
a knowledge passage's Markdown, rendered and then sanitised by :mod:`web.markup`. Data handed to JavaScript
(charts) goes through ``tojson`` inside a ``<script type="application/json">`` block, which escapes ``<``,
``>``, ``&`` and quotes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from web import i18n
from web.auth import cookie, optional_viewer
from web.markup import passage_html
from web.security import CSRF_FIELD
from web.services import services

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def build_templates(
    catalogues: i18n.Catalogues, *, max_message_chars: int, timezone: str = "Asia/Shanghai"
) -> Jinja2Templates:
    """The app's templates: autoescaped, translated with ``catalogues``, with the filters below installed."""
    # Autoescape every template: all of them are HTML, and every value in them is data.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    templates = Jinja2Templates(env=env)
    env.install_gettext_callables(catalogues.gettext, catalogues.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        LANGUAGES=i18n.LANGUAGES,
        current_locale=i18n.current_locale,
        CSRF_FIELD=CSRF_FIELD,
        max_chars=max_message_chars,
    )
    register_filters(env, catalogues.gettext)
    zone = ZoneInfo(timezone)

    def local_time(dt: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        """A moment in the shop's time zone (analytics pages: due dates, retests, imported chats)."""
        d = _aware(dt)
        return "" if d is None else d.astimezone(zone).strftime(fmt)

    env.filters["local"] = local_time
    return templates


def render(request: Request, name: str, context: dict[str, Any] | None = None, *, status: int = 200) -> Response:
    """Render a template with the viewer, CSRF token and gettext available."""
    svc = services(request)
    ctx = {"viewer": optional_viewer(request), "csrf_token": cookie(request).get("c", ""), **(context or {})}
    return svc.templates.TemplateResponse(request, name, ctx, status_code=status)


def is_htmx(request: Request) -> bool:
    """True for requests made by htmx (answer with a fragment)."""
    return request.headers.get("hx-request") == "true"


def _aware(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def fmt_time(dt: datetime | None) -> str:
    """``2026-11-22 15:04`` in UTC (the page adds no time-zone guesswork)."""
    d = _aware(dt)
    return "" if d is None else d.strftime("%Y-%m-%d %H:%M")


def iso(dt: datetime | None) -> str:
    """ISO-8601 with offset, for ``<time datetime>`` and the response timer."""
    d = _aware(dt)
    return "" if d is None else d.isoformat()


def seconds(ms: int | float | None) -> str:
    """``12.3 s`` from milliseconds."""
    return "—" if ms is None else f"{ms / 1000:.1f} s"


def score(value: float | None) -> str:
    """A 0–100 score, or an em dash when unscored."""
    return "—" if value is None else f"{value:.0f}"


def N_(text: str) -> str:
    """Mark a string for extraction; it is translated when displayed (see :func:`label`)."""
    return text


# English display names of enum values; the catalogue translates them (msgids are these English words).
LABELS: dict[str, str] = {
    # categories
    "pre-sales": N_("Pre-sales"),
    "after-sales": N_("After-sales"),
    "complaint": N_("Complaint"),
    "logistics": N_("Logistics"),
    "bad-review": N_("Bad review"),
    # difficulty
    "easy": N_("Easy"),
    "medium": N_("Medium"),
    "hard": N_("Hard"),
    "expert": N_("Expert"),
    # skills
    "needs-discovery": N_("Needs discovery"),
    "fabe": N_("FABE"),
    "ask-answer-praise-recommend": N_("Ask, answer, praise, recommend"),
    "matching": N_("Matching"),
    "objection-handling": N_("Objection handling"),
    "closing": N_("Closing"),
    "empathy-sandwich": N_("Empathy sandwich"),
    "reassurance": N_("Reassurance"),
    "de-escalation": N_("De-escalation"),
    "expectation-setting": N_("Expectation setting"),
    # outcomes
    "bought": N_("Bought"),
    "resolved": N_("Resolved"),
    "informed": N_("Informed"),
    "left": N_("Left"),
    "escalated": N_("Escalated"),
    "abandoned": N_("Abandoned"),
    "timed-out": N_("Timed out"),
    # dimensions
    "service": N_("Service"),
    "technique": N_("Technique"),
    "knowledge": N_("Knowledge"),
    "process": N_("Process"),
    # session status and kind
    "active": N_("In progress"),
    "finished": N_("Finished"),
    "practice": N_("Practice"),
    "exam": N_("Exam"),
    "playtest": N_("Play-test"),
    # roles
    "trainee": N_("Trainee"),
    "trainer": N_("Trainer"),
    "exam-owner": N_("Exam owner"),
    "admin": N_("Admin"),
    # exams: verdicts, certificates, appeals, windows, how a part ended, page events, audit actions
    "passed": N_("Passed"),
    "failed": N_("Not passed"),
    "review": N_("Under review"),
    "valid": N_("Valid"),
    "expired": N_("Expired"),
    "revoked": N_("Revoked"),
    "appeal-open": N_("Open"),
    "appeal-upheld": N_("Upheld"),
    "appeal-rejected": N_("Rejected"),
    "scheduled": N_("Scheduled"),
    "recertification": N_("Re-certification"),
    "deadline": N_("Time ran out"),
    "window": N_("Window closed"),
    "not-started": N_("Not started"),
    "dismiss": N_("Dismissed"),
    "restore": N_("Restored"),
    "accept": N_("Counted as right"),
    "reject": N_("Counted as wrong"),
    "paste": N_("Pasted text"),
    "away": N_("Left the page"),
    "back": N_("Came back"),
    "new-tab": N_("Opened in another tab"),
    "stale-tab": N_("Refused: another tab"),
    "late-answer": N_("Refused: after the deadline"),
    "schedule": N_("Scheduled a window"),
    "cancel-window": N_("Cancelled a window"),
    "start": N_("Started an attempt"),
    "auto-submit": N_("Submitted at the deadline"),
    "graded": N_("Verdict decided"),
    "verdict-changed": N_("Verdict changed"),
    "override": N_("Overrode a finding"),
    "appeal": N_("Appealed"),
    "appeal-decided": N_("Decided an appeal"),
    "regrade": N_("Re-graded"),
    "reopen": N_("Reopened the exam"),
    "certificate-issued": N_("Certificate issued"),
    "certificate-revoked": N_("Certificate revoked"),
    "recertification-scheduled": N_("Re-certification scheduled"),
    "real": N_("Real chat"),
    # problem types (质培联动) and their training modes
    "individual": N_("Individual (个体)"),
    "common": N_("Common (共性)"),
    "recurring": N_("Recurring (多发)"),
    "sudden": N_("Sudden (突发)"),
    "manual": N_("Chosen by hand"),
    "coaching": N_("1:1 coaching, 15–30 min, 3+ times in 7 days"),
    "class": N_("One class (30–60 min), then 1:1 for the weakest"),
    "standup": N_("Short reminders in daily stand-ups until it is a habit"),
    "class-coaching": N_("A class for everyone, then 1:1 for the weakest"),
    # assignment status
    "open": N_("Not started"),
    "in-progress": N_("In progress"),
    "done": N_("Done"),
    "overdue": N_("Overdue"),
    "retest": N_("Retest"),
    # QA jobs
    "job-queued": N_("Queued"),
    "job-running": N_("Grading"),
    "job-done": N_("Done"),
    "job-failed": N_("Failed"),
    # moods
    "furious": N_("Furious"),
    "angry": N_("Angry"),
    "annoyed": N_("Annoyed"),
    "neutral": N_("Neutral"),
    "pleased": N_("Pleased"),
    "delighted": N_("Delighted"),
    # the customer's reaction (grader): how they left, the trend, the cues in their words
    "state-satisfied": N_("Satisfied"),
    "state-neutral": N_("Neither pleased nor upset"),
    "state-dissatisfied": N_("Dissatisfied"),
    "state-angry": N_("Angry or complaining"),
    "trend-rising": N_("getting better"),
    "trend-falling": N_("getting worse"),
    "trend-steady": N_("steady"),
    "cue-anger": N_("Anger"),
    "cue-complaint": N_("Threat to complain"),
    "cue-sarcasm": N_("Sarcasm"),
    "cue-leaving": N_("Giving up"),
    "cue-unresolved": N_("Still not solved"),
    "cue-urgency": N_("Pressing"),
    "cue-doubt": N_("Doubt"),
    "cue-repeated": N_("Asked again"),
    "cue-thanks": N_("Thanks"),
    "cue-acceptance": N_("Accepts"),
    "cue-praise": N_("Praise"),
}


# The grader's own criteria (the ones every conversation is judged on, with or without a scenario). A scenario's
# steps, facts and red lines are shown with the title the grader gave them.
CRITERIA: dict[str, str] = {
    "greeting": N_("Greeting"),
    "farewell": N_("Farewell"),
    "politeness": N_("Politeness"),
    "empathy": N_("Empathy"),
    "no-curt-replies": N_("No curt replies"),
    "forbidden-words": N_("Forbidden words"),
    "response-time": N_("Response time"),
    "reply-ratio": N_("Reply ratio (答问比)"),
    "needs-discovery": N_("Needs discovery"),
    "fabe": N_("FABE"),
    "objection-handling": N_("Objection handling"),
    "closing": N_("Closing"),
    "no-over-promise": N_("No over-promising"),
    "kb-consistent": N_("Consistent with the knowledge base"),
    "authority": N_("Within authority"),
    "escalation": N_("Escalation"),
    "verify-first": N_("Verify before a remedy"),
    "red-line": N_("Red lines"),
}


def criterion_label(cid: str, title: str = "", gettext: Callable[[str], str] | None = None) -> str:
    """How a criterion is shown: the translated name of a grader criterion, else the grader's title, else its id."""
    if cid in CRITERIA:
        return gettext(CRITERIA[cid]) if gettext is not None else CRITERIA[cid]
    return title or cid


def percent(value: float | None) -> str:
    """``42%`` from 0–100, or an em dash."""
    return "—" if value is None else f"{value:.0f}%"


def secs(value: float | None) -> str:
    """``12.3 s`` from seconds, or an em dash."""
    return "—" if value is None else f"{value:.1f} s"


def register_filters(env: jinja2.Environment, gettext: Callable[[str], str]) -> None:
    """Install the filters the templates use."""

    def label(value: object) -> str:
        key = str(getattr(value, "value", value) or "")
        return gettext(LABELS[key]) if key in LABELS else key

    def crit(cid: str, title: str = "") -> str:
        return criterion_label(cid, title, gettext)

    env.filters.update(
        fmt_time=fmt_time,
        iso=iso,
        seconds=seconds,
        score=score,
        label=label,
        passage=passage_html,
        crit=crit,
        percent=percent,
        secs=secs,
    )
    env.globals["elapsed_ms"] = elapsed_ms
    env.globals["remaining"] = remaining


def remaining(deadline: datetime | str | None) -> str:
    """``12:34`` left until ``deadline`` (a datetime or ISO text), ``0:00`` when past."""
    if deadline is None:
        return "—"
    d = _aware(datetime.fromisoformat(deadline) if isinstance(deadline, str) else deadline)
    assert d is not None
    left = max(0, int((d - datetime.now(UTC)).total_seconds()))
    return f"{left // 60}:{left % 60:02d}"


def elapsed_ms(since: datetime | None) -> int:
    """Milliseconds from ``since`` to now (the timer's starting offset, immune to the browser's clock)."""
    d = _aware(since)
    return 0 if d is None else max(0, int((datetime.now(UTC) - d).total_seconds() * 1000))
