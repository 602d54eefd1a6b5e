"""Load and validate scenario files, reporting every problem as ``path:line:col: location: message``.

Three layers of checks, all collected (never just the first):

1. reading — encoding, size, YAML syntax, duplicate keys (:mod:`simulator.scenario.yamlsource`);
2. schema — pydantic errors mapped back to lines, with "did you mean" for misspelt keys and enum values;
3. consistency — references inside the file (beat ids, fact keys, variables) and across files (scenario ids,
   prerequisites, knowledge document ids).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from simulator.errors import NotFound, Problem, ValidationFailed, display_path, suggest
from simulator.scenario.consistency import internal_problems, playability_problems
from simulator.scenario.model import Scenario
from simulator.scenario.yamlsource import Loc, YamlDocument, kind_name, read_yaml

SCENARIO_SUFFIXES = (".yaml", ".yml")


@dataclass
class LoadedScenario:
    """A scenario that validated, with the file it came from."""

    scenario: Scenario
    path: Path
    document: YamlDocument


@dataclass
class ScenarioSet:
    """All scenarios found under some paths, plus every problem (including files that failed)."""

    scenarios: dict[str, LoadedScenario] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    failed: dict[str, list[Problem]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings are fine)."""
        return not any(p.severity == "error" for p in self.problems)

    def get(self, scenario_id: str) -> Scenario:
        """The scenario with this id, or :class:`NotFound` naming the closest id."""
        try:
            return self.scenarios[scenario_id].scenario
        except KeyError:
            raise NotFound(
                f"no scenario '{scenario_id}'{suggest(scenario_id, list(self.scenarios))}"
                " — run `simulator validate` to list problems"
            ) from None


# ---------------------------------------------------------------------------------------------------------
# Finding files


def scenario_files(paths: Iterable[Path | str]) -> tuple[list[Path], list[Problem]]:
    """Expand files and folders into scenario YAML files (recursively, sorted)."""
    out: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.suffix in SCENARIO_SUFFIXES and f.is_file()))
        elif p.is_file():
            out.append(p)
        else:
            problems.append(Problem(display_path(p), 0, 0, "", "no such file or folder"))
    return out, problems


# ---------------------------------------------------------------------------------------------------------
# One file


def load_scenario_file(
    path: Path | str, text: str | bytes | None = None
) -> tuple[LoadedScenario | None, list[Problem]]:
    """Read and validate one scenario file; never raises for anything in the file."""
    doc, problems = read_yaml(path, text)
    if doc is None:
        return None, problems
    scenario, problems = validate_document(
        doc, Scenario, empty="file is empty — a scenario needs id, title, locale, persona …", what="a scenario"
    )
    if scenario is None:
        return None, problems
    problems = [_at(doc, loc, msg) for loc, msg in internal_problems(scenario)]
    if not problems:  # playability is only meaningful once ids and references are consistent
        problems = [_at(doc, loc, msg, severity=sev) for loc, msg, sev in playability_problems(scenario)]
    if any(p.severity == "error" for p in problems):
        return None, sorted(problems, key=_order)
    return LoadedScenario(scenario, Path(path), doc), problems


M = typing.TypeVar("M", bound=BaseModel)


def validate_document(doc: YamlDocument, model: type[M], *, empty: str, what: str) -> tuple[M | None, list[Problem]]:
    """Validate a parsed YAML document against ``model`` (a scenario, an exam, a question bank); every schema
    problem as ``path:line:col`` with "did you mean" hints. Never raises for anything in the document.

    Args:
        doc: The parsed document.
        model: The pydantic model of the whole file.
        empty: The message for an empty file.
        what: How the file is called in messages ("a scenario").
    """
    if doc.data is None:
        return None, [Problem(doc.path, 1, 1, "", empty)]
    if not isinstance(doc.data, dict):
        line, col = doc.locate(())
        kind = kind_name(doc.data)
        message = f"the top level is a {kind}; {what} is a mapping of keys (id: …)"
        return None, [Problem(doc.path, line, col, "", message)]
    try:
        return model.model_validate(doc.data), []
    except ValidationError as exc:
        errors = _dedupe(exc.errors(include_url=False))
        return None, sorted((_schema_problem(doc, e, model) for e in _drop_explained_missing(errors)), key=_order)
    except RecursionError:
        return None, [Problem(doc.path, 1, 1, "", "document is nested too deeply")]


