"""pyproject.toml (where people edit dependencies) and the committed locks (what `make run` / `make test` install)
agree: every dependency of the locked extras is pinned at a version its range allows, with the packages its own
extras bring, nothing the project no longer asks for is locked as its requirement, every extra is in a lock,
and the locks are the ones the Makefile resolves and installs."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
MAKEFILE = (REPO / "Makefile").read_text(encoding="utf-8")
FIX = "run `make lock` and commit requirements/ (docs/deploy.md, 'Dependencies')."
PROJECT = "cs-simulator (pyproject.toml)"


def makefile_variables() -> dict[str, str]:
    return {m[1]: m[2].strip() for m in re.finditer(r"^([A-Z_]+)\s*:?=\s*(.*)$", MAKEFILE, re.M)}


def expand(text: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$\((\w+)\)", lambda m: variables.get(m[1], m[0]), text)


@dataclass
class Lock:
    """One ``uv pip compile`` command of the Makefile's ``lock`` target and the file it writes."""

    path: Path
    inputs: list[str]
    extras: list[str]
    pins: dict[str, Version] = field(default_factory=dict)
    via: dict[str, set[str]] = field(default_factory=dict)  # package -> what needs it (as uv annotates)


def locks() -> list[Lock]:
    variables = makefile_variables()
    recipe = re.search(r"^lock:.*\n((?:\t.*\n)+)", MAKEFILE, re.M)
    assert recipe, "the Makefile has no `lock` target"
    out = []
    for command in recipe[1].replace("\\\n", " ").splitlines():
        if "uv pip compile" not in command:
            continue
        words = expand(command, variables).split()
        after = words[words.index("compile") + 1 :]
        inputs = [w for w in after if w.endswith((".toml", ".in"))]
        extras = [after[i + 1] for i, w in enumerate(after) if w == "--extra"]
        lock = Lock(REPO / after[after.index("-o") + 1], inputs, extras)
        read_pins(lock)
        out.append(lock)
    return out


def read_pins(lock: Lock) -> None:
    assert lock.path.is_file(), f"{lock.path.relative_to(REPO)} is missing: {FIX}"
    current = ""
    for line in lock.path.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line):
            current = canonicalize_name(m[1])
            lock.pins[current] = Version(m[2])
            lock.via[current] = set()
        elif current and (m := re.match(r"^\s+#\s+(?:via\s+)?(.+)$", line)) and m[1] != "via":
            lock.via[current].add(m[1].strip())


def requirements(extras: list[str]) -> Iterator[Requirement]:
    yield from map(Requirement, PYPROJECT["project"]["dependencies"])
    for extra in extras:
        yield from map(Requirement, PYPROJECT["project"]["optional-dependencies"][extra])


LOCKS = locks()


def test_the_makefile_resolves_two_locks_and_installs_from_them() -> None:
    variables = makefile_variables()
    assert [lock.path.relative_to(REPO).as_posix() for lock in LOCKS] == [variables["LOCK"], variables["LOCK_ST"]]
    assert all(lock.inputs == ["pyproject.toml", "requirements/build.in"] for lock in LOCKS)
    # the stamps: re-installed when the lock changes, from the lock, with the extras it was resolved for
    assert re.search(r"^\$\(STAMP\):.*\$\(LOCK\)", MAKEFILE, re.M)
    assert re.search(r"^\$\(ST_STAMP\):.*\$\(LOCK_ST\)", MAKEFILE, re.M)
    for lock, name in zip(LOCKS, ["LOCK", "LOCK_ST"], strict=True):
        assert f"-r $({name}) -e '.[{','.join(lock.extras)}]'" in MAKEFILE


def test_every_extra_is_in_a_lock() -> None:
    extras = set(PYPROJECT["project"]["optional-dependencies"])
    locked = {e for lock in LOCKS for e in lock.extras}
    assert extras <= locked, (
        f"extras {sorted(extras - locked)} of pyproject.toml are in no lock: add `--extra NAME` to the "
        "`uv pip compile` command that should hold them in the Makefile's `lock` target, then " + FIX
    )


@pytest.mark.parametrize("lock", LOCKS, ids=lambda lock: lock.path.name)
def test_every_dependency_is_locked_at_a_version_it_allows(lock: Lock) -> None:
    problems = []
    for req in requirements(lock.extras):
        name = canonicalize_name(req.name)
        pinned = lock.pins.get(name)
        if pinned is None:
            problems.append(f"{req} is not in the lock")
        elif not req.specifier.contains(pinned, prereleases=True):
            problems.append(f"{req}: the lock has {pinned}")
        elif req.extras:
            problems += [f"{req}: {p}" for p in missing_for_extras(req, lock)]
    listed = "\n  ".join(problems)
    assert not problems, f"pyproject.toml and {lock.path.name} disagree:\n  {listed}\nTo fix: {FIX}"


def missing_for_extras(req: Requirement, lock: Lock) -> list[str]:
    """What ``req``'s extras need (read from the installed package's metadata) that the lock lacks."""
    try:
        needs = metadata.requires(req.name) or []
    except metadata.PackageNotFoundError:
        return []  # not installed here (e.g. the st extra in the fast suite's venv): its name check suffices
    out = []
    for extra in req.extras:
        for dep in map(Requirement, needs):
            brought = dep.marker is not None and dep.marker.evaluate({"extra": extra}) and not dep.marker.evaluate()
            if brought and canonicalize_name(dep.name) not in lock.pins:
                out.append(f"its extra '{extra}' needs {dep.name}, which is not in the lock")
    return out


@pytest.mark.parametrize("lock", LOCKS, ids=lambda lock: lock.path.name)
def test_nothing_is_locked_for_a_requirement_pyproject_dropped(lock: Lock) -> None:
    direct = {canonicalize_name(r.name) for r in requirements(lock.extras)}
    build = {canonicalize_name(Requirement(r).name) for r in build_requirements()}
    stale = sorted(n for n, via in lock.via.items() if PROJECT in via and n not in direct)
    stale += sorted(n for n, via in lock.via.items() if "-r requirements/build.in" in via and n not in build)
    assert not stale, f"{lock.path.name} still locks {stale} for the project, which no longer asks for them: {FIX}"


def build_requirements() -> list[str]:
    text = (REPO / "requirements" / "build.in").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_the_build_backend_is_locked_as_declared() -> None:
    assert build_requirements() == PYPROJECT["build-system"]["requires"], (
        "requirements/build.in must list pyproject.toml's [build-system] requires; edit it, then " + FIX
    )
    for lock in LOCKS:
        assert {"setuptools", "wheel"} <= set(lock.pins), f"{lock.path.name} lacks the build back-end: {FIX}"


def test_torch_is_installed_and_resolved_at_the_same_version() -> None:
    """torch stays out of the locks (the Makefile installs the CPU wheel first); its dependencies are locked from
    that wheel's metadata (requirements/torch-cpu.txt), which must be the version the Makefile installs."""
    torch = Requirement(makefile_variables()["TORCH"])
    override = next(
        Requirement(line)
        for line in (REPO / "requirements" / "torch-cpu.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    assert torch.name == override.name == "torch"
    versions = [Version(next(iter(r.specifier)).version).public for r in (torch, override)]
    assert versions[0] == versions[1], (
        "the Makefile's TORCH and requirements/torch-cpu.txt name different versions; make them equal, then " + FIX
    )
    assert all("torch" not in lock.pins and not any(n.startswith("nvidia") for n in lock.pins) for lock in LOCKS)
