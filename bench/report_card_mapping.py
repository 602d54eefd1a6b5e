"""How the grader's findings translate into the benchmark's fault classes.

The table is the benchmark's, not the grader's: grader criterion ids map to the trainer-facing classes of
``report_card_data.TAXONOMY``. Scenario fact, step and red-line ids map through the scenario file (a fact found
at a turn is a wrong fact, one reported for the whole conversation a missing fact; a step through its act; a red
line through its kind). A criterion id that maps nowhere is *unmapped*: it still counts as a finding (a false one)
and is listed, so nobody can improve precision by leaving a criterion out of this table.

When a criterion covers several classes (``politeness`` reports rudeness, blame and a cold tone alike), a finding
matches a labelled fault of any of them; the first class is the one it is counted under when it matches nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.scenario.model import Scenario
from simulator.scenario.vocabulary import Act, RedLineKind

# Generic criteria (any scenario) → classes, most likely first.
CRITERION_CLASSES: dict[str, tuple[str, ...]] = {
    # service
    "greeting": ("no-greeting",),
    "farewell": ("no-closing",),
    "politeness": ("rude", "blame-buyer", "push-to-courier", "cold-tone", "red-line:abuse"),
    "empathy": ("no-empathy",),
    "no-curt-replies": ("curt", "cold-tone"),
    "forbidden-words": ("rude", "blame-buyer", "push-to-courier", "curt", "disparage-competitor", "no-empathy"),
    "response-time": ("slow-reply",),
    "reply-ratio": ("unanswered-question",),
    "no-flat-refusal": ("refuses-without-alternative",),
    "answers-question": ("unanswered-question",),
    # technique
    "needs-discovery": ("no-needs-discovery",),
    "fabe": ("no-fabe",),
    "objection-handling": ("no-objection-handling",),
    "closing": ("no-closing-attempt",),
    "no-over-promise": ("over-promise",),
    "ask-answer-praise-recommend": ("no-needs-discovery", "no-fabe"),
    "matching": ("no-matching",),
    "reassurance": ("no-empathy",),
    "expectation-setting": ("no-expectation-setting",),
    "empathy-sandwich": ("no-empathy", "refuses-without-alternative"),
    "de-escalation": ("no-empathy", "refuses-without-alternative"),
    # knowledge
    "kb-consistent": ("wrong-fact",),
    # process
    "authority": ("exceeds-authority",),
    "escalation": ("refuses-escalation",),
    "verify-first": ("skipped-verification",),
}

# Red lines the grader raises on its own (lexicon, authority, phone numbers), by id.
GRADER_RED_LINES: dict[str, tuple[str, ...]] = {
    "review-cashback": ("red-line:cashback",),
    "other-customer-data": ("red-line:data-leak",),
    "abuse-red-line": ("red-line:abuse", "rude"),
    "authority-exceeded": ("exceeds-authority",),
    "phone-leak": ("red-line:data-leak",),
    "review-reward": ("red-line:cashback",),
    "off-platform-contact": ("red-line:off-platform",),
}

# Scenario red lines by kind; kind "forbidden-phrase" says nothing about the fault, so those go by id below.
RED_LINE_KIND_CLASSES: dict[RedLineKind, tuple[str, ...]] = {
    RedLineKind.ABUSE: ("red-line:abuse", "rude"),
    RedLineKind.OVER_PROMISE: ("over-promise",),
    RedLineKind.AUTHORITY: ("exceeds-authority",),
    RedLineKind.DATA_LEAK: ("red-line:data-leak",),
    RedLineKind.CASHBACK: ("red-line:cashback",),
    RedLineKind.INVENTED_FACT: ("red-line:invented-fact", "wrong-fact"),
}

# Scenario red lines of kind "forbidden-phrase", by id (every shipped scenario's; a test keeps this complete).
FORBIDDEN_PHRASE_RED_LINES: dict[str, tuple[str, ...]] = {
    "blame-buyer": ("blame-buyer",),
    "blame-courier": ("push-to-courier",),
    "disparage-competitor": ("disparage-competitor",),
    "no-insult-refusal": ("rude",),
    "refuse-escalation": ("refuses-escalation",),
    "rude-refusal": ("rude",),
    "suspect-buyer": ("blame-buyer", "push-to-courier"),
}

# Scenario steps: (class when done out of order, class when never done), by the step's act.
_VERIFY = ("skipped-verification", "skipped-verification")
_REMEDY = ("wrong-remedy-order", "missing-step")
STEP_ACT_CLASSES: dict[Act, tuple[str, str]] = {
    Act.VERIFY_ORDER: _VERIFY,
    Act.ASK: ("no-needs-discovery", "no-needs-discovery"),
    Act.APOLOGISE: ("no-empathy", "no-empathy"),
    Act.EMPATHISE: ("no-empathy", "no-empathy"),
    Act.ESCALATE: ("refuses-escalation", "refuses-escalation"),
    Act.CLOSE: ("no-closing", "no-closing"),
    Act.NOTE: ("missing-note", "missing-note"),
    Act.URGE_PAYMENT: ("no-closing-attempt", "no-closing-attempt"),
    Act.OFFER_COMPENSATION: _REMEDY,
    Act.OFFER_EXCHANGE: _REMEDY,
    Act.OFFER_RETURN: _REMEDY,
    Act.OFFER_REFUND: _REMEDY,
}
# Steps whose act says too little: asking about the item's condition is verification, collecting invoice
# details is a plain step.
STEP_OVERRIDES: dict[str, tuple[str, str]] = {
    "check-condition": _VERIFY,
    "collect-details": ("wrong-step-order", "missing-step"),
}

# Criteria that are not findings of their own: the per-dimension red-line marker repeats the red line it marks
# (counted once, from the grade's red lines) and prompt-injection notes cost nothing.
NOT_FINDINGS = {"red-line", "prompt-injection"}


@dataclass(frozen=True)
class Mapped:
    """A grader finding in the benchmark's terms."""

    classes: tuple[str, ...]
    ref: str | None

    @property
    def primary(self) -> str:
        """The class it is counted under when it matches no label."""
        return self.classes[0]


