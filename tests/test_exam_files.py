"""Exam files and question banks: path:line:col errors, references to scenarios and banks, quotas, variants drawn
consistently with the knowledge base, schemas that are current."""

from __future__ import annotations

import functools
import shutil
from datetime import date
from pathlib import Path

import pytest
from exam_helpers import REPO

from simulator.errors import Problem
from simulator.exam.catalogue import exam_files, load_exam_set
from simulator.exam.definition import EdgeCases, ExamDefinition
from simulator.exam.questions import (
    QuestionBank,
    QuestionKind,
    ShortAnswerChecker,
    draw_questions,
    grade_choice,
    normalise_answer,
)
from simulator.exam.variants import VariantError, check_variants, draw_variant
from simulator.knowledge.documents import load_documents
from simulator.scenario.loader import load_scenario, load_scenario_file, load_scenarios

SCENARIOS = REPO / "scenarios"
KNOWLEDGE = REPO / "knowledge"


@functools.cache
def _scenarios() -> dict:
    return {k: v.scenario for k, v in load_scenarios([SCENARIOS]).scenarios.items()}


@functools.cache
def _docs():  # type: ignore[no-untyped-def]
    return load_documents([KNOWLEDGE])


def _load(tmp_path: Path, exam_text: str | None = None, bank_text: str | None = None) -> list[str]:
    exams, banks = [], [*exam_files([KNOWLEDGE])[1]]
    if exam_text is not None:
        p = tmp_path / "exams" / "x.yaml"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(exam_text, encoding="utf-8")
        exams.append(p)
    if bank_text is not None:
        p = tmp_path / "questions" / "b.yaml"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(bank_text, encoding="utf-8")
        banks = [p, *banks]
    found = load_exam_set(exams, banks, scenarios=_scenarios(), knowledge_ids=_docs().ids)
    return [_short(p) for p in found.problems if p.severity == "error"]


def _short(p: Problem) -> str:
    return p.format().replace(p.path, Path(p.path).name, 1)


GOOD_EXAM = """\
id: x-exam
title: 测试
locale: zh-CN
parts:
  - id: written
    kind: written
    title: 笔试
    minutes: 10
    draw: {banks: [qinghe-newhire], count: 5}
  - id: roleplay
    kind: roleplay
    title: 模拟
    minutes: 10
    scenarios: [presale-size-hesitant-office]
"""


def test_shipped_exams_and_banks_validate() -> None:
    exams, banks = exam_files([SCENARIOS, KNOWLEDGE])
    assert len(exams) == 2 and len(banks) == 2
    found = load_exam_set(exams, banks, scenarios=_scenarios(), knowledge_ids=_docs().ids)
    assert found.problems == []
    assert set(found.exams) == {"qinghe-newhire-cert", "northwind-newhire-cert"}
    qinghe = found.exams["qinghe-newhire-cert"].exam
    assert qinghe.pass_mark == 85 and [p.kind.value for p in qinghe.parts] == ["written", "roleplay"]
    assert len(qinghe.parts[1].scenarios) == 3  # a written test + three role-plays, as the issue asks


def test_a_good_exam_loads(tmp_path: Path) -> None:
    assert _load(tmp_path, GOOD_EXAM) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOOD_EXAM.replace("presale-size-hesitant-office", "presale-size-hesitant-ofice"),
            "x.yaml:14:17: parts[1].scenarios[0]: unknown scenario 'presale-size-hesitant-ofice' — did you mean "
            "'presale-size-hesitant-office'?",
        ),
        (
            GOOD_EXAM.replace("banks: [qinghe-newhire]", "banks: [qinghe-newhir]"),
            "x.yaml:9:20: parts[0].draw.banks[0]: unknown question bank 'qinghe-newhir' — did you mean "
            "'qinghe-newhire'?",
        ),
        (
            GOOD_EXAM.replace("kind: written", "kind: writen"),
            "x.yaml:6:11: parts[0].kind: 'writen' is not allowed — did you mean 'written'?",
        ),
        (
            GOOD_EXAM.replace("    minutes: 10\n    draw", "    minuts: 10\n    draw"),
            "x.yaml:8:5: parts[0].minuts: unknown field 'minuts' — did you mean 'minutes'?",
        ),
        (
            GOOD_EXAM.replace("count: 5", "count: 500"),
            "x.yaml:9:44: parts[0].draw.count: 500 is out of range — must be at most 200",
        ),
        (
            GOOD_EXAM.replace("count: 5}", "count: 30, tiers: {了解: 0.5}}"),
            "x.yaml:9:11: parts[0].draw: cannot draw the questions: the 了解 quota needs 15 questions; the banks have "
            "2 more — add questions to the banks or lower the quota",
        ),
        (
            GOOD_EXAM.replace("    scenarios: [presale-size-hesitant-office]\n", ""),
            "x.yaml:10:5: parts[1]: a roleplay part needs either 'scenarios' (a fixed list) or 'pool' (a draw)",
        ),
        ("id: x\ntitle: t\nlocale: zh-CN\nparts: [\n", "x.yaml:5:1: while parsing a flow node"),
        ("", "x.yaml:1:1: file is empty — an exam needs id, title, locale and parts"),
    ],
)
def test_malformed_exam_files_say_where(tmp_path: Path, text: str, expected: str) -> None:
    problems = _load(tmp_path, text)
    assert problems, text
    assert any(p.startswith(expected) for p in problems), problems


