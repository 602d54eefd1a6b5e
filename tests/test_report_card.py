"""The report-card benchmark (bench/report_card.py): its gold-set loader, its mapping table and its arithmetic.

No test here asserts the grader's figures: the benchmark measures the grader, it does not pin it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from report_card import make_transcript  # noqa: E402
from report_card_data import DATA_DIR, TAXONOMY, Fault, load_gold  # noqa: E402
from report_card_mapping import NOT_FINDINGS, classify, scenario_ids, unmapped_scenario_ids  # noqa: E402
from report_card_metrics import Found, ParaphraseCase, figures, match_item, paraphrase_summary  # noqa: E402

from simulator.grading import Grader  # noqa: E402
from simulator.scenario.loader import load_scenarios  # noqa: E402
from simulator.settings import Settings  # noqa: E402


@pytest.fixture(scope="module")
def scenarios() -> dict:
    loaded = load_scenarios([REPO / "scenarios"])
    return {sid: ls.scenario for sid, ls in loaded.scenarios.items()}


@pytest.fixture(scope="module")
def gold(scenarios: dict):
    return load_gold(None, {sid: scenario_ids(s) for sid, s in scenarios.items()})


# --- the loader --------------------------------------------------------------------------------------------------
CTX = [{"role": "customer", "text": "在吗，这条裙子165穿什么码"}]


def _line(**over: object) -> str:
    item = {
        "id": "x-1",
        "scenario": "presale-size-hesitant-office",
        "split": "tune",
        "turns": CTX,
        "reply": "M码",
        "faults": [{"fault": "curt", "ref": None, "note": "bare size"}],
    }
    item.update(over)
    return json.dumps({k: v for k, v in item.items() if v is not ...}, ensure_ascii=False)


def test_loader_reports_every_bad_line_with_file_and_line(tmp_path: Path, scenarios: dict) -> None:
    lines = [
        _line(id="ok-1"),
        "{not json",
        _line(id="bad-class", faults=[{"fault": "grumpy", "ref": None, "note": "?"}]),
        _line(id="bad-split", split="train"),
        _line(id="bad-ref", faults=[{"fault": "wrong-fact", "ref": "no-such-fact", "note": "x"}]),
        _line(id="no-note", faults=[{"fault": "curt", "ref": None, "note": ""}]),
        _line(id="ends-with-agent", turns=[*CTX, {"role": "agent", "text": "在的"}]),
        _line(id="both-kinds", complete=True),
        _line(id="ok-1"),
        _line(
            id="para", reply="M码哦", faults=[], paraphrase_of="ok-1", turns=[{"role": "customer", "text": "别的问题"}]
        ),
        json.dumps(
            {
                "id": "conv-1",
                "scenario": "presale-size-hesitant-office",
                "split": "holdout",
                "turns": [*CTX, {"role": "agent", "text": "M"}],
                "complete": True,
                "outcome": "left",
                "verdict": "fail",
                "faults": [{"fault": "curt", "ref": None, "note": "x", "turn": 0}],
            }
        ),
        _line(id="extra-key", colour="red"),
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    got = load_gold([path], {sid: scenario_ids(s) for sid, s in scenarios.items()})
    messages = [p.format() for p in got.problems]
    text = "\n".join(messages)
    expected = {
        2: "invalid JSON",
        3: "unknown fault class 'grumpy'",
        4: "'split' must be one of",
        5: "ref 'no-such-fact'",
        6: "say why in 'note'",
        7: "must end with the customer's message",
        8: "either 'reply'",
        9: "duplicate id 'ok-1'",
        10: "the context differs from 'ok-1'",
        11: "is not the index of an agent turn",
        12: "unknown key 'colour'",
    }
    for line, fragment in expected.items():
        assert any(m.startswith(f"{path.name}:{line}:") or f"bad.jsonl:{line}:" in m for m in messages), (
            line,
            text,
        )
        assert any(f":{line}:" in m and fragment in m for m in messages), (line, fragment, text)
    assert set(got.items) == {"ok-1"}, "only the valid items are kept"


def test_shipped_gold_set_is_valid_and_as_large_as_the_issue_asks(gold, scenarios: dict) -> None:
    assert not gold.problems, "\n".join(p.format() for p in gold.problems)
    items = list(gold.items.values())
    replies = [i for i in items if i.kind == "reply"]
    convs = [i for i in items if i.kind == "conversation"]
    assert len(replies) >= 330
    assert len(convs) >= 40
    used = {i.scenario for i in items}
    assert len(used) >= 15
    english = {sid for sid, s in scenarios.items() if s.locale.value == "en"}
    assert english <= used, "all English scenarios are in the gold set"
    holdout = [i for i in items if i.split == "holdout"]
    assert len(holdout) >= 0.30 * len(items)
    holdout_only = {s for s in used if all(i.split == "holdout" for i in items if i.scenario == s)}
    assert len(holdout_only) >= 4
    assert {i.verdict for i in convs} >= {"pass", "fail", "unscored", None}
    assert all(i.faults == [] for i in convs if i.verdict == "pass"), "a good conversation passes with no finding"


def test_readme_defines_every_fault_class() -> None:
    readme = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    missing = [c for c in TAXONOMY if f"`{c}`" not in readme]
    assert not missing, f"README.md does not define: {missing}"


# --- the mapping table ----------------------------------------------------------------------------------------
def test_mapping_covers_every_criterion_the_grader_can_emit(gold, scenarios: dict) -> None:
    """Fails when the grader emits a criterion or red-line id the table cannot classify."""
    grader = Grader(Settings())
    unmapped: set[tuple[str, str]] = set()
    for sid in sorted({i.scenario for i in gold.items.values()}):
        scenario = scenarios[sid]
        assert not unmapped_scenario_ids(scenario), sid
        lexicon = grader.lexicon(scenario.locale.value)
        emitted = {rule.id for rule in lexicon.red_lines} | {"authority-exceeded", "phone-leak"}
        red_ids = emitted | {r.id for r in scenario.expectations.red_lines}
        emitted = set(red_ids)
        for item in [i for i in gold.items.values() if i.scenario == sid and i.kind == "conversation"]:
            grade = grader.grade(make_transcript(item), scenario)
            emitted |= {c.id for d in grade.dimensions.values() for c in d.criteria}
            emitted |= {f.criterion for f in grade.findings()} | {f.red_line or f.criterion for f in grade.red_lines}
        for cid in emitted - NOT_FINDINGS:
            for turn in (None, 1):
                if classify(cid, turn, cid if cid in red_ids else None, scenario) is None:
                    unmapped.add((sid, cid))
    assert not unmapped, f"criterion ids missing from bench/report_card_mapping.py: {sorted(unmapped)}"


def test_mapping_reads_scenario_ids_through_the_scenario_file(scenarios: dict) -> None:
    s = scenarios["presale-size-hesitant-office"]
    assert classify("size-m", 3, None, s).classes == ("wrong-fact",)
    assert classify("size-m", None, None, s).classes == ("missing-fact",)
    assert classify("ask-measurements", 1, None, s).classes == ("no-needs-discovery",)
    assert classify("fit-guarantee", 1, "fit-guarantee", s).classes == ("over-promise",)
    assert classify("fit-guarantee", 1, "fit-guarantee", s).ref == "fit-guarantee"
    late = scenarios["logistics-late-parcel-furious-office"]
    assert classify("blame-courier", 1, "blame-courier", late).classes == ("push-to-courier",)
    assert classify("verify-order", None, None, late).classes == ("skipped-verification",)
    assert classify("no-such-criterion", 1, None, late) is None


# --- the arithmetic -------------------------------------------------------------------------------------------
def _found(cid: str, classes: tuple[str, ...], ref: str | None = None, turn: int | None = 1, red: bool = False):
    return Found(item="t", turn=turn, criterion=cid, classes=classes, ref=ref, red_line=red)


def test_precision_recall_repeats_and_classes_on_a_hand_made_fixture() -> None:
    labels = [
        Fault("wrong-fact", "size-m", "L instead of M"),
        Fault("over-promise", "fit-guarantee", "guarantee", alternatives=(("red-line:invented-fact", None),)),
        Fault("curt", None, "bare"),
    ]
    findings = [
        _found("size-m", ("wrong-fact",), "size-m"),  # matches label 1
        _found("kb-consistent", ("wrong-fact",)),  # unspecific: label 1 again → a repeat
        _found("fit-guarantee", ("over-promise",), "fit-guarantee", red=True),  # label 2
        _found("exchange-policy", ("wrong-fact",), "exchange-policy"),  # wrong ref: false
        _found("greeting", ("no-greeting",)),  # false
        _found("mystery", ()),  # unmapped: false
    ]
    r = match_item("t", "tune", "reply", labels, findings, red_labels=[False, True, False])
    assert r.finding_status == ["match", "repeat", "match", "false", "false", "false"]
    f = figures([r])
    assert (f.precision.hits, f.precision.total) == (3, 6)
    assert (f.recall.hits, f.recall.total) == (2, 3)
    assert f.repeats == 1
    assert f.recall_by_class["curt"].hits == 0 and f.recall_by_class["curt"].total == 1
    assert (f.precision_by_class["wrong-fact"].hits, f.precision_by_class["wrong-fact"].total) == (2, 3)
    assert f.precision_by_dim["service"].total == 1 and f.precision_by_dim["service"].hits == 0
    assert f.unmapped["mystery"] == 1
    assert (f.red_precision.hits, f.red_precision.total) == (1, 1)
    assert (f.red_recall.hits, f.red_recall.total) == (1, 1)
    assert f.missed["curt"] == 1


def test_a_clean_reply_and_whole_conversation_turns() -> None:
    clean = match_item("c", "holdout", "reply", [], [_found("closing", ("no-closing-attempt",))])
    silent = match_item("s", "holdout", "reply", [], [])
    conv_labels = [Fault("no-empathy", None, "x", turn=3), Fault("missing-fact", "f1", "never said")]
    conv = match_item(
        "v",
        "holdout",
        "conversation",
        conv_labels,
        [
            _found("empathy", ("no-empathy",), turn=5),  # wrong turn → false
            _found("empathy", ("no-empathy",), turn=3),  # right turn
            _found("f1", ("missing-fact",), "f1", turn=None),  # conversation-level
        ],
    )
    conv.verdict_expected, conv.verdict_actual = "fail", "pass"
    f = figures([clean, silent, conv])
    assert (f.clean_replies.hits, f.clean_replies.total) == (1, 2)
    assert conv.finding_status == ["false", "match", "match"]
    assert (f.verdicts.hits, f.verdicts.total) == (0, 1)
    assert (f.precision.hits, f.precision.total) == (2, 4)


def test_matching_prefers_the_assignment_that_finds_most_faults() -> None:
    # finding 0 could serve either label, finding 1 only the first: both labels must be found.
    labels = [Fault("rude", None, "a"), Fault("blame-buyer", None, "b")]
    findings = [_found("politeness", ("rude", "blame-buyer")), _found("forbidden-words", ("rude",))]
    r = match_item("m", "tune", "reply", labels, findings)
    assert all(m is not None for m in r.label_match)


def test_paraphrase_deltas() -> None:
    cases = [
        ParaphraseCase("p1", "o", "tune", 80.0, 81.5, 0, 0),
        ParaphraseCase("p2", "o", "tune", 80.0, 70.0, 0, 10),
        ParaphraseCase("p3", "o", "holdout", None, 75.0, 0, 0),
    ]
    s = paraphrase_summary(cases)
    assert (s["tune"].hits, s["tune"].total) == (1, 2)
    assert (s["tune_turn"].hits, s["tune_turn"].total) == (1, 2)
    assert (s["holdout"].hits, s["holdout"].total) == (0, 1)
    assert [c.item for c in s["worst"]] == ["p2", "p1", "p3"], "tune cases first, then holdout, worst first"
