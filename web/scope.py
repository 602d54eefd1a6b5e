"""The analytics pages' shared request handling: the viewer as the engine's :class:`~simulator.analytics.scope.Viewer`,
the filter bar read from the query string, and the people a page may show."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import Request
from sqlalchemy.orm import Session

from simulator.analytics.scope import PERIODS, SOURCES, Filters, people_in_scope
from simulator.analytics.scope import Viewer as ScopeViewer
from web.auth import Viewer


def scope_viewer(viewer: Viewer) -> ScopeViewer:
    """The web viewer as the engine sees it."""
    return ScopeViewer(viewer.id, viewer.role)


def filters_from(request: Request) -> Filters:
    """The filter bar: ``group``, ``shop``, ``days`` (7, 14, 30, 90, 365) and ``src`` (practice, exam, real)."""
    q = request.query_params
    group = q.get("group", "")
    days = q.get("days", "")
    sources = tuple(x for x in q.getlist("src") if x in SOURCES) or SOURCES
    shop = (q.get("shop") or "").strip()[:80] or None
    return Filters(
        group_id=int(group) if group.isdigit() else None,
        shop=shop,
        days=int(days) if days.isdigit() and int(days) in PERIODS else 30,
        sources=sources,
    )


def query_of(filters: Filters) -> str:
    """The filters back as a query string (links keep them)."""
    pairs: list[tuple[str, str]] = [("days", str(filters.days))]
    if filters.group_id is not None:
        pairs.append(("group", str(filters.group_id)))
    if filters.shop:
        pairs.append(("shop", filters.shop))
    if filters.sources != SOURCES:
        pairs += [("src", x) for x in filters.sources]
    return urlencode(pairs)


@dataclass(frozen=True)
class Scope:
    """The people a page shows (None = everyone: an admin without a group filter)."""

    people: list[int] | None


def scope_of(s: Session, viewer: Viewer, filters: Filters) -> Scope:
    """Who the viewer may see under these filters."""
    v = scope_viewer(viewer)
    if v.is_admin and filters.group_id is None:
        return Scope(None)
    return Scope(people_in_scope(s, v, filters.group_id))