def test_malformed_bank_says_where(tmp_path: Path) -> None:
    bank = """\
id: bb
title: b
locale: zh-CN
questions:
  - id: q1
    kind: single
    tier: 必会
    topic: t
    prompt: p
    options: [a, b]
    answer: C
    source: qinghe/policies/exchanges
  - id: q2
    kind: true-false
    tier: 必会
    topic: t
    prompt: p
    answer: true
    source: qinghe/policies/exchangez
"""
    problems = _load(tmp_path, None, bank)
    assert problems == ["b.yaml:5:5: questions[0]: answer 'C' is not an option letter — use A, B"]
    fixed = bank.replace("answer: C", "answer: B")
    assert _load(tmp_path, None, fixed) == [
        "b.yaml:19:13: questions[1].source: unknown knowledge document 'qinghe/policies/exchangez' — did you mean "
        "'qinghe/policies/exchanges'?"
    ]


def test_validate_command_covers_exams(tmp_path: Path, repo_root: Path) -> None:
    from typer.testing import CliRunner

    from simulator.cli import app

    folder = tmp_path / "scenarios"
    shutil.copytree(SCENARIOS, folder)
    (folder / "exams" / "broken.yaml").write_text(GOOD_EXAM.replace("presale-size", "presale-sise"), encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(folder), str(KNOWLEDGE)])
    assert result.exit_code == 1
    assert "broken.yaml:14:17: parts[1].scenarios[0]: unknown scenario 'presale-sise-hesitant-office'" in result.output
    assert "Traceback" not in result.output


# -- drawing questions ----------------------------------------------------------------------------------------


def _bank() -> QuestionBank:
    from ruamel.yaml import YAML

    return QuestionBank.model_validate(YAML(typ="safe").load((KNOWLEDGE / "qinghe/questions/newhire.yaml").read_text()))


def test_draw_by_quota_with_a_stored_seed() -> None:
    exam = ExamDefinition.model_validate(
        {
            "id": "x-exam",
            "title": "t",
            "locale": "zh-CN",
            "parts": [
                {
                    "id": "ww",
                    "kind": "written",
                    "title": "w",
                    "minutes": 5,
                    "draw": {
                        "banks": ["qinghe-newhire"],
                        "count": 20,
                        "tiers": {"必会": 0.7},
                        "topics": {"平台规则": 2},
                    },
                }
            ],
        }
    )
    bank = _bank()
    draw = exam.parts[0].draw
    assert draw is not None
    a = draw_questions({bank.id: bank}, draw, 42)
    assert a == draw_questions({bank.id: bank}, draw, 42)  # the same seed draws the same test, options and all
    assert a != draw_questions({bank.id: bank}, draw, 43)
    for seed in range(30):
        drawn = draw_questions({bank.id: bank}, draw, seed)
        qs = [bank.question(d.id) for d in drawn]
        assert len({d.id for d in drawn}) == 20
        assert sum(q.tier.value == "必会" for q in qs) >= 14
        assert sum(q.topic == "平台规则" for q in qs) >= 2
    shuffled = [d for d in a if d.order and list(d.order) != sorted(d.order)]
    assert shuffled, "options are shown in a new order"


