"""The FastAPI app factory: ``create_app(settings, ...)`` wires the settings and the engine into the routes.

Everything the app uses is passed in or built from ``settings`` here — no module-level state — so tests create
an app per test with an engine of fakes (customer, grader, knowledge search), fast password hashing and a temp
data dir.
Nothing imports this module back: routes get what they need from :mod:`web.services`, :mod:`web.auth`,
:mod:`web.views` and :mod:`web.errors` (docs/web.md has the map).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from pwdlib import PasswordHash

from simulator.engine import Engine
from simulator.exam.attempts import ExamService
from simulator.exam.review import ExamReview
from simulator.settings import Settings
from simulator.store.users import password_hasher
from web import i18n
from web.auth import csrf_protect
from web.errors import install_error_handlers
from web.middleware import MAX_BODY_BYTES, BodyLimitMiddleware, LocaleMiddleware
from web.ratelimit import RateLimiter
from web.routes import accounts, chat, examiner, pages, trainer, verify
from web.routes import exams as exams_routes
from web.security import SecurityHeadersMiddleware, SessionCookieMiddleware, load_secret
from web.services import Services
from web.views import build_templates

WEB_DIR = Path(__file__).resolve().parent
log = logging.getLogger("simulator.web")


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    hasher: PasswordHash | None = None,
    limiter: RateLimiter | None = None,
    force_secure_cookies: bool = False,
    warm_up: bool = False,
    sweep_every: float | None = 10.0,
) -> FastAPI:
    """Build the web app.

    Args:
        settings: Data dir, scenario and knowledge folders, database URL, message limit, default language.
        engine: The engine (default: built from ``settings``); tests pass one with fakes.
        hasher: Password hasher (tests pass a fast one).
        limiter: Per-user rate limiter for messages and searches.
        force_secure_cookies: Mark cookies ``Secure`` even on plain HTTP (behind a TLS proxy that does not
            forward the scheme).
        warm_up: On start-up, load the scenario catalogue, embedder, act detector, knowledge index and grader in
            a background thread and then take the start-up heap out of the garbage collector's sight (what
            ``simulator serve`` does); ``app.state.warmed_up`` is set when that is done.
        sweep_every: Seconds between two sweeps of the exam clock while serving (close parts past their deadline,
            grade what was submitted, schedule re-certification); None = no sweeper (tests sweep themselves).
    """
    settings.ensure_data_dir()
    engine = engine or Engine(settings)
    engine.store  # noqa: B018 — open and migrate the database now: a broken URL fails at start, not on a page
    catalogues = i18n.Catalogues()
    templates = build_templates(catalogues, max_message_chars=settings.max_message_chars)

    warmed_up = threading.Event()
    exams = ExamService(engine)
    stop = threading.Event()

    def sweeper() -> None:
        # The exam clock: a trainee who closed the browser is still submitted at the deadline and graded.
        while not stop.wait(sweep_every or 10.0):
            try:
                exams.sweep()
            except Exception:
                log.exception("exam sweep failed")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if warm_up:
            # Serve at once: a restart answers in ~2 s instead of ~8 s (bench/startup.py, docs/deploy.md). The
            # first trainee logs in and picks a scenario meanwhile; a request that needs a part still loading
            # waits for that part only (each is loaded once, under the engine's lock).
            threading.Thread(
                target=_warm_up, args=(engine, exams, warmed_up), name="warm-up", daemon=True
            ).start()
        thread = None
        if sweep_every:
            thread = threading.Thread(target=sweeper, name="exam-sweeper", daemon=True)
            thread.start()
        yield
        stop.set()
        if thread is not None:
            thread.join(timeout=5)

    app = FastAPI(
        lifespan=lifespan,
        title="Customer-service training simulator",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(csrf_protect)],
    )
    app.state.services = Services(
        settings=settings,
        engine=engine,
        hasher=hasher or password_hasher(),
        limiter=limiter or RateLimiter(),
        templates=templates,
        catalogues=catalogues,
        exams=exams,
        review=ExamReview(exams),
    )
    app.state.warmed_up = warmed_up
    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")

    for module in (accounts, pages, chat, trainer, exams_routes, examiner, verify):
        app.include_router(module.router)

    install_error_handlers(app)
    # Outermost last: security headers → session cookie → locale → body limit → routes.
    app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(LocaleMiddleware, default=settings.locale)
    app.add_middleware(SessionCookieMiddleware, secret=load_secret(settings), force_secure=force_secure_cookies)
    app.add_middleware(SecurityHeadersMiddleware)
    return app


def _warm_up(engine: Engine, exams: ExamService, done: threading.Event) -> None:
    """Load what the first trainee would otherwise wait for (see :meth:`Engine.warm_up`) and the exam files (the
    first exam page need not load every one), then set ``done``."""
    started, cpu = time.perf_counter(), time.process_time()
    try:
        engine.warm_up()
        exams.catalogue.refresh()
    except Exception:  # a broken part fails again, with its message, in the request that needs it
        log.exception("warming up failed; requests load what they need themselves")
    finally:
        # Everything loaded so far (jieba's dictionary, the index, templates) lives as long as the process:
        # without this, each full collection walked it again and stopped every thread for ~150-220 ms
        # (8 such pauses in 30 s with 100 simulated trainees, bench/web_load.py).
        gc.freeze()
        done.set()
    # uvicorn's logger: its console handler shows INFO lines next to "Application startup complete."
    logging.getLogger("uvicorn.error").info(
        "Warmed up in %.2f s (%.2f CPU s in the process meanwhile).",
        time.perf_counter() - started,
        time.process_time() - cpu,
    )


def app_from_env() -> FastAPI:
    """The app for ``simulator serve`` (uvicorn factory): settings from ``SIM_*`` environment variables."""
    return create_app(Settings(), warm_up=True)
