"""``simulator user`` — create accounts, reset passwords, list users (run on the server, against its data dir)."""

from __future__ import annotations

from typing import Annotated

import typer

from simulator.settings import Settings
from simulator.store.users import UserRole


def register(app: typer.Typer) -> None:
    """Add the ``user`` sub-commands to the CLI."""
    user_app = typer.Typer(help="Manage accounts of the web app.", no_args_is_help=True)
    app.add_typer(user_app, name="user")

    def _db():
        from simulator.store import open_database

        settings = Settings()
        return open_database(settings.sqlalchemy_url, create_dir=settings.ensure_data_dir())

    @user_app.command("create")
    def create(
        username: Annotated[str, typer.Argument(help="Login name: lower-case letters, digits, '.', '_', '-'.")],
        role: Annotated[UserRole, typer.Option(help="trainee, trainer, exam-owner or admin.")] = UserRole.TRAINEE,
        name: Annotated[str | None, typer.Option(help="Display name (e.g. 小满).")] = None,
        password: Annotated[
            str | None, typer.Option(help="Password (asked for when omitted; at least 8 characters).")
        ] = None,
    ) -> None:
        """Create an account."""
        from simulator.store.users import create_user, password_hasher

        secret = password or typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        db = _db()
        try:
            with db.write() as s:
                user = create_user(s, password_hasher(), username, secret, role=role, display_name=name)
                typer.echo(f"created {user.username} ({user.role})")
        finally:
            db.dispose()

    @user_app.command("reset-password")
    def reset_password(
        username: Annotated[str, typer.Argument(help="The account.")],
        password: Annotated[str | None, typer.Option(help="New password (asked for when omitted).")] = None,
    ) -> None:
        """Set a new password; the user is logged out everywhere."""
        from simulator.store.users import password_hasher, set_password

        secret = password or typer.prompt("New password", hide_input=True, confirmation_prompt=True)
        db = _db()
        try:
            with db.write() as s:
                user = set_password(s, password_hasher(), username, secret)
                typer.echo(f"password of {user.username} changed; their sessions are logged out")
        finally:
            db.dispose()

    @user_app.command("list")
    def list_(role: Annotated[UserRole | None, typer.Option(help="Only this role.")] = None) -> None:
        """List accounts."""
        from simulator.store.users import list_users

        db = _db()
        try:
            with db.read() as s:
                for u in list_users(s, role):
                    state = "" if u.active else "  (disabled)"
                    typer.echo(f"{u.username:<20} {u.role:<8} {u.display_name}{state}")
        finally:
            db.dispose()