def test_choice_answers() -> None:
    bank = _bank()
    single = bank.question("exchange-free-once")
    assert grade_choice(single, normalise_answer(single, "a")).correct is True
    assert grade_choice(single, normalise_answer(single, "B")).earned == 0
    multi = bank.question("return-conditions")
    assert grade_choice(multi, normalise_answer(multi, ["C", "A", "B"])).correct is True
    assert grade_choice(multi, normalise_answer(multi, ["A", "B"])).correct is False  # all or nothing
    tf = bank.question("ship-no-promise")
    assert grade_choice(tf, normalise_answer(tf, "false")).correct is True
    with pytest.raises(ValueError):
        normalise_answer(single, "Z")
    with pytest.raises(ValueError):
        normalise_answer(single, ["A", "B"])


def test_short_answers_are_graded_by_the_knowledge_checker() -> None:
    from simulator.acts import ActDetector
    from simulator.grading.lexicon import lexicon_for

    checker = ShortAnswerChecker(ActDetector(None), None, {"zh-CN": lexicon_for(SCENARIOS / "rules", "zh-CN")})
    bank = _bank()
    q = bank.question("insurance-short")
    assert q.kind is QuestionKind.SHORT
    full = checker.grade(
        bank, q, "亲，寄回运费需要您先垫付，运费险由保险公司按距离赔付8到25元，退件签收后72小时内到您支付宝"
    )
    assert full.correct is True and full.earned == q.points
    other_words = checker.grade(bank, q, "您先付寄回的运费，之后保险理赔一般8-25元，签收退件72小时内打到支付宝")
    assert other_words.earned == q.points
    partial = checker.grade(bank, q, "您先垫付运费就行")
    assert partial.correct is None and 0 < partial.earned < q.points and partial.missing
    wrong = checker.grade(bank, q, "先垫付，运费险全额赔付，一般赔50元，72小时内到账")
    assert wrong.earned < q.points
    assert checker.grade(bank, q, None).earned == 0


# -- variants -------------------------------------------------------------------------------------------------


def test_variants_are_drawn_consistently_and_replay_exactly() -> None:
    s = load_scenario(SCENARIOS / "qinghe" / "presale-size-hesitant-office.yaml")
    chart = {"S": ("157", "90"), "M": ("165", "104"), "L": ("168", "118")}
    seen = set()
    for seed in range(40):
        v = draw_variant(s, seed, day=date(2026, 12, 1))
        assert v == draw_variant(s, seed, day=date(2026, 12, 1))  # the stored seed replays the same buyer
        assert (v.values["height"], v.values["weight"]) == chart[v.values["size"]]
        seen.add(v.case)
    assert seen == {"m-165", "s-157", "l-168"}
    assert not any(draw_variant(s, i, day=date.today(), edge_cases=EdgeCases.NEVER).edge for i in range(20))
    assert all(draw_variant(s, i, day=date.today(), edge_cases=EdgeCases.ONLY).edge for i in range(5))
    assert {v.case for v in check_variants(s, 3, day=date.today())} == {"m-165", "s-157", "l-168"}
    plain = load_scenario(SCENARIOS / "northwind" / "presale-boot-size-thick-socks.yaml")
    with pytest.raises(VariantError):
        draw_variant(plain, 1, day=date.today(), edge_cases=EdgeCases.ONLY)


def _variant_scenario(tmp_path: Path, variables: str, variants: str = "") -> list[str]:
    base = (REPO / "tests/data/good_scenarios/minimal.yaml").read_text(encoding="utf-8")
    text = base + "\nvariables:\n" + variables + ("\nvariants:\n" + variants if variants else "")
    text = text.replace("expectations:\n", "expectations:\n  authority: {max_compensation_yuan: 20}\n", 1)
    p = tmp_path / "v.yaml"
    p.write_text(text, encoding="utf-8")
    loaded, problems = load_scenario_file(p)
    if loaded is not None and not problems:
        found = load_scenarios(
            [p], knowledge_ids=_docs().ids, knowledge_texts={k: d.body for k, d in _docs().documents.items()}
        )
        problems = found.problems
    return [_short(x) for x in problems if x.location.startswith(("variables", "variants"))]


