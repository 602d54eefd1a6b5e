"""Randomised scenario instances for exams: each role-play is played as a variant — order numbers, sizes, dates,
amounts and edge cases drawn from the parameter lists the scenario declares (``variables`` and ``variants``).

A draw is consistent by construction: a variant case's values belong together (a height, weight and the size they
call for), every value satisfies the variable's checks (a size that is in the size chart, an amount on the
declared side of the agent's authority limit — both verified by ``simulator validate``, and asserted again here),
and the drawn :class:`Variant` is stored with the attempt, so the attempt replays exactly.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from simulator.errors import SimulatorError
from simulator.exam.definition import EdgeCases
from simulator.scenario.consistency import value_problem
from simulator.scenario.model import Scenario, Variable
from simulator.scenario.vocabulary import AuthoritySide, VariableKind


class VariantError(SimulatorError):
    """A scenario cannot give a variant under these conditions (e.g. edge cases only, but it declares none)."""


@dataclass(frozen=True)
class Variant:
    """One drawn instance of a scenario: the case (if any), every variable's value, and the seed that drew it."""

    scenario_id: str
    seed: int
    values: dict[str, str] = field(default_factory=dict)
    case: str | None = None
    edge: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON form (stored with the attempt)."""
        return {
            "scenario": self.scenario_id,
            "seed": self.seed,
            "values": dict(self.values),
            "case": self.case,
            "edge": self.edge,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Variant:
        """The inverse of :meth:`to_dict`."""
        return cls(
            str(data["scenario"]),
            int(data["seed"]),
            {str(k): str(v) for k, v in dict(data.get("values") or {}).items()},
            data.get("case"),
            bool(data.get("edge", False)),
        )


def draw_variant(
    scenario: Scenario,
    seed: int,
    *,
    day: date,
    edge_cases: EdgeCases = EdgeCases.ALLOW,
    case: str | None = None,
) -> Variant:
    """Draw a variant of ``scenario``: a case by weight (edge cases as the exam allows), then each remaining
    variable from its declaration. The same scenario, seed and day give the same variant.

    Args:
        scenario: The scenario.
        seed: The attempt's seed for this scenario.
        day: The exam day (``date`` variables count from it).
        edge_cases: Whether edge-case variants may (allow), may not (never) or must (only) be drawn.
        case: Draw this case (``simulator check`` walks every case); default: by weight.

    Raises:
        VariantError: ``only`` edge cases were asked for and the scenario has none.
    """
    rng = random.Random(f"variant:{scenario.id}:{seed}")
    cases = list(scenario.variants)
    if edge_cases is EdgeCases.NEVER:
        cases = [c for c in cases if not c.edge]
    elif edge_cases is EdgeCases.ONLY:
        cases = [c for c in cases if c.edge]
        if not cases:
            raise VariantError(f"scenario '{scenario.id}' declares no edge-case variant (variants[].edge: true)")
    values: dict[str, str] = {}
    case_id = None
    edge = False
    if case is not None:
        cases = [c for c in scenario.variants if c.id == case]
        if not cases:
            raise VariantError(f"scenario '{scenario.id}' has no variant '{case}'")
    if cases:
        chosen = rng.choices(cases, weights=[c.weight for c in cases], k=1)[0]
        values.update({k: str(v) for k, v in chosen.values.items()})
        case_id, edge = chosen.id, chosen.edge
    for name in sorted(scenario.variables):
        if name not in values:
            values[name] = _draw_value(scenario, scenario.variables[name], rng, day)
    case_names = {k for c in scenario.variants if c.id == case_id for k in c.values}
    for name, value in values.items():
        problem = value_problem(scenario, scenario.variables[name], value, in_case=name in case_names)
        if problem:  # validation refuses such a file; reaching this means the scenario changed under us
            raise VariantError(f"scenario '{scenario.id}': variable '{name}': {problem}")
    return Variant(scenario.id, seed, values, case_id, edge)


def _draw_value(scenario: Scenario, var: Variable, rng: random.Random, day: date) -> str:
    if var.kind is VariableKind.CHOICE:
        return rng.choice(var.choices)
    if var.kind is VariableKind.DIGITS:
        assert var.length is not None
        return str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(var.length - 1))
    assert var.min is not None and var.max is not None
    lo, hi = var.min, var.max
    if var.kind is VariableKind.DATE:
        return (day + timedelta(days=rng.randint(lo, hi))).strftime(var.format)
    if var.authority is not None:
        limit = getattr(scenario.expectations.authority, var.authority.value)
        if var.side is AuthoritySide.WITHIN:
            hi = min(hi, int(limit))
        else:
            lo = max(lo, int(limit) + 1)
    return str(rng.randint(lo, hi))


def check_variants(scenario: Scenario, n: int, *, day: date) -> list[Variant]:
    """The variants ``simulator check`` plays: every declared case once, then random draws, ``n`` at least."""
    out = [draw_variant(scenario, 1000 + i, day=day, case=c.id) for i, c in enumerate(scenario.variants)]
    seed = 0
    while len(out) < n:
        out.append(draw_variant(scenario, seed, day=day))
        seed += 1
    return out


def variant_space(scenario: Scenario) -> int:
    """How many different variants the scenario can give (cases × independent choices; capped), for reports."""
    n = max(1, len(scenario.variants))
    in_cases = {k for c in scenario.variants for k in c.values}
    for name, var in scenario.variables.items():
        if name in in_cases:
            continue
        if var.kind is VariableKind.CHOICE:
            n *= len(var.choices)
        elif var.kind in (VariableKind.INTEGER, VariableKind.DATE):
            assert var.min is not None and var.max is not None
            n *= var.max - var.min + 1
        elif var.kind is VariableKind.DIGITS:
            n *= 10 ** min(var.length or 1, 6)
        n = min(n, 10**9)
    return n
