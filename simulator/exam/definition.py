"""Exam files — what an exam owner writes: parts (a written knowledge test, role-plays against simulated buyers),
their weights and time limits, attempt rules, the pass mark, dimension floors, certificates.

Exams are YAML files under ``scenarios/exams/``, validated like scenarios (pydantic models with a description on
every field, a generated JSON Schema for the editor, every problem as ``path:line:col``)::

    id: qinghe-newhire-cert
    title: 青禾新人上岗认证（必会）
    locale: zh-CN
    pass_mark: 85
    floors: {service: 70, knowledge: 70, process: 70}
    attempts: {max: 3, cooldown_hours: 24}
    parts:
      - {id: written, kind: written, title: 笔试, minutes: 20, weight: 40, floor: 85,
         draw: {banks: [qinghe-newhire], count: 20, tiers: {必会: 0.7}}}
      - {id: roleplay, kind: roleplay, title: 情景模拟, minutes: 30, weight: 60,
         scenarios: [presale-size-hesitant-office, aftersale-size-exchange-student]}
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict, Field, model_validator

from simulator.scenario.base import Authored, Id
from simulator.scenario.vocabulary import Category, Difficulty, Locale, Tier


class PartKind(StrEnum):
    """What a part of an exam is."""

    WRITTEN = "written"
    ROLEPLAY = "roleplay"


class EdgeCases(StrEnum):
    """Whether a role-play part may draw a scenario's edge-case variants."""

    ALLOW = "allow"
    NEVER = "never"
    ONLY = "only"


class QuestionDraw(Authored):
    """How the written test's questions are drawn from the banks for each attempt (with a stored seed)."""

    banks: list[Id] = Field(min_length=1, description="Question bank ids to draw from (checked to exist).")
    count: int = Field(ge=1, le=200, description="Questions per attempt.")
    tiers: dict[Tier, float] = Field(
        default_factory=dict,
        description="Least share of the questions from each knowledge tier, 0–1 (e.g. 必会: 0.7 = at least 70 %).",
    )
    topics: dict[str, int] = Field(
        default_factory=dict, description="Least number of questions on each topic (e.g. 退换货: 3)."
    )
    shuffle_options: bool = Field(default=True, description="Show the options of choice questions in a new order.")

    @model_validator(mode="after")
    def _quotas(self) -> QuestionDraw:
        for tier, share in self.tiers.items():
            if not 0 <= share <= 1:
                raise ValueError(f"the share of {tier.value} must be between 0 and 1 (0.7 = 70 %)")
        if sum(self.tiers.values()) > 1 + 1e-9:
            raise ValueError("the tier shares add up to more than 1")
        if sum(self.topics.values()) > self.count:
            raise ValueError(f"the topic quotas add up to more than the {self.count} questions drawn")
        return self


class ScenarioPool(Authored):
    """Scenarios a role-play part draws from, instead of a fixed list."""

    categories: list[Category] = Field(default_factory=list, description="Allowed categories (empty = any).")
    difficulties: list[Difficulty] = Field(default_factory=list, description="Allowed difficulties (empty = any).")
    tiers: list[Tier] = Field(default_factory=list, description="Allowed knowledge tiers (empty = any).")
    count: int = Field(ge=1, le=10, description="Scenarios drawn per attempt.")


class ExamPart(Authored):
    """One timed part of the exam: a written test or a set of role-plays."""

    id: Id = Field(description="Unique within the exam.")
    kind: PartKind = Field(description="written (questions) or roleplay (conversations with simulated buyers).")
    title: str = Field(min_length=1, max_length=120, description="Shown to the trainee.")
    minutes: int = Field(ge=1, le=600, description="Time limit of the part; the timer starts when the part starts.")
    weight: float = Field(default=1, ge=0, le=100, description="Weight of the part in the overall score.")
    floor: float | None = Field(
        default=None, ge=0, le=100, description="Least score the part needs, whatever the overall (e.g. 85)."
    )
    instructions: str = Field(default="", max_length=1000, description="Shown before the part starts.")
    draw: QuestionDraw | None = Field(default=None, description="written: how the questions are drawn.")
    scenarios: list[Id] = Field(
        default_factory=list, description="roleplay: a fixed list of scenario ids, played in order (checked)."
    )
    pool: ScenarioPool | None = Field(default=None, description="roleplay: draw scenarios from the catalogue instead.")
    edge_cases: EdgeCases = Field(
        default=EdgeCases.ALLOW, description="roleplay: allow, never or only draw the scenarios' edge-case variants."
    )

    @model_validator(mode="after")
    def _kind_fields(self) -> ExamPart:
        if self.kind is PartKind.WRITTEN:
            if self.draw is None:
                raise ValueError("a written part needs 'draw' (banks and count)")
            if self.scenarios or self.pool is not None:
                raise ValueError("a written part has no scenarios or pool — those belong to a roleplay part")
        else:
            if self.draw is not None:
                raise ValueError("a roleplay part has no 'draw' — questions belong to a written part")
            if bool(self.scenarios) == (self.pool is not None):
                raise ValueError("a roleplay part needs either 'scenarios' (a fixed list) or 'pool' (a draw)")
        return self