def test_variant_values_are_checked_against_knowledge_and_authority(tmp_path: Path) -> None:
    ok = "  size: {kind: choice, default: M, choices: [S, M, L], in_knowledge: qinghe/size/tops-dresses}\n"
    assert _variant_scenario(tmp_path, ok) == []
    bad_size = ok.replace("[S, M, L]", "[S, M, XXXL]")
    assert (
        _variant_scenario(tmp_path, bad_size)
        == [
            "v.yaml:42:51: variables.size.choices[2]: 'XXXL' does not appear in knowledge document "
            "'qinghe/size/tops-dresses' — the exam could draw a value the knowledge base does not back; fix the value "
            "or the document"
        ]
        or "XXXL" in _variant_scenario(tmp_path, bad_size)[0]
    )
    amount = "  amount: {kind: integer, default: '10', min: 5, max: 30, authority: max_compensation_yuan}\n"
    problems = _variant_scenario(tmp_path, amount)
    assert (
        len(problems) == 1 and "variables.amount.max: 30 is above the agent's max_compensation_yuan (20)" in problems[0]
    )
    above = amount.replace("min: 5, max: 30", "min: 25, max: 60").replace("'10'", "'30'") + "    side: above\n"
    above = above.replace(
        "authority: max_compensation_yuan}\n    side: above", "authority: max_compensation_yuan, side: above}"
    )
    assert _variant_scenario(tmp_path, above) == []
    case = "  - {id: c1, values: {size: XL, colour: red}}\n"
    problems = _variant_scenario(tmp_path, ok, case)
    assert any("variants[0].values.size: 'XL' is not one of the variable's choices" in p for p in problems)
    assert any("variants[0].values.colour: unknown variable 'colour'" in p for p in problems)


def test_exam_schemas_and_field_reference_are_current() -> None:
    from simulator.exam.schema import FIELDS_END, FIELDS_START, SCHEMAS, field_reference, schema_of

    for name, model in SCHEMAS.items():
        committed = (SCENARIOS / name).read_text(encoding="utf-8")
        assert committed == schema_of(model, name), f"{name} is stale — run `simulator schema --write` and commit it"
    doc = (REPO / "docs" / "exams.md").read_text(encoding="utf-8")
    start, end = doc.index(FIELDS_START), doc.index(FIELDS_END) + len(FIELDS_END)
    assert doc[start:end] == field_reference(), "run `simulator schema --guide` and commit docs/exams.md"


def test_editor_schemas_accept_the_shipped_exams_and_banks_and_flag_mistakes() -> None:
    import json

    import jsonschema
    from ruamel.yaml import YAML

    def errors(schema_file: str, text: str) -> list[str]:
        schema = json.loads((SCENARIOS / schema_file).read_text(encoding="utf-8"))
        return [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(YAML(typ="safe").load(text))]

    exams, banks = exam_files([SCENARIOS, KNOWLEDGE])
    for f in exams:
        assert f.read_text(encoding="utf-8").splitlines()[0] == "# yaml-language-server: $schema=../exam.schema.json"
        assert errors("exam.schema.json", f.read_text(encoding="utf-8")) == [], f
    for f in banks:
        assert errors("question-bank.schema.json", f.read_text(encoding="utf-8")) == [], f
    assert errors("exam.schema.json", GOOD_EXAM.replace("minutes: 10\n    draw", "minuts: 10\n    draw"))


def test_every_exam_field_is_described() -> None:
    from pydantic import BaseModel

    from simulator.scenario.loader import _unwrap

    seen: set[type] = set()

    def walk(model: type[BaseModel]) -> None:
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"
            for a in _unwrap(field.annotation):
                if isinstance(a, type) and issubclass(a, BaseModel) and a not in seen:
                    seen.add(a)
                    walk(a)

    walk(ExamDefinition)
    walk(QuestionBank)


def test_date_and_integer_variables_are_drawn_in_range() -> None:
    from simulator.scenario.model import Scenario

    base = load_scenario(REPO / "tests/data/good_scenarios/minimal.yaml").model_dump(mode="json")
    base["variables"] = {
        "signed_on": {"kind": "date", "default": "前天", "min": -6, "max": -1, "format": "%m月%d日"},
        "days": {"kind": "integer", "default": "3", "min": 1, "max": 6},
        "amount": {"kind": "integer", "default": "10", "min": 5, "max": 50, "authority": "max_compensation_yuan"},
    }
    base["expectations"]["authority"] = {"max_compensation_yuan": 20}
    s = Scenario.model_validate(base)
    day = date(2026, 3, 10)
    allowed = {f"03月{d:02d}日" for d in range(4, 10)}
    for seed in range(50):
        v = draw_variant(s, seed, day=day)
        assert v.values["signed_on"] in allowed
        assert 1 <= int(v.values["days"]) <= 6
        assert 5 <= int(v.values["amount"]) <= 20  # drawn inside the agent's authority, as declared
