"""User accounts: the ``users`` table; create, authenticate (argon2 via pwdlib), reset passwords, list."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Boolean, DateTime, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from simulator.errors import NotFound, SimulatorError
from simulator.store.schema import Base, clean_text, utcnow


class UserRole(StrEnum):
    """What a user may do. Each role includes the ones before it: an exam owner (the 培训/质检主管 who certifies new
    agents) can do everything a trainer can, and an admin everything an exam owner can."""

    TRAINEE = "trainee"
    TRAINER = "trainer"
    EXAM_OWNER = "exam-owner"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """0 trainee, 1 trainer, 2 exam owner, 3 admin."""
        return list(UserRole).index(self)


class User(Base):
    """A person who logs in."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(16), default=UserRole.TRAINEE.value)
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(8), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on password reset / deactivation: every cookie carrying an older value stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def role_enum(self) -> UserRole:
        """The role as an enum."""
        return UserRole(self.role)


USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,39}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 256


class AccountError(SimulatorError):
    """A user name or password that cannot be used (says which rule it breaks)."""


def password_hasher(*, fast: bool = False) -> PasswordHash:
    """The argon2id hasher. ``fast`` lowers the cost for tests only (never for real accounts)."""
    if fast:
        return PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    return PasswordHash((Argon2Hasher(),))


def check_username(username: str) -> str:
    """Normalise and check a user name; raises :class:`AccountError` naming the rule."""
    name = username.strip().lower()
    if not USERNAME_RE.match(name):
        raise AccountError(
            f"user name {username!r} is not allowed — use 2–40 lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_password(password: str) -> None:
    """Raise :class:`AccountError` unless the password is long enough (and not absurdly long)."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password too short — use at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"password too long — at most {MAX_PASSWORD} characters")


def create_user(
    s: Session,
    hasher: PasswordHash,
    username: str,
    password: str,
    *,
    role: UserRole | str = UserRole.TRAINEE,
    display_name: str | None = None,
    locale: str | None = None,
) -> User:
    """Create an account. Raises :class:`AccountError` for a taken or invalid name or a weak password."""
    name = check_username(username)
    check_password(password)
    try:
        role_value = UserRole(role).value
    except ValueError:
        raise AccountError(f"unknown role {role!r} — use one of: {', '.join(r.value for r in UserRole)}") from None
    if s.scalar(select(User.id).where(User.username == name)) is not None:
        raise AccountError(f"user name '{name}' is taken — pick another or reset that user's password")
    user = User(
        username=name,
        display_name=clean_text(display_name or name).strip()[:80] or name,
        role=role_value,
        password_hash=hasher.hash(password),
        locale=locale,
        active=True,
        session_version=1,
    )
    s.add(user)
    s.flush()
    return user


def authenticate(s: Session, hasher: PasswordHash, username: str, password: str) -> User | None:
    """The active user with this name and password, or ``None``.

    A missing user still costs one hash verification so response time does not reveal which names exist.
    """
    name = username.strip().lower()
    user = s.scalar(select(User).where(User.username == name))
    if user is None or not user.active:
        hasher.verify(password, _dummy_hash(hasher))
        return None
    if len(password) > MAX_PASSWORD or not hasher.verify(password, user.password_hash):
        return None
    return user


_DUMMY: dict[int, str] = {}


def _dummy_hash(hasher: PasswordHash) -> str:
    key = id(hasher)
    if key not in _DUMMY:
        _DUMMY[key] = hasher.hash("not-a-real-password")
    return _DUMMY[key]


def set_password(s: Session, hasher: PasswordHash, username: str, password: str) -> User:
    """Set a new password and log the user out everywhere (their old cookies stop working)."""
    check_password(password)
    user = get_user_by_name(s, username)
    user.password_hash = hasher.hash(password)
    user.session_version += 1
    return user


def get_user(s: Session, user_id: int) -> User | None:
    """The user with this id, or ``None``."""
    return s.get(User, user_id)


def get_user_by_name(s: Session, username: str) -> User:
    """The user with this name, or :class:`NotFound`."""
    user = s.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"no user '{username}' — list users with `simulator user list`")
    return user


def list_users(s: Session, role: UserRole | str | None = None) -> Sequence[User]:
    """Users ordered by name, optionally only one role."""
    q = select(User).order_by(User.username)
    if role is not None:
        q = q.where(User.role == UserRole(role).value)
    return s.scalars(q).all()


def count_users(s: Session) -> int:
    """How many accounts exist."""
    return s.scalar(select(func.count(User.id))) or 0
