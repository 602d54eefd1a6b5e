"""Signed session cookies, CSRF tokens, security headers and the cookie-signing key.

The session cookie holds only ``{"u": user id, "v": session version, "c": CSRF token}``, signed (HMAC) with a
timestamp so it expires. It is ``HttpOnly`` and ``SameSite=Lax`` always and ``Secure`` whenever the request
came over HTTPS (directly or through a proxy with ``--proxy-headers``) or ``force_secure`` is set — so the
same build works on ``http://127.0.0.1`` for a laptop demo and behind TLS in production. A password reset bumps
the user's session version, which invalidates every cookie issued before it.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

import itsdangerous
from itsdangerous.exc import BadSignature
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulator.settings import Settings

COOKIE = "sim_session"
MAX_AGE = 7 * 24 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

# No inline scripts or styles anywhere: the only scripts are our own and the vendored libraries.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def load_secret(settings: Settings) -> str:
    """The cookie-signing key: ``SIM_SECRET_KEY`` if set, else one generated once and kept in the data dir."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = settings.ensure_data_dir() / "secret_key"
    if not path.exists():
        # O_EXCL: two instances starting together must not both write a key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
    return Path(path).read_text().strip()


def new_csrf() -> str:
    """A fresh random CSRF token."""
    return secrets.token_urlsafe(24)


def same_token(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two tokens (False if either is missing)."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


class CookieSession(dict[str, Any]):
    """The decoded cookie; remembers whether it was changed so the response re-sends it only then."""

    modified = False

    def set(self, **values: Any) -> None:
        """Replace the content (login, logout)."""
        self.clear()
        self.update(values)
        self.modified = True


class SessionCookieMiddleware:
    """Decode the signed cookie into ``scope["session"]`` and write it back when it changed."""

    def __init__(self, app: ASGIApp, secret: str, *, force_secure: bool = False, max_age: int = MAX_AGE):
        self.app = app
        self.signer = itsdangerous.TimestampSigner(secret, salt="sim-session")
        self.force_secure = force_secure
        self.max_age = max_age

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        session = CookieSession()
        raw = conn.cookies.get(COOKIE)
        if raw:
            try:
                data = self.signer.unsign(raw.encode(), max_age=self.max_age)
                loaded = json.loads(base64.urlsafe_b64decode(data))
                if isinstance(loaded, dict):
                    session.update(loaded)
            except (BadSignature, ValueError):
                pass
        if not session.get("c"):
            session["c"] = new_csrf()
            session.modified = True
        scope["session"] = session
        secure = self.force_secure or scope.get("scheme") == "https"

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start" and session.modified:
                headers = MutableHeaders(scope=message)
                value = self.signer.sign(base64.urlsafe_b64encode(json.dumps(dict(session)).encode())).decode()
                flags = "; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")
                headers.append("Set-Cookie", f"{COOKIE}={value}; Path=/; Max-Age={self.max_age}{flags}")
            await send(message)

        await self.app(scope, receive, send_wrapper)


class SecurityHeadersMiddleware:
    """CSP, no framing, no MIME sniffing, no referrer leaks; ``charset=utf-8`` on every HTML page."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CSP)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "same-origin")
                if scope.get("scheme") == "https":
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000")
            await send(message)

        await self.app(scope, receive, send_wrapper)
