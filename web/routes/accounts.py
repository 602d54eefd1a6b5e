"""Log in, log out, switch language, health check."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from simulator.store.users import authenticate
from web import i18n
from web.auth import cookie, optional_viewer
from web.security import new_csrf
from web.services import services
from web.views import render

router = APIRouter()


def safe_next(target: str | None) -> str:
    """Only same-site paths are allowed as a redirect target (no open redirect)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/healthz")
def healthz() -> Response:
    """Liveness probe (public)."""
    return PlainTextResponse("ok")


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    """The login form (a logged-in visitor goes straight on)."""
    if optional_viewer(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "error": None})


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=80)] = "",
    password: Annotated[str, Form(max_length=300)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Check the password; on success issue a fresh session (new CSRF token) and remember the language."""
    svc = services(request)
    limiter_key = ("login", request.client.host if request.client else "?", username.strip().lower())
    if not svc.limiter.allow(limiter_key):
        msg = svc.catalogues.gettext("Too many attempts. Wait a minute and try again.")
        return render(request, "login.html", {"next": safe_next(next), "error": msg}, status=429)
    with svc.engine.store.read() as s:
        user = authenticate(s, svc.hasher, username, password)
        data = None if user is None else (user.id, user.session_version, user.locale, user.role)
    if data is None:
        msg = svc.catalogues.gettext("Wrong user name or password.")
        return render(request, "login.html", {"next": safe_next(next), "error": msg}, status=401)
    uid, version, locale, role = data
    # A new CSRF token at login: a token an attacker planted before login is useless afterwards.
    cookie(request).set(u=uid, v=version, c=new_csrf())
    target = safe_next(next)
    if target == "/" and role != "trainee":
        target = "/trainer"  # a trainer's home is the team dashboard
    resp = RedirectResponse(target, status_code=303)
    if locale in i18n.LANGUAGES:
        resp.set_cookie("lang", locale, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return resp


@router.post("/logout")
def logout(request: Request) -> Response:
    """Forget the session."""
    cookie(request).set(c=new_csrf())
    return RedirectResponse("/login", status_code=303)


@router.post("/lang")
def set_language(
    request: Request,
    lang: Annotated[str, Form(max_length=10)],
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Switch the interface language (kept in a cookie, and on the account when logged in)."""
    code = lang if lang in i18n.LANGUAGES else i18n.DEFAULT
    viewer = optional_viewer(request)
    if viewer is not None:
        from simulator.store.users import get_user

        with services(request).engine.store.write() as s:
            user = get_user(s, viewer.id)
            if user is not None:
                user.locale = code
    resp = RedirectResponse(safe_next(next), status_code=303)
    resp.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return resp
