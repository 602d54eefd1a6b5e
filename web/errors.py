"""Errors, in one place: every exception a request can raise becomes a page, or an htmx fragment shown in the
page's error area — never a traceback (those go to the log).

Routes raise (``NotFound``, ``Forbidden``, a ``SimulatorError`` …) or call :func:`error_response` for an
error they answer themselves; :func:`install_error_handlers` maps the exceptions to answers.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from simulator.errors import NotFound, SimulatorError
from web.auth import CsrfFailed, Forbidden, LoginRequired
from web.services import services
from web.views import is_htmx, render

log = logging.getLogger("simulator.web")


def error_response(request: Request, status: int, message: str) -> Response:
    """An error page, or an error fragment for htmx requests (shown in the page's error area)."""
    if is_htmx(request):
        resp = render(request, "_error.html", {"message": message}, status=status)
        # Put the message into the page's error area instead of wherever the request meant to swap.
        resp.headers["HX-Retarget"] = "#flash"
        resp.headers["HX-Reswap"] = "innerHTML"
        return resp
    try:
        return render(request, "error.html", {"message": message, "status": status}, status=status)
    except Exception:  # the database itself may be the problem: answer without the viewer
        ctx = {"message": message, "status": status, "viewer": None, "csrf_token": ""}
        return services(request).templates.TemplateResponse(request, "error.html", ctx, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception a route can raise to an answer that says what happened and what to do."""

    def tr(request: Request, text: str) -> str:
        return services(request).catalogues.gettext(text)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        target = "/login"
        if request.method == "GET" and request.url.path not in ("/", "/login"):
            target += "?next=" + quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        if is_htmx(request):
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

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return error_response(request, 422, tr(request, "The request was not understood. Reload the page."))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(request, 500, tr(request, "Something went wrong on our side. Please try again."))
