"""Teams and new-hire cohorts (groups led by a trainer): a trainer's analytics show the people of their own
groups (and the people in no group yet). Trainers create and fill their groups; admins any."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import delete

from simulator.analytics.scope import visible_groups
from simulator.errors import NotFound
from simulator.store.groups import Group, GroupMember, add_members, create_group, members
from simulator.store.users import UserRole, get_user, list_users
from web.auth import TrainerDep, Viewer
from web.scope import scope_viewer
from web.services import services
from web.views import render

router = APIRouter(prefix="/trainer")


def _own_group(request: Request, viewer: Viewer, group_id: int) -> Group:
    with services(request).engine.store.read() as s:
        group = s.get(Group, group_id)
    if group is None or (viewer.role is not UserRole.ADMIN and group.trainer_id != viewer.id):
        raise NotFound("no such team")
    return group


@router.get("/teams")
def teams(request: Request, viewer: Viewer = TrainerDep) -> Response:
    """The viewer's groups with their people, and forms to create one or add people."""
    svc = services(request)
    with svc.engine.store.read() as s:
        groups = visible_groups(s, scope_viewer(viewer))
        people = {g.id: list(members(s, g.id)) for g in groups}
        trainees = list(list_users(s, UserRole.TRAINEE))
        trainers = {u.id: u.display_name for u in list_users(s) if u.role != UserRole.TRAINEE.value}
    return render(
        request,
        "teams.html",
        {"groups": groups, "people": people, "trainees": trainees, "trainers": trainers},
    )


@router.post("/teams")
def create(
    request: Request,
    name: Annotated[str, Form(max_length=80)],
    kind: Annotated[str, Form(max_length=16)] = "cohort",
    viewer: Viewer = TrainerDep,
) -> Response:
    """A new group led by the viewer."""
    with services(request).engine.store.write() as s:
        group = create_group(s, name, trainer_id=viewer.id, kind=kind if kind in ("cohort", "team") else "cohort")
        gid = group.id
    return RedirectResponse(f"/trainer/teams#team-{gid}", status_code=303)


@router.post("/teams/{group_id}/members")
def add(
    request: Request,
    group_id: int,
    user_id: Annotated[list[int], Form()],
    viewer: Viewer = TrainerDep,
) -> Response:
    """Add trainees to one of the viewer's groups."""
    _own_group(request, viewer, group_id)
    with services(request).engine.store.write() as s:
        ids = [u for u in user_id if (user := get_user(s, u)) is not None and user.role == UserRole.TRAINEE.value]
        add_members(s, group_id, ids)
    return RedirectResponse(f"/trainer/teams#team-{group_id}", status_code=303)


@router.post("/teams/{group_id}/members/{user_id}/remove")
def remove(request: Request, group_id: int, user_id: int, viewer: Viewer = TrainerDep) -> Response:
    """Take someone out of one of the viewer's groups."""
    _own_group(request, viewer, group_id)
    with services(request).engine.store.write() as s:
        s.execute(delete(GroupMember).where(GroupMember.group_id == group_id, GroupMember.user_id == user_id))
    return RedirectResponse(f"/trainer/teams#team-{group_id}", status_code=303)
