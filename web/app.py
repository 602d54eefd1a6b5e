"""The FastAPI app factory: ``create_app(settings, ...)`` wires settings, database, catalogue and engine.

Everything the app uses is passed in or built from ``settings`` here — no module-level state — so tests create
an app per test with fakes (customer, grader, knowledge search, fast password hashing) and a temp data dir.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pwdlib import PasswordHash
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from simulator.errors import NotFound, SimulatorError
from simulator.knowledge.passage import Retriever
from simulator.settings import Settings
from simulator.store import Database, open_database
from simulator.store.users import password_hasher
from web import i18n
from web.auth import CsrfFailed, Forbidden, LoginRequired, csrf_protect
from web.catalogue import Catalogue
from web.practice import CustomerFactory, GradeFunction, Practice
from web.ratelimit import RateLimiter
from web.security import CSRF_FIELD, SecurityHeadersMiddleware, SessionCookieMiddleware, load_secret

log = logging.getLogger("simulator.web")
WEB_DIR = Path(__file__).resolve().parent
MAX_BODY_BYTES = 64 * 1024


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
    catalogues: i18n.Catalogues


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    customer_factory: CustomerFactory | None = None,
    grade: GradeFunction | None = None,
    grader_version: str | None = None,
    retriever: Retriever | Callable[[], Retriever | None] | None = None,
    hasher: PasswordHash | None = None,
    limiter: RateLimiter | None = None,
    force_secure_cookies: bool = False,
    clock: Callable[[], datetime] | None = None,
    warm_up: bool = False,
) -> FastAPI:
    """Build the web app.

    Args:
        settings: Data dir, scenario and knowledge folders, database URL, message limit, default language.
        db: An open database (default: open and migrate ``settings.sqlalchemy_url``).
        customer_factory: Builds the simulated customer for a scenario (default: the engine's offline one).
        grade: Grades a finished transcript (default: the engine's offline grader).
        grader_version: Stored with every grade.
        retriever: Knowledge search for the side panel, or a function returning it when first needed.
        hasher: Password hasher (tests pass a fast one).
        limiter: Per-user rate limiter for messages and searches.
        force_secure_cookies: Mark cookies ``Secure`` even on plain HTTP (behind a TLS proxy that does not
            forward the scheme).
        clock: Returns now in UTC (tests).
        warm_up: On start-up, load the scenario catalogue, embedder, act detector, knowledge index and grader in
            a background thread and then take the start-up heap out of the garbage collector's sight (what
            ``simulator serve`` does); ``app.state.warmed_up`` is set when that is done.
    """
    settings.ensure_data_dir()
    database = db or open_database(settings.sqlalchemy_url, create_dir=settings.data_dir)
    catalogue = Catalogue(settings)
    engine = None
    if customer_factory is None or grade is None:
        from web.engine import OfflineEngine

        engine = OfflineEngine(settings)
        customer_factory = customer_factory or engine.customer
        grade = grade or engine.grade
        grader_version = grader_version or engine.version()
        if retriever is None:
            retriever = engine.knowledge.get
    practice = Practice(
        database,
        catalogue,
        customer_factory,
        grade,
        grader_version=grader_version or "unknown",
        max_chars=settings.max_message_chars,
        clock=clock,
    )
    catalogues = i18n.Catalogues()
    # Autoescape every template: all of them are HTML, and every value in them is data.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(WEB_DIR / "templates")),
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
        max_chars=settings.max_message_chars,
    )
    from web.views import register_filters

    register_filters(env, catalogues.gettext)

    warmed_up = threading.Event()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if warm_up:
            # Serve at once: a restart answers in ~2 s instead of ~8 s (bench/startup.py, docs/deploy.md). The
            # first trainee logs in and picks a scenario meanwhile; a request that needs a part still loading
            # waits for that part only (each is loaded once, under its lock).
            threading.Thread(target=_warm_up, args=(catalogue, engine, warmed_up), name="warm-up", daemon=True).start()
        yield

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
        db=database,
        catalogue=catalogue,
        hasher=hasher or password_hasher(),
        practice=practice,
        retriever=_lazy(retriever),
        limiter=limiter or RateLimiter(),
        templates=templates,
        catalogues=catalogues,
    )
    app.state.warmed_up = warmed_up  # set when the background warm-up (``warm_up=True``) has finished
    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")

    from web.routes import accounts, chat, pages, trainer

    for module in (accounts, pages, chat, trainer):
        app.include_router(module.router)

    _exception_handlers(app)
    # Outermost last: security headers → session cookie → locale → body limit → routes.
    app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(LocaleMiddleware, default=settings.locale)
    app.add_middleware(SessionCookieMiddleware, secret=load_secret(settings), force_secure=force_secure_cookies)
    app.add_middleware(SecurityHeadersMiddleware)
    return app


def _warm_up(catalogue: Catalogue, engine: Any, done: threading.Event) -> None:
    """Load what the first trainee would otherwise wait for, in the order they need it: the scenario catalogue,
    then the engine's embedder, act detector, knowledge index (jieba's dictionary) and grader; then set ``done``.
    """
    started, cpu = time.perf_counter(), time.process_time()
    try:
        catalogue.refresh()
        if engine is not None:
            engine.warm_up()
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


def _lazy(retriever: Retriever | Callable[[], Retriever | None] | None) -> Callable[[], Retriever | None]:
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


# ---------------------------------------------------------------------------------------------------------
# Middleware


class LocaleMiddleware:
    """Set the interface language for this request from the ``lang`` cookie (default: settings)."""

    def __init__(self, app: ASGIApp, default: str):
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            from starlette.requests import HTTPConnection

            i18n.set_locale(HTTPConnection(scope).cookies.get("lang") or self.default)
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Refuse request bodies above ``max_bytes`` with a clear 413 before anything parses them."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(scope, receive, send)
            return
        seen = 0

        async def limited_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await _too_large(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    # Bilingual on purpose: this answer is sent before the language or the user is known.
    msg = "请求过大（上限 64 KB）。Request too large (max 64 KB)."
    await PlainTextResponse(msg, status_code=413)(scope, receive, send)


# ---------------------------------------------------------------------------------------------------------
# Errors: never a traceback, always a page (or a fragment for htmx) that says what to do


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def error_response(request: Request, status: int, message: str) -> Response:
    """An error page, or an error fragment for htmx requests (shown in the page's error area)."""
    from web.views import render

    if _is_htmx(request):
        resp = render(request, "_error.html", {"message": message}, status=status)
        # Put the message into the page's error area instead of wherever the request meant to swap.
        resp.headers["HX-Retarget"] = "#flash"
        resp.headers["HX-Reswap"] = "innerHTML"
        return resp
    try:
        return render(request, "error.html", {"message": message, "status": status}, status=status)
    except Exception:  # the database itself may be the problem: answer without the viewer
        svc: Services = request.app.state.services
        ctx = {"message": message, "status": status, "viewer": None, "csrf_token": ""}
        return svc.templates.TemplateResponse(request, "error.html", ctx, status_code=status)


def _exception_handlers(app: FastAPI) -> None:
    def tr(request: Request, text: str) -> str:
        return request.app.state.services.catalogues.gettext(text)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        target = "/login"
        if request.method == "GET" and request.url.path not in ("/", "/login"):
            from urllib.parse import quote

            target += "?next=" + quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        if _is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return error_response(request, 403, tr(request, "You do not have access to this page."))

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, exc: CsrfFailed) -> Response:
        return error_response(
            request, 403, tr(request, "The form expired or came from another site. Reload the page and try again.")
        )

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        return error_response(request, 404, tr(request, "Not found."))

    @app.exception_handler(SimulatorError)
    async def _simulator(request: Request, exc: SimulatorError) -> Response:
        return error_response(request, 400, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return error_response(request, 404, tr(request, "Not found."))
        if exc.status_code == 405:
            return error_response(request, 405, tr(request, "This action is not allowed here."))
        return error_response(request, exc.status_code, str(exc.detail))

    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return error_response(request, 422, tr(request, "The request was not understood. Reload the page."))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(request, 500, tr(request, "Something went wrong on our side. Please try again."))


def app_from_env() -> FastAPI:
    """The app for ``simulator serve`` (uvicorn factory): settings from ``SIM_*`` environment variables."""
    return create_app(Settings(), warm_up=True)
