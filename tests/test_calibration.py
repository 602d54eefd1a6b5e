"""Calibration to a shop's QA team: labels read with file:line problems, a profile fitted and measured by
cross-validation, and the grader remapping its scores with it (unscored stays unscored)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulator.cli import app as cli
from simulator.errors import SimulatorError
from simulator.grading import Grader
from simulator.grading.calibration import OVERALL, Profile, features, load_profile
from simulator.grading.calibrator import fit_profile
from simulator.grading.labels import read_labels
from simulator.settings import Settings
from simulator.transcript import Transcript
from simulator.turn import Turn

ANSWER = "这款有货的，M码适合您，下单后48小时内发货哦"


def _transcript(i: int) -> Transcript:
    """Conversation i: greets on even i, answers curtly on every other pair — the QA team only cares about the
    greeting, the raw grader about both."""
    greet = i % 2 == 0
    curt = (i // 2) % 2 == 0
    reply = ("亲，您好～" if greet else "") + ("嗯" if curt else ANSWER)
    return Transcript(
        id=f"c{i:02d}",
        turns=[
            Turn(role="customer", text="在吗，这件外套有M码吗？"),
            Turn(role="agent", text=reply),
            Turn(role="customer", text="好的，那我下单了"),
            Turn(role="agent", text="好的亲，感谢支持，有问题随时找我哦"),
        ],
    )


def _human(i: int) -> float:
    return (88.0 if i % 2 == 0 else 45.0) + (i % 3)


@pytest.fixture(scope="module")
def grader() -> Grader:
    return Grader(Settings(), calibration=False)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("labels")
    chats = folder / "chats.jsonl"
    chats.write_text(
        "".join(json.dumps(_transcript(i).to_dict(), ensure_ascii=False) + "\n" for i in range(40)), encoding="utf-8"
    )
    labels = folder / "labels.csv"
    with labels.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["transcript", "score", "service"])
        for i in range(40):
            w.writerow([f"c{i:02d}", _human(i), ""])
    return chats, labels


def test_features_are_read_generically_from_the_grade(grader: Grader) -> None:
    g = grader.grade(_transcript(0))
    f = features(g)
    assert f["service:greeting"] == 1.0 and f["overall"] == pytest.approx(g.raw_overall / 100)
    assert f["no-red-line"] == 1.0
    assert "service:greeting" not in features(g, "technique")
    assert features(grader.grade(_transcript(1)))["service:greeting"] == 0.0


def test_cross_validated_agreement_improves_and_the_profile_remaps_the_grade(
    grader: Grader, data: tuple[Path, Path]
) -> None:
    chats, labels = data
    rows, problems = read_labels(labels, [chats])
    assert not problems and len(rows) == 40
    grades = [grader.grade(r.transcript) for r in rows]
    profile = fit_profile(grades, [r.scores for r in rows], folds=5, source="labels.csv")
    a = profile.models[OVERALL].agreement
    assert a["n"] == 40 and a["folds"] == 5
    # Held-out rows only: the fitted model tracks the greeting the team cares about, the raw grader does not.
    assert a["after"]["mae"] < a["before"]["mae"] and a["after"]["mae"] < a["rescaled"]["mae"]
    assert a["after"]["mae"] < 5
    assert a["after"]["spearman"] > a["before"]["spearman"]
    assert profile.models[OVERALL].weights.get("service:greeting", 0) > 0

    calibrated = Grader(Settings(), calibration=profile)
    greets, silent = calibrated.grade(_transcript(2)), calibrated.grade(_transcript(3))
    raw = grader.grade(_transcript(2))
    assert greets.calibration == profile.name and raw.calibration is None
    assert greets.raw_overall == raw.overall and greets.overall != raw.overall
    assert greets.overall == pytest.approx(88.5, abs=4) and silent.overall == pytest.approx(45.5, abs=4)
    # Only the overall was labelled: dimension scores stay the grader's own.
    assert all(d.score == d.raw_score for d in greets.dimensions.values())
    # Stored and read back, the calibrated figures survive.
    from simulator.grading.result import Grade

    back = Grade.from_dict(json.loads(json.dumps(greets.to_dict())))
    assert back.overall == greets.overall and back.raw_overall == greets.raw_overall
    assert back.calibration == profile.name
    assert calibrated.version != grader.version

    # Unscored stays unscored: given up after one reply.
    given_up = Transcript(
        id="x", outcome="abandoned", turns=[Turn(role="customer", text="在吗"), Turn(role="agent", text="您好")]
    )
    assert calibrated.grade(given_up).overall is None

    # The settings name the profile: the grader loads it.
    saved = labels.parent / "profile.json"
    profile.save(saved)
    from_settings = Grader(Settings(calibration=saved))
    assert from_settings.calibration is not None
    assert from_settings.grade(_transcript(2)).overall == greets.overall
    assert load_profile(saved).to_dict() == Profile.from_dict(profile.to_dict()).to_dict()


def test_same_labels_same_profile(grader: Grader, data: tuple[Path, Path]) -> None:
    chats, labels = data
    rows, _ = read_labels(labels, [chats])
    grades = [grader.grade(r.transcript) for r in rows]
    a = fit_profile(grades, [r.scores for r in rows], source="l")
    b = fit_profile(grades, [r.scores for r in rows], source="l")
    assert a.models[OVERALL].to_dict() == b.models[OVERALL].to_dict()


def test_too_few_rows_is_refused(grader: Grader) -> None:
    grades = [grader.grade(_transcript(i)) for i in range(6)]
    with pytest.raises(SimulatorError, match="fewer than 20"):
        fit_profile(grades, [{"overall": _human(i)} for i in range(6)])


def test_bad_rows_say_file_and_line(tmp_path: Path, data: tuple[Path, Path]) -> None:
    chats, _ = data
    one = tmp_path / "one.json"
    one.write_text(json.dumps(_transcript(0).to_dict(), ensure_ascii=False), encoding="utf-8")
    labels = tmp_path / "bad.csv"
    labels.write_text(
        "transcript,score,process\n"
        "c01,70,\n"  # 2: fine
        "c02,great,\n"  # 3: not a number
        ",80,\n"  # 4: no transcript
        "nowhere,80,\n"  # 5: unknown id
        "c01,60,\n"  # 6: labelled twice
        "c03,,\n"  # 7: no score
        "c04,80,90,1\n"  # 8: too many fields
        "one.json,75,80\n"  # 9: fine, a file next to the CSV
        "chats.jsonl,75,\n"  # 10: not found (relative to the CSV folder) — or several transcripts
        "c05,nan,\n",  # 11: not finite
        encoding="utf-8",
    )
    (tmp_path / "chats.jsonl").write_text(chats.read_text(encoding="utf-8"), encoding="utf-8")
    rows, problems = read_labels(labels, [chats])
    assert [r.line for r in rows] == [2, 9]
    assert rows[1].scores == {"overall": 75.0, "process": 80.0}
    got = {p.line: p.message for p in problems}
    assert sorted(got) == [3, 4, 5, 6, 7, 8, 10, 11]
    assert "not a number" in got[3] and "labelled twice (first on line 2)" in got[6]
    assert "holds 40 transcripts" in got[10] and "chats.jsonl#<id>" in got[10]
    assert all(p.format().startswith(f"{p.path}:{p.line}:") for p in problems)

    header = tmp_path / "header.csv"
    header.write_text("name,rating\nc01,5\n", encoding="utf-8")
    _, [p] = read_labels(header)
    assert p.line == 1 and "transcript column" in p.message and "score column" in p.message


def test_the_command_fits_reports_and_saves(tmp_path: Path, data: tuple[Path, Path]) -> None:
    chats, labels = data
    bad = tmp_path / "labels.csv"
    bad.write_text(labels.read_text(encoding="utf-8") + "c99,x,\n", encoding="utf-8")
    out = tmp_path / "p.json"
    r = CliRunner().invoke(cli, ["calibrate", str(bad), "-t", str(chats), "--no-kb", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "ρ before" in r.output and "overall" in r.output
    assert f"{bad.name}:42:0: score 'x' is not a number" in r.output.replace(str(tmp_path) + "/", "")
    profile = load_profile(out)
    assert profile.n == 40 and profile.version == 1 and profile.created
    r = CliRunner().invoke(cli, ["calibrate", str(bad), "--no-kb", "--scale", "5"])
    assert r.exit_code != 0


def test_a_broken_profile_says_which_file(tmp_path: Path) -> None:
    p = tmp_path / "cal.json"
    p.write_text('{"version": 1, "models": {"overall": {"intercept": 0}}}', encoding="utf-8")
    with pytest.raises(SimulatorError, match=r"cal\.json: bad calibration profile"):
        Grader(Settings(calibration=p))
    with pytest.raises(SimulatorError, match="no such calibration profile"):
        Grader(Settings(calibration=tmp_path / "missing.json"))


def test_trainers_see_the_agreement_in_the_web_app(  # type: ignore[no-untyped-def]
    app, tmp_path: Path, grader: Grader, data: tuple[Path, Path]
) -> None:
    from fakes import login

    c, token = login(app, "laowang")
    none = c.get("/trainer/calibration")
    assert none.status_code == 200 and "未使用校准配置" in none.text and "simulator calibrate" in none.text
    assert "/trainer/calibration" in c.get("/trainer").text
    trainee, _ = login(app, "xiaoman")
    assert trainee.get("/trainer/calibration").status_code in (303, 403, 404)

    chats, labels = data
    rows, _ = read_labels(labels, [chats])
    profile = fit_profile([grader.grade(r.transcript) for r in rows], [r.scores for r in rows], source="qa.csv")
    path = tmp_path / "cal.json"
    profile.save(path)
    app.state.services.engine.settings.calibration = path
    page = c.get("/trainer/calibration").text
    a = profile.models[OVERALL].agreement
    assert "正在使用的校准配置" in page and "qa.csv" in page and ">40<" in page
    assert f"{a['after']['mae']:.2f}" in page and f"{a['before']['spearman']:.2f}" in page
    assert "在拟合时没见过的会话上，校准后的分数" not in page  # it improves: no warning
    c.post("/lang", data={"lang": "en", "next": "/", "csrf_token": token})
    en = c.get("/trainer/calibration").text
    assert "Calibration profile in use" in en and "Rank agreement" in en

    path.write_text("{}", encoding="utf-8")
    broken = c.get("/trainer/calibration").text
    assert "calibration-error" in broken and "make one with `simulator calibrate`" in broken
