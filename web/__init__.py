"""The trainee web app: FastAPI + Jinja2 + htmx. Build it with :func:`web.app.create_app`."""

from web.app import create_app

__all__ = ["create_app"]
