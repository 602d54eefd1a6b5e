"""What every route depends on: the app's :class:`Services`, created once by :func:`web.app.create_app`, and
:func:`services`, the dependency that hands them to a route.

Routes import from here, never from :mod:`web.app`, so the app factory can import every route without a cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from fastapi.templating import Jinja2Templates
from pwdlib import PasswordHash

from simulator.knowledge.passage import Retriever
from simulator.settings import Settings
from simulator.store import Database
from web.catalogue import Catalogue
from web.i18n import Catalogues
from web.practice import Practice
from web.ratelimit import RateLimiter


@dataclass
class Services:
    """Everything a route needs, created once per app."""

    settings: Settings
    db: Database
    catalogue: Catalogue
    hasher: PasswordHash
    practice: Practice
    retriever: Callable[[], Retriever | None]
    limiter: RateLimiter
    templates: Jinja2Templates
    catalogues: Catalogues


def services(request: Request) -> Services:
    """The app's services (database, catalogue, engine …)."""
    return request.app.state.services


def lazy_retriever(retriever: Retriever | Callable[[], Retriever | None] | None) -> Callable[[], Retriever | None]:
    """The knowledge search as a function that builds it on first use (loading the index takes seconds)."""
    if retriever is None:
        return lambda: None
    if hasattr(retriever, "search"):
        fixed = retriever
        return lambda: fixed
    cache: dict[str, Retriever | None] = {}

    def get() -> Retriever | None:
        if "r" not in cache:
            cache["r"] = retriever()
        return cache["r"]

    return get
