"""The import graph of ``simulator/`` and ``web/``: no cycles, and the engine never imports the web app.

Every import counts — at the top of a module, inside a function, under ``if TYPE_CHECKING:`` — because each
one is a dependency a reader has to follow, and a cycle hidden inside a function is still a cycle. ``from
package import name`` counts as an import of the submodule ``package.name`` when there is one, else of the
package. Running a package's ``__init__`` before its submodules (what Python does on ``import a.b``) is not an
edge, as in import-linter and grimp: otherwise every package that re-exports from its submodules would be a
cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("simulator", "web")


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` at ``path:line``."""

    source: str
    target: str
    path: Path
    line: int


def discover(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Module name → file, for every ``.py`` file under the packages (``pkg/__init__.py`` is ``pkg``)."""
    modules: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _owner(name: str, modules: dict[str, Path]) -> str | None:
    """The module ``name`` refers to: itself, or the closest enclosing module we know (``a.b.C`` → ``a.b``)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> list[Edge]:
    """Every import of one of ``modules`` anywhere in the file (functions and ``TYPE_CHECKING`` blocks too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    edges: list[Edge] = []

    def add(target: str | None, node: ast.AST) -> None:
        if target is not None and target != name:
            edges.append(Edge(name, target, path, getattr(node, "lineno", 0)))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(_owner(alias.name, modules), node)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # A relative import: strip one package level per dot beyond the first.
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                base = node.module or ""
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                add(submodule if submodule in modules else _owner(base, modules), node)
    return edges


def import_graph(root: Path, packages: Iterable[str]) -> tuple[dict[str, Path], list[Edge]]:
    """The modules and every import edge between them."""
    modules = discover(root, packages)
    edges = [e for name, path in modules.items() for e in imports_of(name, path, modules)]
    return modules, edges


def cycles(modules: Iterable[str], edges: Iterable[Edge]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for e in edges:
        graph[e.source].add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def describe(component: frozenset[str], modules: dict[str, Path], edges: Iterable[Edge], root: Path = REPO) -> str:
    """The files of a cycle and the imports that tie them together, each as ``path:line imports module``."""
    files = ", ".join(str(modules[m].relative_to(root)) for m in sorted(component))
    ties = [e for e in edges if e.source in component and e.target in component]
    ties = sorted(set(ties), key=lambda e: (str(e.path), e.line, e.target))
    return f"cycle between {files}:\n" + "\n".join(
        f"  {e.path.relative_to(root)}:{e.line} imports {e.target}" for e in ties
    )


@pytest.fixture(scope="module")
def graph() -> tuple[dict[str, Path], list[Edge]]:
    return import_graph(REPO, PACKAGES)


def test_the_walk_sees_every_kind_of_import(graph: tuple[dict[str, Path], list[Edge]]) -> None:
    """Guards the guard: the walk covers both packages and finds imports inside functions and under
    TYPE_CHECKING, not only the top-level ones."""
    modules, edges = graph
    assert len([m for m in modules if m.startswith("simulator.")]) > 40
    assert len([m for m in modules if m.startswith("web.")]) > 10
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        nested = [
            n
            for f in ast.walk(tree)
            if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef | ast.If)
            for n in ast.walk(f)
            if isinstance(n, ast.ImportFrom) and (n.module or "").startswith(PACKAGES) and n.module != name
        ]
        for n in nested:
            assert any(e.source == name and e.line == n.lineno for e in edges), f"{path}:{n.lineno} not seen"


def test_no_import_cycles(graph: tuple[dict[str, Path], list[Edge]]) -> None:
    modules, edges = graph
    new = cycles(modules, edges)
    assert not new, "import cycles (split a module or move the shared part down):\n" + "\n".join(
        describe(c, modules, edges) for c in new
    )


def test_the_engine_never_imports_the_web_app(graph: tuple[dict[str, Path], list[Edge]]) -> None:
    modules, edges = graph
    wrong = [e for e in edges if e.source.split(".")[0] == "simulator" and e.target.split(".")[0] == "web"]
    assert not wrong, "simulator/ imports web/ (the engine must work without the web app):\n" + "\n".join(
        f"  {modules[e.source].relative_to(REPO)}:{e.line} imports {e.target}" for e in wrong
    )


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


def test_cycles_hidden_in_functions_type_checking_and_relative_imports_are_found(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.a import A\n",
            "pkg/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\nA = 1\n",
            "pkg/b.py": "def f():\n    from . import c\n    return c\n",
            "pkg/c.py": "import pkg.a.A\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/d.py": "from ..e import x\n",
            "pkg/e.py": "from pkg.sub import d\nx = 1\n",
            "pkg/f.py": "import os\nfrom pkg import a\n",
        },
    )
    modules, edges = import_graph(tmp_path, ["pkg"])
    found = cycles(modules, edges)
    assert sorted(sorted(c) for c in found) == [["pkg.a", "pkg.b", "pkg.c"], ["pkg.e", "pkg.sub.d"]]
    text = describe(frozenset({"pkg.a", "pkg.b", "pkg.c"}), modules, edges, root=tmp_path)
    assert text.splitlines() == [
        "cycle between pkg/a.py, pkg/b.py, pkg/c.py:",
        "  pkg/a.py:3 imports pkg.b",
        "  pkg/b.py:2 imports pkg.c",
        "  pkg/c.py:1 imports pkg.a",
    ]
