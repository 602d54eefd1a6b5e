"""The practice plan after a failed attempt: what to practise, on the criteria failed, before a retry.

Each item is a scenario to practise (in practice mode, with model answers) and why: a role-play that fell short
(its lost criteria and red lines), or a scenario whose knowledge documents back the written questions answered
wrong. An item is done when the trainee has finished a practice conversation of that scenario after the attempt
was decided (finished, not abandoned).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from simulator.exam.verdict import RolePlayOutcome
from simulator.scenario.model import Scenario

MAX_ITEMS = 4


@dataclass
class PlanItem:
    """One scenario to practise and why."""

    scenario_id: str
    criteria: list[str] = field(default_factory=list)  # lost criterion / red-line ids, or knowledge doc ids
    topics: list[str] = field(default_factory=list)  # written-test topics answered wrong

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"scenario": self.scenario_id, "criteria": self.criteria, "topics": self.topics}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlanItem:
        """The inverse of :meth:`to_dict`."""
        return cls(str(data["scenario"]), list(data.get("criteria", [])), list(data.get("topics", [])))


def build_plan(
    roleplays: Sequence[RolePlayOutcome],
    missed_sources: Mapping[str, list[str]],
    scenarios: Mapping[str, Scenario],
    *,
    locale: str,
    pass_mark: float,
) -> list[PlanItem]:
    """The practice plan for a failed attempt.

    Args:
        roleplays: The attempt's graded conversations.
        missed_sources: Knowledge document id → topics of the written questions answered wrong that it backs.
        scenarios: Usable scenarios by id (to find ones that practise a knowledge document).
        locale: The exam's language (only scenarios in it are suggested).
        pass_mark: A conversation scoring below it (or crossing a red line) is practised again.
    """
    items: dict[str, PlanItem] = {}
    for r in roleplays:
        score = r.overall()
        crossed = bool(r.grade and r.grade.red_lines)
        if (score is not None and score < pass_mark) or crossed:
            lost = sorted(r.grade.lost_ids()) if r.grade is not None else []
            if r.scenario_id in scenarios:
                items.setdefault(r.scenario_id, PlanItem(r.scenario_id)).criteria.extend(lost[:6])
    for doc, topics in sorted(missed_sources.items(), key=lambda kv: -len(kv[1])):
        if len(items) >= MAX_ITEMS:
            break
        match = next(
            (
                sid
                for sid, sc in sorted(scenarios.items(), key=lambda kv: (kv[1].difficulty.value, kv[0]))
                if sc.locale.value == locale and doc in sc.knowledge
            ),
            None,
        )
        if match is None:
            continue
        item = items.setdefault(match, PlanItem(match))
        item.criteria.append(doc)
        item.topics.extend(t for t in topics if t not in item.topics)
    return list(items.values())[:MAX_ITEMS]


def plan_done(items: Sequence[PlanItem], practised: Mapping[str, datetime], since: datetime) -> list[bool]:
    """For each item, whether a practice conversation of its scenario finished after ``since``."""
    return [item.scenario_id in practised and practised[item.scenario_id] >= since for item in items]
