"""Demo accounts created on the first start of a demo set-up (``Settings.demo``), documented in docs/web.md."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pwdlib import PasswordHash

from simulator.store.assignments import create_assignment
from simulator.store.database import Database, advisory_lock
from simulator.store.schema import utcnow
from simulator.store.users import UserRole, count_users, create_user


@dataclass(frozen=True)
class DemoAccount:
    """One demo login."""

    username: str
    password: str
    role: UserRole
    display_name: str


DEMO_ACCOUNTS = (
    DemoAccount("xiaoman", "demo1234", UserRole.TRAINEE, "小满"),
    DemoAccount("ajie", "demo1234", UserRole.TRAINEE, "阿杰"),
    DemoAccount("laowang", "demo1234", UserRole.TRAINER, "老王"),
    DemoAccount("admin", "demo1234", UserRole.ADMIN, "管理员"),
)

# The trainer's first assignment for the first trainee, so "assigned first" is visible in the demo.
DEMO_ASSIGNMENT = "presale-size-hesitant-office"


def ensure_demo_accounts(
    db: Database, hasher: PasswordHash, *, assignable: set[str] | None = None
) -> list[DemoAccount]:
    """Create the demo accounts if the database has no users yet; returns the accounts created.

    Args:
        db: The (migrated) database.
        hasher: Password hasher.
        assignable: Usable scenario ids; the demo assignment is made only if its scenario is among them.
    """
    with db.write() as s:
        advisory_lock(s, "demo-accounts")  # two instances starting on an empty database create them once
        if count_users(s) > 0:
            return []
        users = {
            a.username: create_user(s, hasher, a.username, a.password, role=a.role, display_name=a.display_name)
            for a in DEMO_ACCOUNTS
        }
        if assignable is None or DEMO_ASSIGNMENT in assignable:
            create_assignment(
                s,
                trainer_id=users["laowang"].id,
                trainee_id=users["xiaoman"].id,
                scenario_id=DEMO_ASSIGNMENT,
                due_at=utcnow() + timedelta(days=3),
                note="先练这个：问清身高体重再推荐尺码",
            )
    return list(DEMO_ACCOUNTS)