def located(doc: YamlDocument, loc: Loc, message: str, *, key: bool = False, severity: str = "error") -> Problem:
    """A problem at ``loc`` inside ``doc`` (``path:line:col``, the dotted location and the message)."""
    return _at(doc, loc, message, key=key, severity=severity)


def find_scenario(scenario_id: str, paths: Iterable[Path | str]) -> LoadedScenario:
    """The scenario with this id under ``paths``.

    By convention the file is named after the id, so that file is tried first (one parse instead of all of
    them: parsing with line marks costs ~0.1 s a file); otherwise every file is loaded and searched.

    Raises:
        ValidationFailed: the scenario's file has errors.
        NotFound: no scenario has this id (naming the closest one).
    """
    files, _ = scenario_files(paths)
    for f in files:
        if f.stem == scenario_id:
            loaded, problems = load_scenario_file(f)
            if loaded is None:
                raise ValidationFailed(problems)
            if loaded.scenario.id == scenario_id:
                return loaded
    found = load_scenarios(paths)
    found.get(scenario_id)  # raises NotFound with a suggestion
    return found.scenarios[scenario_id]


def load_scenario(path: Path | str) -> Scenario:
    """Load one scenario or raise :class:`ValidationFailed` with every problem."""
    loaded, problems = load_scenario_file(path)
    if loaded is None:
        raise ValidationFailed(problems)
    return loaded.scenario


def _at(doc: YamlDocument, loc: Loc, message: str, *, key: bool = False, severity: str = "error") -> Problem:
    line, col = doc.locate(loc, key=key)
    return Problem(doc.path, line, col, _dotted(loc), message, severity)


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _order(p: Problem) -> tuple[int, int]:
    return p.line, p.col


