"""Who is asking, and may they: the viewer dependency, role checks and the CSRF check.

Every route declares its access with one of :func:`require_trainee`, :func:`require_trainer`,
:func:`require_exam_owner`, :func:`require_admin` (or is in :data:`PUBLIC_PATHS`);
``tests/test_web_security.py`` walks the route table to prove it. The CSRF check runs as an app-wide dependency
on every unsafe method.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Request

from simulator.store.users import UserRole, get_user
from web.security import CSRF_FIELD, CSRF_HEADER, CookieSession, same_token
from web.services import services

# /verify: anyone holding a certificate's code may check it (valid / expired / revoked) without an account.
PUBLIC_PATHS = {"/login", "/logout", "/lang", "/healthz", "/verify", "/verify/{code}"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class LoginRequired(Exception):
    """No valid session: send the visitor to the login page."""


class Forbidden(Exception):
    """Logged in, but this page is not for their role or not theirs."""


class CsrfFailed(Exception):
    """A state-changing request without the right CSRF token."""


@dataclass(frozen=True)
class Viewer:
    """The logged-in user, as routes and templates see them."""

    id: int
    username: str
    display_name: str
    role: UserRole
    locale: str | None

    def at_least(self, role: UserRole) -> bool:
        """True when the viewer's role includes ``role``."""
        return self.role.rank >= role.rank

    @property
    def is_trainer(self) -> bool:
        """Trainer, exam owner or admin."""
        return self.at_least(UserRole.TRAINER)

    @property
    def is_exam_owner(self) -> bool:
        """Exam owner or admin."""
        return self.at_least(UserRole.EXAM_OWNER)


def cookie(request: Request) -> CookieSession:
    """The decoded session cookie."""
    return request.scope["session"]


def optional_viewer(request: Request) -> Viewer | None:
    """The logged-in user or ``None`` (a stale or forged cookie counts as logged out)."""
    cached = request.scope.get("sim_viewer", False)
    if cached is not False:
        return cached
    sess = cookie(request)
    viewer: Viewer | None = None
    uid = sess.get("u")
    if isinstance(uid, int):
        with services(request).engine.store.read() as s:
            user = get_user(s, uid)
            if user is not None and user.active and user.session_version == sess.get("v"):
                viewer = Viewer(user.id, user.username, user.display_name, UserRole(user.role), user.locale)
    request.scope["sim_viewer"] = viewer
    return viewer


def _require(role: UserRole):
    def dependency(request: Request) -> Viewer:
        viewer = optional_viewer(request)
        if viewer is None:
            raise LoginRequired()
        if not viewer.at_least(role):
            raise Forbidden()
        return viewer

    dependency.__name__ = f"require_{role.value}"
    return dependency


require_trainee = _require(UserRole.TRAINEE)
require_trainer = _require(UserRole.TRAINER)
require_exam_owner = _require(UserRole.EXAM_OWNER)
require_admin = _require(UserRole.ADMIN)

TraineeDep = Depends(require_trainee)
TrainerDep = Depends(require_trainer)
ExamOwnerDep = Depends(require_exam_owner)
AdminDep = Depends(require_admin)


async def csrf_protect(request: Request) -> None:
    """Refuse an unsafe request unless it carries the session's CSRF token (form field or header).

    The token is bound to the signed cookie, so another site can neither read nor forge it; ``SameSite=Lax``
    on the cookie is a second layer.
    """
    if request.method not in UNSAFE:
        return
    expected = cookie(request).get("c")
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not same_token(sent, expected):
        raise CsrfFailed()
