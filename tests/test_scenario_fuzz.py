"""Property tests: arbitrary bytes and arbitrary YAML never raise anything but the project's own error type."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from simulator.errors import SimulatorError
from simulator.scenario.loader import load_scenario, load_scenario_file

GOOD = (Path(__file__).parent / "data" / "good_scenarios" / "minimal.yaml").read_text(encoding="utf-8")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(["pre-sales", "zh-CN", "easy", "bought", "ask", "必会", "{x}", "a" * 2000]),
)
keys = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["id", "title", "locale", "persona", "beats", "when", "say", "after", "opening", "goal"]),
)
yaml_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=25,
)


def _dump(value: object) -> str:
    import io

    buf = io.StringIO()
    YAML(typ="safe").dump(value, buf)
    return buf.getvalue()


def _never_crashes(text: str | bytes) -> None:
    loaded, problems = load_scenario_file("fuzz.yaml", text)
    assert (loaded is None) == any(p.severity == "error" for p in problems)
    for p in problems:
        assert p.line >= 0 and p.message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_arbitrary_bytes(data: bytes) -> None:
    _never_crashes(data)


@settings(max_examples=300, deadline=None)
@given(yaml_values)
def test_arbitrary_yaml(value: object) -> None:
    _never_crashes(_dump(value))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_good_scenario(data: st.DataObject) -> None:
    """Random edits of a valid file: delete, duplicate or replace a line, or splice random text in."""
    lines = GOOD.splitlines(keepends=True)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(lines) - 1))
        op = data.draw(st.sampled_from(["delete", "duplicate", "replace", "indent", "splice"]))
        if op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "replace":
            lines[i] = data.draw(st.text(max_size=40)) + "\n"
        elif op == "indent":
            lines[i] = " " * data.draw(st.integers(1, 5)) + lines[i]
        else:
            pos = data.draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:pos] + data.draw(st.text(max_size=8)) + lines[i][pos:]
    _never_crashes("".join(lines))


@pytest.mark.parametrize(
    "text",
    [
        "a: &a [*a]",  # self-referencing alias
        "a: &x [1,1,1,1,1,1,1,1,1]\nb: &y [*x,*x,*x,*x,*x,*x,*x,*x,*x]\nc: &z [*y,*y,*y,*y,*y,*y,*y,*y,*y]\n"
        "d: &w [*z,*z,*z,*z,*z,*z,*z,*z,*z]\ne: [*w,*w,*w,*w,*w,*w,*w,*w,*w]\nf: [*w,*w,*w,*w,*w,*w,*w,*w,*w]\n",
        "[" * 5000,
        "- " * 3000 + "x",
        "!!python/object/apply:os.system ['echo hi']",
        "id: !!binary AAAA",
        "\ufeffid: bom",
        "x" * 2_000_000,
    ],
    ids=["recursive-alias", "alias-bomb", "deep-flow", "deep-block", "python-tag", "binary-tag", "bom", "huge"],
)
def test_hostile_inputs(text: str) -> None:
    _never_crashes(text)


def test_load_scenario_raises_only_project_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: [", encoding="utf-8")
    with pytest.raises(SimulatorError) as info:
        load_scenario(bad)
    assert "bad.yaml:1:" in str(info.value)
