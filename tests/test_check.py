"""`simulator check` and `simulator grade` end to end on real scenario files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from simulator.cli import app
from simulator.cli.check import check_engine, check_scenarios
from simulator.settings import Settings

REPO = Path(__file__).resolve().parent.parent
SCENARIO = REPO / "scenarios" / "qinghe" / "presale-size-hesitant-office.yaml"


def test_good_passes_bad_fails_and_expected_findings_appear(tmp_path: Path) -> None:
    shutil.copy(SCENARIO, tmp_path / SCENARIO.name)
    results, problems = check_scenarios(check_engine(Settings()), tmp_path)
    assert problems == []
    by_side = {r.side: r for r in results}
    assert by_side["good"].ok and by_side["good"].passed is True
    assert by_side["bad"].ok and by_side["bad"].passed is False


def test_check_reports_an_expected_finding_that_never_appears(tmp_path: Path) -> None:
    text = SCENARIO.read_text(encoding="utf-8").replace(
        "expect_findings: [ask-measurements, size-m]", "expect_findings: [ask-measurements, size-m, fit-guarantee]"
    )
    (tmp_path / SCENARIO.name).write_text(text, encoding="utf-8")
    results, _ = check_scenarios(check_engine(Settings()), tmp_path)
    bad = next(r for r in results if r.side == "bad")
    assert not bad.ok and "fit-guarantee" in bad.problems[0]


def test_grade_cli_grades_many_transcripts_in_one_run(tmp_path: Path) -> None:
    lines = [
        {
            "id": "good",
            "turns": [
                {"role": "customer", "text": "在吗"},
                {"role": "agent", "text": "亲，您好～在的，请问有什么可以帮您？"},
            ],
        },
        {"id": "rude", "turns": [{"role": "customer", "text": "在吗？"}, {"role": "agent", "text": "嗯"}]},
    ]
    p = tmp_path / "t.jsonl"
    p.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8")
    result = CliRunner().invoke(app, ["grade", str(p), "--json", "--no-kb"])
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [o["id"] for o in out] == ["good", "rude"]
    assert out[0]["overall"] > out[1]["overall"]
    assert out[0]["scores"]["knowledge"] is None


def test_grade_cli_reports_bad_input_without_traceback(tmp_path: Path) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_text('{"id": "x", "turns": [{"role": "robot", "text": "hi"}]}\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["grade", str(p), "--no-kb"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