def classify(criterion: str, turn: int | None, red_line: str | None, scenario: Scenario | None) -> Mapped | None:
    """The classes and scenario ref of one finding; None when the criterion is not in the table.

    Args:
        criterion: The finding's criterion id.
        turn: The transcript turn it is on (None = about the whole conversation).
        red_line: The red-line id when the finding is a red-line crossing.
        scenario: The scenario the transcript follows.
    """
    if scenario is not None:
        exp = scenario.expectations
        rid = red_line or criterion
        for rl in exp.red_lines:
            if rl.id == rid:
                if rl.kind is RedLineKind.FORBIDDEN_PHRASE:
                    classes = FORBIDDEN_PHRASE_RED_LINES.get(rl.id)
                    return Mapped(classes, rl.id) if classes else None
                return Mapped(RED_LINE_KIND_CLASSES[rl.kind], rl.id)
        for fact in exp.facts:
            if fact.id == criterion:
                return Mapped(("wrong-fact",) if turn is not None else ("missing-fact",), fact.id)
        for step in exp.steps:
            if step.id == criterion:
                pair = STEP_OVERRIDES.get(step.id) or STEP_ACT_CLASSES.get(
                    step.act, ("wrong-step-order", "missing-step")
                )
                return Mapped((pair[0],) if turn is not None else (pair[1],), step.id)
    if red_line and red_line in GRADER_RED_LINES:
        return Mapped(GRADER_RED_LINES[red_line], None)
    if criterion in GRADER_RED_LINES:
        return Mapped(GRADER_RED_LINES[criterion], None)
    if criterion in CRITERION_CLASSES:
        return Mapped(CRITERION_CLASSES[criterion], None)
    return None


def scenario_ids(scenario: Scenario) -> set[str]:
    """Every fact, step and red-line id a scenario defines (what a label's ``ref`` may name)."""
    exp = scenario.expectations
    return {f.id for f in exp.facts} | {s.id for s in exp.steps} | {r.id for r in exp.red_lines}


def unmapped_scenario_ids(scenario: Scenario) -> list[str]:
    """Scenario red lines this table cannot classify (forbidden-phrase ids missing from the table)."""
    return sorted(
        rl.id
        for rl in scenario.expectations.red_lines
        if rl.kind is RedLineKind.FORBIDDEN_PHRASE and rl.id not in FORBIDDEN_PHRASE_RED_LINES
    )
