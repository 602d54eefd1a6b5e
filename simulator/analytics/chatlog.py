"""Read a shop's real chats from the formats shops have, into :class:`ImportedChat` — with every malformed line
reported as ``path:line:col`` and nothing kept from a file that has errors (the importer stores all or nothing).

Formats (docs/analytics.md has an example of each):

* ``json`` — ``.json`` (one transcript or a list) or ``.jsonl`` (one per line): the minimal transcript
  ``{"id", "turns": [{"role", "text", "at"}]}`` plus ``agent`` (or ``agent`` on the agent's turns), and optionally
  ``shop``, ``started_at``, ``outcome``, ``satisfaction``. ``at`` is seconds since ``started_at`` or a timestamp.
* ``csv`` — one message per row with a header naming the columns ``conversation``, ``time``, ``speaker``,
  ``agent``, ``text`` (English or Chinese names: 会话ID, 时间, 发送方, 客服, 内容 …) and optionally ``shop``,
  ``outcome``, ``satisfaction``. UTF-8, or GB18030 (what Excel saves in China).
* ``text`` — a plain-text chat-log export: a speaker/time line, then the message on the following lines. The line
  pattern, which speakers are agents, what separates conversations and the gap that starts a new one are
  configurable (:class:`TextLogFormat`).

Times without an offset are the shop's local time (``Settings.timezone``). A conversation belongs to the agent
who wrote most of its messages. A conversation with no agent or no buyer message is skipped with a warning (there
is nothing to grade, or no one to grade).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from simulator.analytics.kpis import rating
from simulator.errors import Problem, display_path
from simulator.turn import MAX_TURN_CHARS, Speaker, Turn

MAX_FILE_BYTES = 200_000_000
FORMATS = ("json", "csv", "text")

CUSTOMER_WORDS = {"customer", "buyer", "client", "user", "客户", "顾客", "买家", "用户", "消费者", "c"}
AGENT_WORDS = {"agent", "seller", "staff", "service", "客服", "卖家", "商家", "店铺", "s"}
SYSTEM_WORDS = {"system", "系统", "notice", "机器人"}

COLUMNS: dict[str, tuple[str, ...]] = {
    "conversation": (
        "conversation",
        "conversation_id",
        "session",
        "session_id",
        "chat",
        "chat_id",
        "会话",
        "会话id",
        "会话编号",
        "对话id",
        "对话",
    ),
    "time": ("time", "timestamp", "datetime", "sent_at", "date", "时间", "发送时间", "消息时间"),
    "speaker": ("speaker", "role", "from", "sender", "发送方", "角色", "身份", "发送者"),
    "agent": ("agent", "agent_name", "staff", "客服", "客服昵称", "接待客服", "客服账号"),
    "text": ("text", "message", "content", "内容", "消息", "消息内容", "聊天内容"),
    "shop": ("shop", "store", "店铺", "店铺名"),
    "outcome": ("outcome", "result", "结果", "是否下单", "成交"),
    "satisfaction": ("satisfaction", "rating", "score", "满意度", "评价"),
}
REQUIRED = ("conversation", "time", "speaker", "agent", "text")

TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y.%m.%d %H:%M:%S",
)


class TextLogFormat(BaseModel):
    """How to read a plain-text chat log (the defaults read the layout in docs/analytics.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    line: str = Field(
        default=r"^(?P<speaker>\S.*?)\s+(?P<time>\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?\s+\d{1,2}:\d{2}(?::\d{2})?)\s*$",
        description="Regular expression of a speaker/time line, with the groups speaker and time (and text, when "
        "the message starts on the same line).",
    )
    agent: str = Field(
        default=r"[:：]",
        description="Regular expression: a speaker it matches (anywhere in the name) is an agent; everyone else "
        "is the buyer. The default takes sub-account names like 青禾旗舰店:小满 as agents.",
    )
    separator: str = Field(
        default=r"^\s*(?:-{3,}|={3,}|#{3,}).*$",
        description="Regular expression of a line that ends one conversation and starts the next.",
    )
    gap_minutes: float = Field(
        default=120, gt=0, description="A new conversation starts after this much silence (or when the buyer changes)."
    )

    @field_validator("line", "agent", "separator")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @field_validator("line")
    @classmethod
    def _groups(cls, value: str) -> str:
        groups = re.compile(value).groupindex
        missing = [g for g in ("speaker", "time") if g not in groups]
        if missing:
            raise ValueError(f"the line pattern needs the named group(s) {', '.join(missing)} — e.g. (?P<speaker>…)")
        return value


@dataclass
class ImportedChat:
    """One real conversation read from a file."""

    external_id: str
    agent: str
    started_at: datetime
    turns: list[Turn]
    where: str
    shop: str = ""
    outcome: str | None = None
    satisfaction: float | None = None
    complete: bool = True
    agents: list[str] = field(default_factory=list)


@dataclass
class ParseResult:
    """What a file held: the conversations, the errors (the import stops) and the warnings (skipped parts)."""

    chats: list[ImportedChat] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    messages: int = 0

    def extend(self, other: ParseResult) -> None:
        """Add another file's result."""
        self.chats += other.chats
        self.errors += other.errors
        self.warnings += other.warnings
        self.messages += other.messages


def detect_format(path: Path) -> str:
    """The format a file's suffix suggests: .json/.jsonl → json, .csv/.tsv → csv, anything else → text."""
    suffix = path.suffix.lower()
    if suffix in (".json", ".jsonl", ".ndjson"):
        return "json"
    if suffix in (".csv", ".tsv"):
        return "csv"
    return "text"


def parse_time(value: str | float | int, tz: str) -> datetime:
    """A message time as UTC: ISO 8601, ``2026-11-20 10:01:02`` (and the / . 年月日 forms), or Unix seconds or
    milliseconds. Times without an offset are local to ``tz``. Raises ValueError saying what was expected."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        text = str(value).strip()
        if re.fullmatch(r"\d{10}(\.\d+)?|\d{13}", text):
            number = float(text)
        else:
            number = -1.0
            parsed = None
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                for fmt in TIME_FORMATS:
                    try:
                        parsed = datetime.strptime(text, fmt)
                        break
                    except ValueError:
                        continue
            if parsed is None:
                raise ValueError(f"time {text!r} is not a date and time — write it like 2026-11-20 10:01:02")
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=ZoneInfo(tz))
            return parsed.astimezone(UTC)
    if number > 1e12:
        number /= 1000
    if number < 946684800:  # before 2000: not a Unix time of a chat
        raise ValueError(f"time {value!r} is not a date and time — write it like 2026-11-20 10:01:02")
    return datetime.fromtimestamp(number, tz=UTC)


def speaker_of(value: str) -> Speaker | None:
    """customer / agent / system from the words exports use; None when it is neither."""
    word = value.strip().lower()
    if word in CUSTOMER_WORDS:
        return Speaker.CUSTOMER
    if word in AGENT_WORDS:
        return Speaker.AGENT
    if word in SYSTEM_WORDS:
        return Speaker.SYSTEM
    return None


def decode(raw: bytes, shown: str, result: ParseResult) -> str | None:
    """UTF-8 (with or without BOM), else GB18030 (Excel's Chinese CSV); an error when it is neither."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        result.errors.append(Problem(shown, line, 0, "", "neither UTF-8 nor GB18030 text — save the file as UTF-8"))
        return None


def _finish(
    shown: str,
    external_id: str,
    line: int,
    messages: list[tuple[datetime, Speaker, str, str]],
    result: ParseResult,
    *,
    shop: str = "",
    outcome: str | None = None,
    satisfaction: float | None = None,
) -> None:
    """Turn one conversation's (time, speaker, text, agent name) messages into an :class:`ImportedChat`."""
    said = [m for m in messages if m[1] is not Speaker.SYSTEM and m[2].strip()]
    agents = Counter(m[3] for m in said if m[1] is Speaker.AGENT and m[3])
    if not any(m[1] is Speaker.AGENT for m in said) or not any(m[1] is Speaker.CUSTOMER for m in said):
        who = "agent" if not any(m[1] is Speaker.AGENT for m in said) else "buyer"
        result.warnings.append(
            Problem(shown, line, 0, "", f"conversation {external_id!r} has no {who} message — skipped", "warning")
        )
        return
    if not agents:
        result.errors.append(
            Problem(
                shown,
                line,
                0,
                "",
                f"conversation {external_id!r}: no agent name on its agent messages — "
                'fill the agent column (or the transcript\'s "agent")',
            )
        )
        return
    said.sort(key=lambda m: m[0])  # stable: messages with the same time keep the file's order
    t0 = said[0][0]
    turns = [
        Turn(role=sp, text=text[:MAX_TURN_CHARS], at=round((at - t0).total_seconds(), 3))
        for at, sp, text, _agent in said
    ]
    result.messages += len(turns)
    result.chats.append(
        ImportedChat(
            external_id=external_id[:200],
            agent=agents.most_common(1)[0][0][:80],
            started_at=t0,
            turns=turns,
            where=f"{shown}:{line}",
            shop=shop[:80],
            outcome=outcome or None,
            satisfaction=satisfaction,
            agents=list(agents),
        )
    )


# ---------------------------------------------------------------------------------------------------------
# JSON / JSONL


def _json_chat(data: Any, shown: str, line: int, n: int, tz: str, result: ParseResult, stem: str) -> None:
    def err(message: str) -> None:
        result.errors.append(Problem(shown, line, 1, "", f"conversation {n}: {message}"))

    if not isinstance(data, dict):
        err(f"a conversation is a JSON object, not {type(data).__name__}")
        return
    turns = data.get("turns")
    if not isinstance(turns, list) or not turns:
        err('no "turns" — expected {"id": …, "agent": …, "turns": [{"role": "customer"|"agent", "text": …, "at": …}]}')
        return
    external = str(data.get("id") or f"{stem}-{n}")
    base: datetime | None = None
    if data.get("started_at") is not None:
        try:
            base = parse_time(data["started_at"], tz)
        except ValueError as exc:
            err(f"started_at: {exc}")
            return
    agent_name = str(data.get("agent") or "").strip()
    messages: list[tuple[datetime, Speaker, str, str]] = []
    for i, t in enumerate(turns):
        if not isinstance(t, dict):
            err(f"turns[{i}] is not an object")
            return
        role = speaker_of(str(t.get("role", "")))
        if role is None:
            err(f"turns[{i}].role {t.get('role')!r} is neither customer nor agent")
            return
        text = t.get("text")
        if not isinstance(text, str):
            err(f"turns[{i}].text is missing or not text")
            return
        at_raw = t.get("at")
        if isinstance(at_raw, str) and not re.fullmatch(r"\d+(\.\d+)?", at_raw):
            try:
                at = parse_time(at_raw, tz)
            except ValueError as exc:
                err(f"turns[{i}].at: {exc}")
                return
        else:
            if at_raw is not None and not isinstance(at_raw, int | float | str):
                err(f"turns[{i}].at must be seconds or a timestamp")
                return
            seconds = float(at_raw) if at_raw is not None else float(i)
            if seconds < 0:
                err(f"turns[{i}].at is negative")
                return
            if base is None:
                err('turns give "at" in seconds: add "started_at" (when the conversation began)')
                return
            at = base + timedelta(seconds=seconds)
        messages.append((at, role, text, str(t.get("agent") or agent_name).strip() if role is Speaker.AGENT else ""))
    try:
        sat = rating(data.get("satisfaction"))
    except (TypeError, ValueError):
        sat = None
    _finish(
        shown,
        external,
        line,
        messages,
        result,
        shop=str(data.get("shop") or ""),
        outcome=str(data["outcome"]) if data.get("outcome") else None,
        satisfaction=sat,
    )


def parse_json_text(text: str, shown: str, tz: str, *, lines: bool, stem: str = "chat") -> ParseResult:
    """JSON text: one conversation or a list (``lines=False``), or one conversation per line (JSONL)."""
    result = ParseResult()
    if lines:
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                result.errors.append(Problem(shown, n, exc.colno, "", f"invalid JSON: {exc.msg}"))
                continue
            _json_chat(data, shown, n, n, tz, result, stem)
        return result
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        result.errors.append(Problem(shown, exc.lineno, exc.colno, "", f"invalid JSON: {exc.msg}"))
        return result
    items = data if isinstance(data, list) else [data]
    for n, item in enumerate(items, start=1):
        _json_chat(item, shown, 1, n, tz, result, stem)
    return result


# ---------------------------------------------------------------------------------------------------------
# CSV


def _columns(header: list[str]) -> tuple[dict[str, int], list[str]]:
    """Our column → index, and the required columns not found."""
    names = [h.strip().lower().replace(" ", "_") for h in header]
    found: dict[str, int] = {}
    for key, aliases in COLUMNS.items():
        for i, name in enumerate(names):
            if name in aliases and key not in found:
                found[key] = i
    return found, [k for k in REQUIRED if k not in found]


def parse_csv_text(text: str, shown: str, tz: str, *, delimiter: str = ",") -> ParseResult:
    """CSV text (see :func:`parse_csv`)."""
    result = ParseResult()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        result.errors.append(Problem(shown, 1, 0, "", "the file is empty — the first row must name the columns"))
        return result
    except csv.Error as exc:
        result.errors.append(Problem(shown, 1, 0, "", f"not CSV: {exc}"))
        return result
    cols, missing = _columns(header)
    if missing:
        result.errors.append(
            Problem(
                shown,
                1,
                1,
                "",
                f"no column for {', '.join(missing)} — the first row must name the columns "
                f"conversation, time, speaker, agent, text (found: {', '.join(h.strip() for h in header)})",
            )
        )
        return result
    width = len(header)
    conversations: dict[str, list[tuple[datetime, Speaker, str, str]]] = {}
    first_line: dict[str, int] = {}
    extra: dict[str, dict[str, str]] = {}
    try:
        for row in reader:
            n = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != width:
                result.errors.append(
                    Problem(
                        shown,
                        n,
                        1,
                        "",
                        f"{len(row)} fields, the header has {width} — quote text that contains "
                        f"'{delimiter}' or line breaks",
                    )
                )
                continue

            def cell(key: str, row: list[str] = row) -> str:
                return row[cols[key]].strip() if key in cols else ""

            conv = cell("conversation")
            if not conv:
                result.errors.append(Problem(shown, n, cols["conversation"] + 1, "", "empty conversation id"))
                continue
            try:
                at = parse_time(cell("time"), tz)
            except ValueError as exc:
                result.errors.append(Problem(shown, n, cols["time"] + 1, "", str(exc)))
                continue
            role = speaker_of(cell("speaker"))
            if role is None:
                result.errors.append(
                    Problem(
                        shown,
                        n,
                        cols["speaker"] + 1,
                        "",
                        f"speaker {cell('speaker')!r} is neither a buyer nor "
                        "an agent — write customer or agent (买家 / 客服)",
                    )
                )
                continue
            message = row[cols["text"]]
            if not message.strip():
                continue  # an image or a card the export could not put into words
            conversations.setdefault(conv, []).append((at, role, message.strip(), cell("agent")))
            first_line.setdefault(conv, n)
            meta = extra.setdefault(conv, {})
            for key in ("shop", "outcome", "satisfaction"):
                if cell(key):
                    meta[key] = cell(key)
    except csv.Error as exc:
        result.errors.append(Problem(shown, reader.line_num, 0, "", f"not CSV: {exc}"))
    for conv, messages in conversations.items():
        meta = extra.get(conv, {})
        _finish(
            shown,
            conv,
            first_line[conv],
            messages,
            result,
            shop=meta.get("shop", ""),
            outcome=meta.get("outcome"),
            satisfaction=rating(meta.get("satisfaction")),
        )
    return result


# ---------------------------------------------------------------------------------------------------------
# Plain-text chat log


def parse_text_lines(
    lines: Iterable[str], shown: str, tz: str, fmt: TextLogFormat, *, stem: str = "log"
) -> ParseResult:
    """The lines of a plain-text chat log."""
    result = ParseResult()
    header = re.compile(fmt.line)
    agent_re = re.compile(fmt.agent)
    separator = re.compile(fmt.separator)
    gap = fmt.gap_minutes * 60

    convs: list[tuple[int, list[tuple[datetime, Speaker, str, str]], str]] = []  # (first line, messages, buyer)
    current: list[tuple[datetime, Speaker, str, str]] = []
    current_line = 0
    buyer = ""
    speaker: str | None = None
    role: Speaker | None = None
    at: datetime | None = None
    body: list[str] = []
    last_at: datetime | None = None

    def flush_message() -> None:
        nonlocal body
        if speaker is not None and at is not None and role is not None:
            message = "\n".join(body).strip()
            if message:
                current.append((at, role, message, speaker if role is Speaker.AGENT else ""))
        body = []

    def close() -> None:
        nonlocal current, buyer
        flush_message()
        if current:
            convs.append((current_line, current, buyer))
        current, buyer = [], ""

    for n, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r")
        if separator.match(line):
            close()
            speaker = role = at = None
            continue
        m = header.match(line)
        if m is None:
            if speaker is None:
                if line.strip():
                    result.errors.append(
                        Problem(
                            shown,
                            n,
                            1,
                            "",
                            "a message before any speaker/time line — check the line pattern "
                            f"(--line-pattern; now {fmt.line!r})",
                        )
                    )
                continue
            body.append(line)
            continue
        flush_message()
        name = m.group("speaker").strip()
        try:
            when = parse_time(m.group("time"), tz)
        except ValueError as exc:
            result.errors.append(Problem(shown, n, m.start("time") + 1, "", str(exc)))
            speaker = None
            continue
        is_agent = bool(agent_re.search(name))
        new_buyer = not is_agent and buyer and name != buyer
        silent = last_at is not None and (when - last_at).total_seconds() > gap
        if current and (new_buyer or silent):
            close()
        if not current and not body:
            current_line = n
        if not is_agent and not buyer:
            buyer = name
        speaker, role, at, last_at = name, Speaker.AGENT if is_agent else Speaker.CUSTOMER, when, when
        if "text" in m.groupdict() and m.group("text"):
            body.append(m.group("text"))
    close()
    for first, messages, who in convs:
        external = f"{who or stem}@{min(m[0] for m in messages).isoformat()}"
        _finish(shown, external, first, messages, result)
    return result


def parse_source(
    name: str, raw: bytes, fmt: str | None, tz: str, text_format: TextLogFormat | None = None
) -> ParseResult:
    """Read one file's bytes (``name`` says where it came from, and its suffix the format when ``fmt`` is None)."""
    result = ParseResult()
    if len(raw) > MAX_FILE_BYTES:
        result.errors.append(Problem(name, 0, 0, "", f"larger than {MAX_FILE_BYTES:,} bytes — split the file"))
        return result
    kind = fmt or detect_format(Path(name))
    if kind not in FORMATS:
        raise ValueError(f"unknown format {kind!r} — use one of {', '.join(FORMATS)}")
    text = decode(raw, name, result)
    if text is None:
        return result
    stem = Path(name).stem or "chat"
    suffix = Path(name).suffix.lower()
    if kind == "json":
        return parse_json_text(text, name, tz, lines=suffix in (".jsonl", ".ndjson"), stem=stem)
    if kind == "csv":
        return parse_csv_text(text, name, tz, delimiter="\t" if suffix == ".tsv" else ",")
    return parse_text_lines(text.splitlines(), name, tz, text_format or TextLogFormat(), stem=stem)


def parse_file(path: Path, fmt: str | None, tz: str, text_format: TextLogFormat | None = None) -> ParseResult:
    """Read one file (see :func:`parse_source`); a file that cannot be read is an error, not an exception."""
    shown = display_path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return ParseResult(errors=[Problem(shown, 0, 0, "", "no such file")])
    except OSError as exc:
        return ParseResult(errors=[Problem(shown, 0, 0, "", f"cannot read the file: {exc.strerror or exc}")])
    return parse_source(shown, raw, fmt, tz, text_format)
