"""When a criterion counts as a problem, and of which type (个体 / 共性 / 多发 / 突发) — the configurable numbers.

Every value can be set in the environment, one at a time (``SIM_PROBLEMS__AGENT_RATE=0.4``) or all at once as
JSON (``SIM_PROBLEMS='{"window_days": 7}'``); docs/analytics.md explains each with an example.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Thresholds(BaseModel):
    """The numbers :mod:`simulator.analytics.problems` classifies with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_days: int = Field(default=14, ge=1, le=365, description="The window looked at: the last N days.")
    min_conversations: int = Field(
        default=3, ge=1, description="An agent needs at least this many graded conversations on a criterion."
    )
    agent_rate: float = Field(
        default=0.3,
        gt=0,
        le=1,
        description="An agent has a problem on a criterion when at least this share of their conversations lost "
        "points on it.",
    )
    common_agents: int = Field(
        default=3, ge=2, description="共性 (common): at least this many agents share the problem …"
    )
    common_share: float = Field(
        default=0.3, gt=0, le=1, description="… and they are at least this share of the agents with data."
    )
    sudden_jump: float = Field(
        default=0.2,
        gt=0,
        le=1,
        description="突发 (sudden): the team's loss rate on the criterion rose by at least this much (0.2 = 20 "
        "percentage points) against the baseline …",
    )
    sudden_ratio: float = Field(default=2.0, ge=1, description="… and is at least this many times the baseline.")
    baseline_days: int = Field(
        default=28, ge=1, le=365, description="The baseline for 突发: the N days before the window."
    )
    sudden_min_conversations: int = Field(
        default=10,
        ge=1,
        description="突发 needs at least this many team conversations on the criterion, in the baseline and in the "
        "window.",
    )
    recurring_days: int = Field(
        default=90,
        ge=1,
        le=730,
        description="多发 (recurring): the agent finished training on the criterion within this many days before "
        "the window and has the problem again.",
    )
    weakest: int = Field(
        default=3, ge=0, le=50, description="Class + 1:1 plans mark this many of the weakest agents for 1:1 follow-up."
    )
