"""What every route depends on: the app's :class:`Services`, created once by :func:`web.app.create_app`, and
:func:`services`, the dependency that hands them to a route.

Routes import from here, never from :mod:`web.app`, so the app factory can import every route without a cycle.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.templating import Jinja2Templates
from pwdlib import PasswordHash

from simulator.engine import Engine
from simulator.exam.attempts import ExamService
from simulator.exam.review import ExamReview
from simulator.settings import Settings
from web.i18n import Catalogues
from web.ratelimit import RateLimiter


@dataclass
class Services:
    """Everything a route needs, created once per app."""

    settings: Settings
    engine: Engine
    hasher: PasswordHash
    limiter: RateLimiter
    templates: Jinja2Templates
    catalogues: Catalogues
    exams: ExamService
    review: ExamReview
    # Streamed customer turns run here rather than in the request's task: a browser that disconnects cancels
    # the request, but the thread carries the turn on to its commit (and interpreter exit waits for it). Turns
    # mostly wait on the model endpoint, so many may run at once.
    answering: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=32, thread_name_prefix="customer")
    )


def services(request: Request) -> Services:
    """The app's services (settings, the engine, templates …)."""
    return request.app.state.services
