"""Demo accounts created on the first start of a demo set-up (``Settings.demo``), documented in docs/web.md."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pwdlib import PasswordHash

from simulator.store.assignments import create_assignment
from simulator.store.database import Database, advisory_lock
from simulator.store.exam_reviews import audit
from simulator.store.exams import create_window
from simulator.store.groups import add_members, create_group
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
    DemoAccount("zhou", "demo1234", UserRole.EXAM_OWNER, "周主管"),
    DemoAccount("admin", "demo1234", UserRole.ADMIN, "管理员"),
)

# The new-hire cohort of the two demo trainees, and the certifications scheduled for it (two weeks from the first
# start), so the demo trainees can take an exam at once and the exam owner has something to watch.
DEMO_GROUP = "2026-12 新人班"
DEMO_EXAMS = ("qinghe-newhire-cert", "northwind-newhire-cert")
DEMO_WINDOW_DAYS = 14

# The trainer's first assignment for the first trainee, so "assigned first" is visible in the demo.
DEMO_ASSIGNMENT = "presale-size-hesitant-office"


def ensure_demo_accounts(
    db: Database, hasher: PasswordHash, *, assignable: set[str] | None = None, exams: set[str] | None = None
) -> list[DemoAccount]:
    """Create the demo accounts if the database has no users yet; returns the accounts created.

    Args:
        db: The (migrated) database.
        hasher: Password hasher.
        assignable: Usable scenario ids; the demo assignment is made only if its scenario is among them.
        exams: Usable exam ids; the demo certifications are scheduled for the demo cohort only if they are among
            them (None: none are scheduled).
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
        group = create_group(s, DEMO_GROUP, trainer_id=users["laowang"].id)
        add_members(s, group.id, [users["xiaoman"].id, users["ajie"].id])
        now = utcnow()
        for exam_id in DEMO_EXAMS:
            if exams is not None and exam_id in exams:
                window = create_window(
                    s,
                    exam_id=exam_id,
                    opens_at=now,
                    closes_at=now + timedelta(days=DEMO_WINDOW_DAYS),
                    group_id=group.id,
                    created_by=users["zhou"].id,
                    note="新人上岗认证：两周内完成",
                )
                audit(
                    s,
                    "schedule",
                    actor_id=users["zhou"].id,
                    exam_id=exam_id,
                    window_id=window.id,
                    reason="demo",
                    detail={"group_id": group.id},
                    at=now,
                )
    return list(DEMO_ACCOUNTS)
