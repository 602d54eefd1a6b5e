"""Import a shop's real chats in the browser: upload files, map agents, watch the QA job grade them (htmx polls its
progress), then open each graded chat's report. Trainers and admins only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from simulator.analytics.chatlog import FORMATS, TextLogFormat
from simulator.analytics.importer import ImportFailed, ImportOptions, import_chats, parse_agent_map, read_sources
from simulator.analytics.scope import visible_groups
from simulator.errors import NotFound
from simulator.store.grades import GradeRecord
from simulator.store.imports import ImportRecord, RealChat, list_aliases, list_imports
from simulator.store.jobs import jobs_of_import
from simulator.store.sessions import SessionRecord
from simulator.store.users import User, UserRole
from web.auth import TrainerDep, Viewer
from web.scope import scope_viewer
from web.services import services
from web.views import render

router = APIRouter(prefix="/trainer")

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # the body limit for this route (web/middleware.py)
MAX_FILES = 20


def _form_context(request: Request, viewer: Viewer, **extra: Any) -> dict[str, Any]:
    svc = services(request)
    with svc.engine.store.read() as s:
        imports = [i for i in list_imports(s, 30) if viewer.role is UserRole.ADMIN or i.created_by == viewer.id]
        jobs = {i.id: next(iter(jobs_of_import(s, i.id)), None) for i in imports}
        aliases = list_aliases(s)
        groups = visible_groups(s, scope_viewer(viewer))
    return {
        "imports": imports,
        "jobs": jobs,
        "aliases": aliases,
        "groups": groups,
        "formats": FORMATS,
        "defaults": TextLogFormat(),
        "form": {},
        "problems": [],
        **extra,
    }


@router.get("/imports")
def imports_page(request: Request, viewer: Viewer = TrainerDep) -> Response:
    """The upload form, recent imports with their QA progress, and the agent names already mapped."""
    return render(request, "imports.html", _form_context(request, viewer))


@router.post("/imports")
async def upload(
    request: Request,
    files: Annotated[list[UploadFile], File()],
    format: Annotated[str, Form(max_length=8)] = "",
    shop: Annotated[str, Form(max_length=80)] = "",
    group: Annotated[str, Form(max_length=12)] = "",
    create_agents: Annotated[str, Form(max_length=4)] = "",
    agent_map: Annotated[str, Form(max_length=20_000)] = "",
    line_pattern: Annotated[str, Form(max_length=500)] = "",
    agent_pattern: Annotated[str, Form(max_length=500)] = "",
    separator: Annotated[str, Form(max_length=500)] = "",
    gap_minutes: Annotated[str, Form(max_length=8)] = "",
    viewer: Viewer = TrainerDep,
) -> Response:
    """Import the uploaded files in one transaction and queue their QA; on any problem nothing is imported and
    the form shows every problem with its file and line."""
    svc = services(request)
    gettext = svc.catalogues.gettext
    form = {
        "format": format,
        "shop": shop,
        "group": group,
        "create_agents": bool(create_agents),
        "agent_map": agent_map,
        "line_pattern": line_pattern,
        "agent_pattern": agent_pattern,
        "separator": separator,
        "gap_minutes": gap_minutes,
    }
    sources = []
    for f in [f for f in files if f.filename][:MAX_FILES]:
        sources.append((f.filename or "upload", await f.read()))
    problems: list[str] = []
    if not sources:
        problems.append(gettext("Choose at least one file."))
    text_args = {
        k: v for k, v in {"line": line_pattern, "agent": agent_pattern, "separator": separator}.items() if v.strip()
    }
    if gap_minutes.strip():
        text_args["gap_minutes"] = gap_minutes.strip()
    text_format = None
    try:
        text_format = TextLogFormat(**text_args)
    except ValidationError as exc:
        problems += [f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()]
    group_id = int(group) if group.isdigit() else None
    if group_id is not None:
        with svc.engine.store.read() as s:
            if group_id not in {g.id for g in visible_groups(s, scope_viewer(viewer))}:
                problems.append(gettext("Choose one of your teams."))
    try:
        mapping = parse_agent_map(agent_map.splitlines())
    except ImportFailed as exc:
        problems += [p.format() for p in exc.problems]
        mapping = {}
    if problems:
        ctx = _form_context(request, viewer, form=form, problems=problems)
        return render(request, "imports.html", ctx, status=400)
    options = ImportOptions(
        format=format if format in FORMATS else None,
        shop=shop.strip(),
        text_format=text_format,
        agent_map=mapping,
        create_agents=bool(create_agents),
        group_id=group_id,
        created_by=viewer.id,
    )
    tz = svc.engine.settings.timezone
    try:
        parsed = read_sources(sources, options, tz)
        report = import_chats(
            svc.engine.store, parsed, options, hasher=svc.hasher, files=", ".join(name for name, _ in sources)
        )
    except ImportFailed as exc:
        ctx = _form_context(request, viewer, form=form, problems=[p.format() for p in exc.problems])
        return render(request, "imports.html", ctx, status=400)
    if svc.background is not None:
        svc.background.wake()
    return RedirectResponse(f"/trainer/imports/{report.import_id}", status_code=303)


def _visible_import(request: Request, viewer: Viewer, import_id: int) -> ImportRecord:
    with services(request).engine.store.read() as s:
        row = s.get(ImportRecord, import_id)
    if row is None or (viewer.role is not UserRole.ADMIN and row.created_by != viewer.id):
        raise NotFound("no such import")
    return row


def _progress_context(request: Request, import_id: int) -> dict[str, Any]:
    with services(request).engine.store.read() as s:
        job = next(iter(jobs_of_import(s, import_id)), None)
    return {"job": job, "import_id": import_id}


@router.get("/imports/{import_id}")
def import_page(request: Request, import_id: int, viewer: Viewer = TrainerDep) -> Response:
    """One import: what came in, who the agents are, the QA job's progress, and the graded chats."""
    row = _visible_import(request, viewer, import_id)
    svc = services(request)
    with svc.engine.store.read() as s:
        chats = list(
            s.execute(
                select(RealChat, GradeRecord)
                .outerjoin(GradeRecord, GradeRecord.session_id == RealChat.session_id)
                .where(RealChat.import_id == import_id)
                .order_by(RealChat.external_id)
                .limit(300)
            ).all()
        )
        owners = (
            dict(
                s.execute(
                    select(SessionRecord.id, SessionRecord.user_id).where(
                        SessionRecord.id.in_([c.session_id for c, _ in chats])
                    )
                ).all()
            )
            if chats
            else {}
        )
        names = {u.id: u.display_name for u in s.query(User)}
    return render(
        request,
        "import.html",
        {"row": row, "chats": chats, "owners": owners, "names": names, **_progress_context(request, import_id)},
    )


@router.get("/imports/{import_id}/progress")
def import_progress(request: Request, import_id: int, viewer: Viewer = TrainerDep) -> Response:
    """The QA job's progress bar (htmx polls it every second until the job is finished)."""
    _visible_import(request, viewer, import_id)
    context = _progress_context(request, import_id)
    resp = render(request, "_qa_progress.html", context)
    job = context["job"]
    if request.query_params.get("polling") and (job is None or job.finished):
        resp.headers["HX-Refresh"] = "true"  # finished while the page watched: reload it to list the graded chats
    return resp
