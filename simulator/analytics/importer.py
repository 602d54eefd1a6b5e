"""Import a shop's real chats: read the files, map the agents to accounts, store everything in one transaction and
queue the QA job that grades them.

All or nothing: if any file has an error, or an agent has no account and may not be created, nothing is stored
and every problem is reported (``path:line:col`` and how to fix it). Conversations this shop imported before
(same conversation id) are skipped, so importing the same day twice is harmless.

Agents are matched in this order: an explicit mapping (``--agent 'NAME=username'``), an alias stored by an
earlier import, an account whose user name or display name is the name in the log — or the part after the
colon of a sub-account name (``青禾旗舰店:小满`` → 小满). An agent still unknown is created as a trainee account
(with ``create_agents``; they log in once someone sets their password with ``simulator user reset-password``)
or is an error.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from pwdlib import PasswordHash
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from simulator.analytics.chatlog import ImportedChat, ParseResult, TextLogFormat, parse_file, parse_source
from simulator.analytics.kpis import conversion
from simulator.errors import Problem, ValidationFailed
from simulator.session import SessionKind, SessionStatus
from simulator.store.database import Database
from simulator.store.groups import Group, add_members
from simulator.store.imports import ImportRecord, RealChat, alias_map, existing_external_ids, set_alias
from simulator.store.jobs import Job, create_job
from simulator.store.schema import clean_text, new_uuid, utcnow
from simulator.store.sessions import SessionRecord, TurnRecord
from simulator.store.users import User, UserRole, create_user
from simulator.text import count_cjk

QA_JOB = "qa"


@dataclass
class ImportOptions:
    """How to import."""

    format: str | None = None
    shop: str = ""
    text_format: TextLogFormat | None = None
    agent_map: dict[str, str] = field(default_factory=dict)
    create_agents: bool = False
    group_id: int | None = None
    created_by: int | None = None
    grade: bool = True


@dataclass
class ImportReport:
    """What an import did."""

    import_id: int
    job_id: int | None
    conversations: int
    messages: int
    already_imported: int
    warnings: list[Problem]
    agents: dict[str, str]
    created: list[str]


class ImportFailed(ValidationFailed):
    """The files had errors (or agents without accounts); nothing was imported."""


def parse_agent_map(pairs: Sequence[str]) -> dict[str, str]:
    """``NAME=username`` pairs (one per line or option) into a mapping; raises ImportFailed on a malformed one."""
    out: dict[str, str] = {}
    problems = []
    for n, pair in enumerate(pairs, start=1):
        if not pair.strip():
            continue
        name, sep, user = pair.rpartition("=")
        if not sep or not name.strip() or not user.strip():
            problems.append(Problem("agent mapping", n, 0, "", f"{pair!r} is not NAME=username"))
            continue
        out[name.strip()] = user.strip().lower()
    if problems:
        raise ImportFailed(problems)
    return out


def read_files(paths: Sequence[Path], options: ImportOptions, tz: str) -> ParseResult:
    """Parse every file."""
    result = ParseResult()
    for p in paths:
        result.extend(parse_file(p, options.format, tz, options.text_format))
    return result


def read_sources(sources: Sequence[tuple[str, bytes]], options: ImportOptions, tz: str) -> ParseResult:
    """Parse uploaded files (name, content)."""
    result = ParseResult()
    for name, raw in sources:
        result.extend(parse_source(name, raw, options.format, tz, options.text_format))
    return result


def _sub_account(alias: str) -> str:
    return re.split(r"[:：]", alias)[-1].strip()


def _match_accounts(s: Session, aliases: Sequence[str], options: ImportOptions) -> tuple[dict[str, int], list[str]]:
    """alias → user id for the aliases we can match; the ones we cannot."""
    known = alias_map(s)
    users = list(s.scalars(select(User)))
    by_name = {u.username: u.id for u in users}
    by_display: dict[str, list[int]] = {}
    for u in users:
        by_display.setdefault(u.display_name, []).append(u.id)
    found: dict[str, int] = {}
    unknown: list[str] = []
    for alias in aliases:
        if alias in options.agent_map:
            uid = by_name.get(options.agent_map[alias])
            if uid is not None:
                found[alias] = uid
            else:
                unknown.append(alias)
            continue
        if alias in known:
            found[alias] = known[alias]
            continue
        for key in dict.fromkeys([alias, _sub_account(alias)]):
            if key.lower() in by_name:
                found[alias] = by_name[key.lower()]
                break
            if len(by_display.get(key, [])) == 1:
                found[alias] = by_display[key][0]
                break
        else:
            unknown.append(alias)
    return found, unknown


def _new_agent(s: Session, hasher: PasswordHash, alias: str) -> User:
    taken = {u for u in s.scalars(select(User.username).where(User.username.like("agent%")))}
    n = (s.scalar(select(func.count(User.id))) or 0) + 1
    while f"agent{n}" in taken:
        n += 1
    return create_user(
        s,
        hasher,
        f"agent{n}",
        secrets.token_urlsafe(24),
        role=UserRole.TRAINEE,
        display_name=_sub_account(alias) or alias,
    )


def _locale(chat: ImportedChat) -> str:
    text = "".join(t.text for t in chat.turns[:10])
    return "zh-CN" if count_cjk(text) * 5 >= len(text.replace(" ", "")) else "en"


def _store(s: Session, chats: Sequence[ImportedChat], users: dict[str, int], import_id: int, shop: str) -> list[str]:
    """Insert the conversations (sessions of kind ``real``), their turns and their origin; returns the session ids."""
    now = utcnow()
    sessions, turns, origins, ids = [], [], [], []
    for chat in chats:
        sid = new_uuid()
        ids.append(sid)
        last = chat.turns[-1].at or 0.0
        bought = conversion(chat.outcome)
        ended = chat.started_at + timedelta(seconds=last)
        sessions.append(
            {
                "id": sid,
                "kind": SessionKind.REAL.value,
                "user_id": users[chat.agent],
                "scenario_id": "",
                "scenario_digest": "",
                "seed": 0,
                "variables": {},
                "locale": _locale(chat),
                "status": SessionStatus.FINISHED.value,
                "outcome": None if bought is None else ("bought" if bought else "left"),
                "end_reason": "imported",
                "customer": "real",
                "customer_state": None,
                "answered_seq": len(chat.turns),
                "last_seq": len(chat.turns),
                "exam_attempt_id": None,
                "started_at": chat.started_at,
                "updated_at": now,
                "ended_at": ended,
            }
        )
        for seq, t in enumerate(chat.turns, start=1):
            turns.append(
                {
                    "session_id": sid,
                    "seq": seq,
                    "role": t.role.value,
                    "kind": "message",
                    "text": clean_text(t.text),
                    "created_at": chat.started_at + timedelta(seconds=t.at or 0.0),
                    "response_ms": None,
                    "meta": {},
                }
            )
        origins.append(
            {
                "session_id": sid,
                "import_id": import_id,
                "shop": chat.shop or shop,
                "external_id": chat.external_id,
                "agent_alias": chat.agent,
                "satisfaction": chat.satisfaction,
            }
        )
    for table, rows in ((SessionRecord, sessions), (TurnRecord, turns), (RealChat, origins)):
        for i in range(0, len(rows), 2000):
            s.execute(insert(table), rows[i : i + 2000])
    return ids


def import_chats(
    db: Database,
    parsed: ParseResult,
    options: ImportOptions,
    *,
    hasher: PasswordHash,
    files: str,
) -> ImportReport:
    """Store what :func:`read_files` / :func:`read_sources` parsed, in one transaction (see the module doc).

    Raises:
        ImportFailed: the files had errors, or agents have no account; nothing was stored.
    """
    errors = list(parsed.errors)
    if errors:
        raise ImportFailed(errors)
    # Within one import a conversation id counts once (the first wins; a later duplicate is a warning).
    seen: set[tuple[str, str]] = set()
    chats: list[ImportedChat] = []
    warnings = list(parsed.warnings)
    for chat in parsed.chats:
        key = (chat.shop or options.shop, chat.external_id)
        if key in seen:
            path, line = _split(chat.where)
            warnings.append(
                Problem(
                    path,
                    line,
                    0,
                    "",
                    f"conversation {chat.external_id!r} appears twice — the first is imported",
                    "warning",
                )
            )
            continue
        seen.add(key)
        chats.append(chat)
    with db.write() as s:
        aliases = list(dict.fromkeys(c.agent for c in chats))
        users, unknown = _match_accounts(s, aliases, options)
        bad_map = [a for a in unknown if a in options.agent_map]
        if bad_map or (unknown and not options.create_agents):
            where = {c.agent: c.where for c in reversed(chats)}
            problems = []
            for a in unknown:
                path, line = _split(where[a])
                if a in options.agent_map:
                    msg = f"agent {a!r} is mapped to {options.agent_map[a]!r}, which is not an account — check the name"
                else:
                    msg = (
                        f"agent {a!r} has no account — map it (--agent '{a}=USERNAME', or in the import form) "
                        "or let the import create accounts (--create-agents)"
                    )
                problems.append(Problem(path, line, 0, "", msg))
            raise ImportFailed(problems)
        group = s.get(Group, options.group_id) if options.group_id is not None else None
        if options.group_id is not None and group is None:
            raise ImportFailed([Problem("import", 0, 0, "", f"no group with id {options.group_id}")])
        created: list[str] = []
        for a in unknown:
            user = _new_agent(s, hasher, a)
            users[a] = user.id
            created.append(user.username)
        for a, uid in users.items():
            set_alias(s, a, uid)
        if group is not None:
            add_members(s, group.id, list(dict.fromkeys(users.values())))
        # Already imported (by shop and conversation id) — skipped.
        fresh: list[ImportedChat] = []
        already = 0
        by_shop: dict[str, list[ImportedChat]] = {}
        for c in chats:
            by_shop.setdefault(c.shop or options.shop, []).append(c)
        for shop, group_chats in by_shop.items():
            there = existing_external_ids(s, shop, [c.external_id for c in group_chats])
            for c in group_chats:
                if c.external_id in there:
                    already += 1
                else:
                    fresh.append(c)
        record = ImportRecord(
            created_by=options.created_by,
            files=clean_text(files)[:500],
            format=options.format or "auto",
            shop=clean_text(options.shop)[:80],
            conversations=len(fresh),
            messages=sum(len(c.turns) for c in fresh),
            skipped=already + len(parsed.warnings),
            first_at=min((c.started_at for c in fresh), default=None),
            last_at=max((c.started_at for c in fresh), default=None),
        )
        s.add(record)
        s.flush()
        _store(s, fresh, users, record.id, options.shop)
        job: Job | None = None
        if fresh and options.grade:
            job = create_job(s, QA_JOB, import_id=record.id, total=len(fresh), created_by=options.created_by)
        names = {u.id: u.username for u in s.scalars(select(User).where(User.id.in_(list(users.values()))))}
        return ImportReport(
            import_id=record.id,
            job_id=job.id if job is not None else None,
            conversations=len(fresh),
            messages=record.messages,
            already_imported=already,
            warnings=warnings,
            agents={a: names.get(uid, str(uid)) for a, uid in users.items()},
            created=created,
        )


def _split(where: str) -> tuple[str, int]:
    path, _, line = where.rpartition(":")
    return (path, int(line)) if line.isdigit() else (where, 0)


def latest_time(parsed: ParseResult) -> datetime | None:
    """The latest conversation start in what was parsed."""
    return max((c.started_at for c in parsed.chats), default=None)
