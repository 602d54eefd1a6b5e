"""JSON Schema for scenario files, for editor autocomplete and inline errors (yaml-language-server)."""

from __future__ import annotations

import json
from pathlib import Path

from simulator.scenario.model import Scenario

SCHEMA_FILE = "scenario.schema.json"
SCHEMA_ID = "https://cs-simulator.local/schema/scenario.schema.json"


def scenario_schema() -> dict[str, object]:
    """The JSON Schema of a scenario file."""
    schema = Scenario.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    return schema


def schema_text() -> str:
    """The schema as it is committed: stable key order, two-space indent, trailing newline."""
    return json.dumps(scenario_schema(), ensure_ascii=False, indent=2) + "\n"


def write_schema(scenarios_dir: Path) -> Path:
    """Write the schema into the scenarios folder and return its path."""
    target = scenarios_dir / SCHEMA_FILE
    target.write_text(schema_text(), encoding="utf-8")
    return target


def schema_comment(yaml_path: Path, scenarios_dir: Path) -> str:
    """The first line every scenario file carries, pointing at the schema relative to the file."""
    import os

    rel = os.path.relpath(scenarios_dir / SCHEMA_FILE, yaml_path.parent)
    return f"# yaml-language-server: $schema={Path(rel).as_posix()}"