def _drop_explained_missing(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """Drop "missing x" when an unknown key next to it is a misspelling of x (one clear message, not two)."""
    import difflib

    extras = {(tuple(e["loc"][:-1]), str(e["loc"][-1])) for e in errors if e["type"] == "extra_forbidden"}
    out = []
    for e in errors:
        if e["type"] == "missing":
            parent, name = tuple(e["loc"][:-1]), str(e["loc"][-1])
            if any(p == parent and difflib.get_close_matches(x, [name], n=1, cutoff=0.6) for p, x in extras):
                continue
        out.append(e)
    return out


def _dedupe(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for e in errors:
        k = (tuple(e["loc"]), e["type"])
        if k not in seen:
            seen.add(k)
            out.append(e)
    return out


# ---------------------------------------------------------------------------------------------------------
# Turning pydantic errors into messages a trainer can act on


_TAG_RE = re.compile(r"^[a-z-]+\[.*\]$|^(str|int|float|bool|list|dict|none|nullable)$")


def _clean_loc(data: Any, loc: tuple[Any, ...]) -> Loc:
    """Drop pydantic's internal tags (``function-after[...]``, union member names) that are not in the file."""
    out: list[str | int] = []
    node = data
    for part in loc:
        present = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if not present and isinstance(part, str) and _TAG_RE.match(part):
            continue
        out.append(part)
        node = node[part] if present else None
    return tuple(out)


def _schema_problem(doc: YamlDocument, err: ErrorDetails, root: type[BaseModel] = Scenario) -> Problem:
    loc: Loc = _clean_loc(doc.data, tuple(err["loc"]))
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    model, fname = _field_at(loc, root)
    desc = _describe(model, fname)
    if kind == "missing" and loc:
        parent = loc[:-1]
        hint = f" ({desc})" if desc else ""
        return _at(doc, parent, f"missing required field '{loc[-1]}'{hint} — add `{loc[-1]}:`", key=True)
    if kind == "extra_forbidden" and loc:
        allowed = sorted(model.model_fields) if model is not None else []
        name = str(loc[-1])
        hint = suggest(name, allowed) or (f" — allowed here: {', '.join(allowed)}" if allowed else "")
        return _at(doc, loc, f"unknown field '{name}'{hint}", key=True)
    if kind == "enum":
        expected = _enum_values(model, fname)
        hint = suggest(str(value), expected) if expected else ""
        one_of = f" — one of: {', '.join(expected)}" if expected else f" — expected {ctx.get('expected', '')}"
        return _at(doc, loc, f"'{value}' is not allowed{hint or one_of}")
    if kind == "string_pattern_mismatch":
        return _at(
            doc, loc, f"'{value}' is not a valid id — use lower-case letters, digits, '-' and '_' (e.g. size-advice-01)"
        )
    if kind in ("list_type", "tuple_type"):
        return _at(
            doc, loc, f"expected a list, got {_show(value)} — write each item on its own line starting with '- '"
        )
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return _at(doc, loc, f"expected a mapping (key: value lines), got {_show(value)}")
    if kind == "string_type":
        return _at(doc, loc, f"expected text, got {_show(value)}")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return _at(doc, loc, f"expected a whole number, got {_show(value)}")
    if kind in ("float_type", "float_parsing"):
        return _at(doc, loc, f"expected a number, got {_show(value)}")
    if kind in ("bool_type", "bool_parsing"):
        return _at(doc, loc, f"expected true or false, got {_show(value)}")
    if kind in ("too_short", "string_too_short"):
        what = "text" if kind == "string_too_short" else "list"
        n = ctx.get("min_length", 1)
        return _at(doc, loc, f"{what} is too short — needs at least {n} {'character' if what == 'text' else 'item'}(s)")
    if kind in ("too_long", "string_too_long"):
        return _at(
            doc, loc, f"too long — at most {ctx.get('max_length')} {'characters' if 'string' in kind else 'items'}"
        )
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bound = {
            "greater_than_equal": "at least",
            "less_than_equal": "at most",
            "greater_than": "above",
            "less_than": "below",
        }[kind]
        limit = next(iter(ctx.values()), "")
        return _at(doc, loc, f"{_show(value)} is out of range — must be {bound} {limit}")
    if kind == "value_error":
        msg = str(ctx.get("error", err["msg"]))
        return _at(doc, loc, msg)
    return _at(doc, loc, err["msg"])


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (empty value)"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "…"


def _unwrap(annotation: Any) -> Iterator[Any]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, dict, typing.Annotated):
        for arg in typing.get_args(annotation):
            yield from _unwrap(arg)
    else:
        yield annotation


def _field_at(loc: Loc, root: type[BaseModel] = Scenario) -> tuple[type[BaseModel] | None, str | None]:
    """The model that owns the last named part of ``loc`` and that field's name."""
    model: type[BaseModel] | None = root
    owner: type[BaseModel] | None = root
    name: str | None = None
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        if part not in model.model_fields:
            # A dict key (variable name) or an unknown field: stay on the current model.
            if owner is model and name and typing.get_origin(model.model_fields[name].annotation) is dict:
                continue
            return model, part
        owner, name = model, part
        nested = [
            a for a in _unwrap(model.model_fields[part].annotation) if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        model = nested[0] if nested else None
    if model is not None and model is not owner and name is not None:
        # loc ended on a nested model (e.g. an extra key inside it): report against it
        return model, None
    return owner, name


def _describe(model: type[BaseModel] | None, name: str | None) -> str:
    if model is None or name is None or name not in model.model_fields:
        return ""
    return model.model_fields[name].description or ""


def _enum_values(model: type[BaseModel] | None, name: str | None) -> list[str]:
    if model is None or name is None or name not in model.model_fields:
        return []
    for a in _unwrap(model.model_fields[name].annotation):
        if isinstance(a, type) and issubclass(a, Enum):
            return [str(m.value) for m in a]
    return []


# ---------------------------------------------------------------------------------------------------------
# Many files, cross-file checks


def load_scenarios(
    paths: Iterable[Path | str],
    *,
    knowledge_ids: set[str] | None = None,
    require_references: bool = False,
    knowledge_texts: Mapping[str, str] | None = None,
) -> ScenarioSet:
    """Load every scenario under ``paths`` and check references between files.

    Args:
        paths: Files or folders (searched recursively for ``*.yaml``/``*.yml``).
        knowledge_ids: Known knowledge document ids; when given, every ``source``/``knowledge`` id is checked.
        require_references: Every scenario must carry good and bad reference trainees (true for the shipped
            packs, which CI plays through the grader).
        knowledge_texts: Knowledge document id → text; when given, variables with ``in_knowledge`` are checked
            (every value they can take appears in that document).
    """
    files, problems = scenario_files(paths)
    result = ScenarioSet(problems=list(problems))
    first_seen: dict[str, LoadedScenario] = {}
    for f in files:
        if _is_schema_or_exam(f):
            continue
        loaded, file_problems = load_scenario_file(f)
        if loaded is None:
            result.failed[display_path(f)] = file_problems
            result.problems.extend(file_problems)
            continue
        result.problems.extend(file_problems)  # warnings
        sid = loaded.scenario.id
        if sid in first_seen:
            other = first_seen[sid]
            line, col = other.document.locate(("id",))
            result.problems.append(
                _at(
                    loaded.document,
                    ("id",),
                    f"scenario id '{sid}' is already used by {other.document.path}:{line}:{col} — ids must be unique",
                )
            )
            continue
        first_seen[sid] = loaded
    result.scenarios = first_seen
    ids = list(first_seen)
    for loaded in first_seen.values():
        s, doc = loaded.scenario, loaded.document
        for i, pre in enumerate(s.prerequisites):
            if pre not in first_seen:
                result.problems.append(_at(doc, ("prerequisites", i), f"unknown scenario '{pre}'{suggest(pre, ids)}"))
        if knowledge_ids is not None:
            known = sorted(knowledge_ids)
            for loc, ref in _knowledge_refs(s):
                if ref not in knowledge_ids:
                    result.problems.append(
                        _at(
                            doc,
                            loc,
                            f"unknown knowledge document '{ref}'{suggest(ref, known)}"
                            " — check the id in knowledge/ (front matter 'id' or the file path)",
                        )
                    )
        if knowledge_texts is not None:
            result.problems += [_at(doc, loc, msg) for loc, msg in knowledge_value_problems(s, knowledge_texts)]
        if require_references and s.references is None:
            result.problems.append(
                _at(
                    doc,
                    (),
                    "no reference trainees — add references.good and references.bad so CI can prove "
                    "the scenario and its rubric work",
                    key=True,
                )
            )
    return result


def _knowledge_refs(s: Scenario) -> Iterator[tuple[Loc, str]]:
    for i, k in enumerate(s.knowledge):
        yield ("knowledge", i), k
    ex = s.expectations
    for i, f in enumerate(ex.facts):
        yield ("expectations", "facts", i, "source"), f.source
    for i, st in enumerate(ex.steps):
        if st.source:
            yield ("expectations", "steps", i, "source"), st.source
    for i, r in enumerate(ex.red_lines):
        if r.source:
            yield ("expectations", "red_lines", i, "source"), r.source
    if ex.authority.source:
        yield ("expectations", "authority", "source"), ex.authority.source


def knowledge_value_problems(s: Scenario, texts: Mapping[str, str]) -> Iterator[tuple[Loc, str]]:
    """Variables whose values must appear in a knowledge document (``in_knowledge``) but do not — a size that is
    not in the size chart, a product code the shop does not sell."""
    for name, var in s.variables.items():
        if not var.in_knowledge:
            continue
        text = texts.get(var.in_knowledge)
        if text is None:
            yield (
                ("variables", name, "in_knowledge"),
                f"unknown knowledge document '{var.in_knowledge}'{suggest(var.in_knowledge, sorted(texts))}",
            )
            continue
        values: list[tuple[Loc, str]] = [(("variables", name, "default"), var.default)]
        values += [(("variables", name, "choices", i), c) for i, c in enumerate(var.choices)]
        values += [
            (("variants", ci, "values", name), case.values[name])
            for ci, case in enumerate(s.variants)
            if name in case.values
        ]
        for loc, value in values:
            if not appears_in(value, text):
                yield (
                    loc,
                    f"'{value}' does not appear in knowledge document '{var.in_knowledge}' — the exam could "
                    "draw a value the knowledge base does not back; fix the value or the document",
                )


def appears_in(value: str, text: str) -> bool:
    """Whether ``value`` appears in ``text`` as a whole token ("M" in a size chart, not inside "MAX")."""
    v = re.escape(str(value).strip())
    return bool(v) and re.search(rf"(?<![A-Za-z0-9]){v}(?![A-Za-z0-9])", text, re.IGNORECASE) is not None


def _is_schema_or_exam(path: Path) -> bool:
    # Exams live in an ``exams`` folder and question banks in ``questions`` folders, each with their own model (see
    # simulator.exam); the grader's service-rule lexicons live in ``rules`` (see simulator.grading.lexicon).
    return "exams" in path.parts or "rules" in path.parts or "questions" in path.parts
