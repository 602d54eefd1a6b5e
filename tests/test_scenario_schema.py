"""The committed JSON Schema is current, and every shipped scenario points its editor at it."""

from __future__ import annotations

from pathlib import Path

from simulator.scenario.model import Scenario
from simulator.scenario.schema import SCHEMA_FILE, schema_comment, schema_text

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "scenarios"


def test_committed_schema_is_current() -> None:
    committed = (SCENARIOS / SCHEMA_FILE).read_text(encoding="utf-8")
    assert committed == schema_text(), "scenario.schema.json is stale — run `simulator schema --write` and commit it"


def test_every_scenario_file_starts_with_schema_comment() -> None:
    files = [f for f in SCENARIOS.rglob("*.y*ml") if "rules" not in f.parts and "exams" not in f.parts]
    assert files
    for f in files:
        first = f.read_text(encoding="utf-8").splitlines()[0]
        assert first == schema_comment(f, SCENARIOS), f"{f}: first line must be {schema_comment(f, SCENARIOS)!r}"


def _fields(model: type, seen: set[type]) -> list[str]:
    from pydantic import BaseModel

    from simulator.scenario.loader import _unwrap

    out = []
    for name, field in model.model_fields.items():
        assert field.description, f"{model.__name__}.{name} has no description"
        out.append(name)
        for a in _unwrap(field.annotation):
            if isinstance(a, type) and issubclass(a, BaseModel) and a not in seen:
                seen.add(a)
                out += _fields(a, seen)
    return out


def test_every_field_is_described_and_documented() -> None:
    guide = (SCENARIOS / "README.md").read_text(encoding="utf-8")
    for name in _fields(Scenario, {Scenario}):
        assert f"`{name}`" in guide, f"scenarios/README.md does not document the field `{name}`"


def test_guide_field_reference_is_current() -> None:
    from simulator.scenario.schema import FIELDS_END, FIELDS_START, field_reference

    guide = (SCENARIOS / "README.md").read_text(encoding="utf-8")
    start, end = guide.index(FIELDS_START), guide.index(FIELDS_END) + len(FIELDS_END)
    assert guide[start:end] == field_reference(), "run `simulator schema --guide` and commit scenarios/README.md"


def _json_schema_errors(path: Path) -> list[str]:
    import json

    import jsonschema
    from ruamel.yaml import YAML

    schema = json.loads((SCENARIOS / SCHEMA_FILE).read_text(encoding="utf-8"))
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    return [e.message for e in validator.iter_errors(data)]


def test_editor_schema_accepts_what_the_loader_accepts() -> None:
    """What validates with `simulator validate` shows no red squiggles in the editor."""
    good = [REPO / "tests/data/good_scenarios/minimal.yaml", *sorted(SCENARIOS.glob("*/*.yaml"))]
    for f in good:
        if "rules" in f.parts or "exams" in f.parts:
            continue
        assert _json_schema_errors(f) == [], f


def test_editor_schema_flags_schema_mistakes() -> None:
    bad = REPO / "tests/data/bad_scenarios"
    for name in (
        "04-misspelt-key",
        "05-misspelt-enum",
        "06-nested-unknown-field",
        "07-missing-required",
        "09-invalid-id",
        "13-out-of-range",
        "25-wrong-type-number",
    ):
        assert _json_schema_errors(bad / f"{name}.yaml"), name
