"""ASGI middleware of the app that is not about security: the request's interface language and the body limit.

The security middleware (session cookie, security headers) lives in :mod:`web.security`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from web import i18n

MAX_BODY_BYTES = 64 * 1024


class LocaleMiddleware:
    """Set the interface language for this request from the ``lang`` cookie (default: settings)."""

    def __init__(self, app: ASGIApp, default: str):
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            i18n.set_locale(HTTPConnection(scope).cookies.get("lang") or self.default)
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Refuse request bodies above ``max_bytes`` with a clear 413 before anything parses them; ``paths`` gives
    some exact paths a limit of their own (file uploads)."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, paths: dict[str, int] | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.paths = dict(paths or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.paths.get(scope.get("path", ""), self.max_bytes)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(scope, receive, send, limit)
            return
        seen = 0

        async def limited_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await _too_large(scope, receive, send, limit)


class _BodyTooLarge(Exception):
    pass


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int = MAX_BODY_BYTES) -> None:
    # Bilingual on purpose: this answer is sent before the language or the user is known.
    size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
    msg = f"请求过大（上限 {size}）。Request too large (max {size})."
    await PlainTextResponse(msg, status_code=413)(scope, receive, send)
