"""`simulator play` with scripted replies (--replies, --json) and its error messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulator.cli import app

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "scenarios/qinghe/presale-size-hesitant-office.yaml"


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    """A scenario folder with one scenario (loading all of scenarios/ is slow and not the subject here)."""
    d = tmp_path / "pack"
    d.mkdir()
    (d / EXAMPLE.name).write_bytes(EXAMPLE.read_bytes())
    return d


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_EMBEDDER", "fake")
    monkeypatch.delenv("SIM_LLM_BASE_URL", raising=False)


def write(tmp_path: Path, *lines: str) -> Path:
    p = tmp_path / "replies.txt"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_replies_json_by_id(tmp_path: Path, pack: Path) -> None:
    replies = write(
        tmp_path,
        "亲，您好～方便告诉我您的身高体重吗？",
        "# a comment",
        "",
        "165cm、104斤建议拍M码哦",
        "放心，签收后7天内可以免费换一次尺码，还送运费险",
    )
    result = CliRunner().invoke(
        app,
        [
            "play",
            "presale-size-hesitant-office",
            "--replies",
            str(replies),
            "--json",
            "--scenarios",
            str(REPO / "scenarios"),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["outcome"] == "bought" and data["end_reason"] == "outcome"
    roles = [t["role"] for t in data["transcript"]]
    assert roles[:2] == ["customer", "agent"] and roles.count("agent") == 3
    assert data["session"]["kind"] == "playtest" and len(data["session"]["scenario_digest"]) == 64
    assert "ask" in data["transcript"][1]["acts"]


def test_replies_by_file_path_human_output(tmp_path: Path) -> None:
    replies = write(tmp_path, "嗯", "自己看", "不知道", "M", "哦")
    result = CliRunner().invoke(app, ["play", str(EXAMPLE), "--replies", str(replies), "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert "outcome: left (patience)" in result.output


def test_interactive_session_from_stdin() -> None:
    result = CliRunner().invoke(
        app,
        ["play", "presale-size-hesitant-office", "--scenarios", str(REPO / "scenarios")],
        input="亲，您好～方便告诉我您的身高体重吗？\n\n/quit\n",
    )
    assert result.exit_code == 0, result.output
    assert "the reply is empty" in result.output and "outcome: abandoned (trainee)" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["play", "no-such-scenario", "--scenarios", str(EXAMPLE.parent)], "no scenario 'no-such-scenario'"),
        (["play", "missing.yaml"], "no scenario file missing.yaml"),
    ],
)
def test_clear_errors(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert isinstance(result.exception, Exception) and message in str(result.exception)


def test_empty_replies_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["play", "presale-size-hesitant-office", "--replies", str(write(tmp_path, "# only"))]
    )
    assert result.exit_code != 0 and "has no replies" in str(result.exception)


def test_a_scenario_is_found_by_id_whatever_its_file_is_called(tmp_path: Path, pack: Path) -> None:
    from simulator.errors import NotFound
    from simulator.scenario.loader import find_scenario

    assert find_scenario("presale-size-hesitant-office", [pack]).path.name == EXAMPLE.name  # by file name
    (pack / EXAMPLE.name).rename(pack / "renamed.yaml")
    assert find_scenario("presale-size-hesitant-office", [pack]).path.name == "renamed.yaml"  # by loading all
    with pytest.raises(NotFound, match="presale-size-hesitant-office"):
        find_scenario("presale-size-hesitant", [pack])