class Floors(Authored):
    """Least score of each grade dimension over the role-plays (none = no floor)."""

    service: float | None = Field(default=None, ge=0, le=100, description="Floor for service (服务).")
    technique: float | None = Field(default=None, ge=0, le=100, description="Floor for technique (技巧).")
    knowledge: float | None = Field(default=None, ge=0, le=100, description="Floor for knowledge (知识).")
    process: float | None = Field(default=None, ge=0, le=100, description="Floor for process (流程).")

    def items(self) -> list[tuple[str, float]]:
        """(dimension, floor) for each dimension that has one."""
        return [(d, v) for d in ("service", "technique", "knowledge", "process") if (v := getattr(self, d)) is not None]


class AttemptRules(Authored):
    """How often the exam may be taken."""

    max: int = Field(
        default=3, ge=1, le=20, description="Attempts allowed; after the last, only the exam owner can reopen."
    )
    cooldown_hours: float = Field(
        default=24, ge=0, le=24 * 90, description="Hours to wait after a failed attempt before the next one."
    )
    practice_before_retry: bool = Field(
        default=True,
        description="After a failed attempt the trainee must finish the practice plan on what they failed first.",
    )


class CertificateRules(Authored):
    """The certificate a pass earns."""

    title: str = Field(default="", max_length=120, description="Printed on the certificate (default: the exam title).")
    valid_days: int = Field(default=365, ge=1, le=3650, description="Days until the certificate expires.")
    renew_before_days: int = Field(
        default=30, ge=1, le=365, description="Days before expiry when re-certification is scheduled for the holder."
    )
    renew_window_days: int = Field(
        default=30, ge=1, le=365, description="How long the re-certification window stays open."
    )


class ExamDefinition(Authored):
    """A certification exam: a written knowledge test and/or role-plays, under exam conditions, with a verdict that
    code decides (overall ≥ pass mark AND every floor met AND no red line)."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        coerce_numbers_to_str=True,
        json_schema_extra={"title": "Customer-service certification exam"},
    )

    id: Id = Field(description="Unique; also the file name without .yaml by convention.")
    title: str = Field(min_length=1, max_length=120, description="Shown to trainees and on the certificate.")
    locale: Locale = Field(description="Language of the exam: zh-CN or en.")
    shop: str = Field(default="", max_length=80, description="Which shop's knowledge applies (e.g. qinghe).")
    description: str = Field(default="", max_length=1000, description="What the exam certifies, shown beforehand.")
    tier: Tier = Field(default=Tier.MUST_KNOW, description="Knowledge tier it certifies: 必会, 掌握 or 了解.")
    pass_mark: float = Field(default=85, ge=0, le=100, description="Overall score needed to pass (shops use 85).")
    floors: Floors = Field(default_factory=Floors, description="Least score per grade dimension over the role-plays.")
    knowledge_panel: bool = Field(
        default=True, description="Whether the knowledge side panel may be used during the role-plays."
    )
    attempts: AttemptRules = Field(default_factory=AttemptRules, description="Attempt cap, cool-down and retry rule.")
    certificate: CertificateRules = Field(default_factory=CertificateRules, description="What a pass earns.")
    parts: list[ExamPart] = Field(min_length=1, max_length=10, description="The timed parts, taken in order.")

    @property
    def certificate_title(self) -> str:
        """What the certificate says."""
        return self.certificate.title or self.title

    @property
    def total_minutes(self) -> int:
        """The sum of the parts' time limits."""
        return sum(p.minutes for p in self.parts)

    def part(self, part_id: str) -> ExamPart:
        """The part with this id."""
        return next(p for p in self.parts if p.id == part_id)


def internal_problems(exam: ExamDefinition) -> list[tuple[tuple[str | int, ...], str]]:
    """Problems inside one exam file: duplicate part ids, weights that add up to nothing."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    seen: set[str] = set()
    for i, p in enumerate(exam.parts):
        if p.id in seen:
            out.append((("parts", i, "id"), f"duplicate part id '{p.id}' — give each part a unique id"))
        seen.add(p.id)
        if len(set(p.scenarios)) != len(p.scenarios):
            out.append((("parts", i, "scenarios"), "a scenario is listed twice — each is played once"))
    if not any(p.weight > 0 for p in exam.parts):
        out.append((("parts",), "every part has weight 0 — give at least one part a weight"))
    return out
