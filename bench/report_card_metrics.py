"""Matching grader findings to labelled faults, and the figures that come out of it.

Pure functions over small records, so the arithmetic is tested on hand-made fixtures without grading anything.

* A finding **matches** a label when one of the label's (class, ref) options has a class among the finding's
  classes, the refs agree (either side may be unspecific) and, in a whole conversation, the turns agree (either
  side may be the whole conversation).
* Each label is matched by at most one finding (a maximum matching); a further finding compatible with an
  already matched label is a **repeat**: it counts as matching (it is not wrong) and is reported as noise.
* **Finding precision** = matching findings ÷ all findings; **fault recall** = labels matched ÷ all labels.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from report_card_data import DIMENSIONS, Fault, dimension


@dataclass
class Found:
    """One grader finding in benchmark terms."""

    item: str
    turn: int | None
    criterion: str
    classes: tuple[str, ...]  # empty when the criterion is unmapped
    ref: str | None = None
    red_line: bool = False
    points: float = 0.0
    message: str = ""
    evidence: str = ""
    suggestion: str = ""

    @property
    def primary(self) -> str:
        """The class it is counted under when it matches nothing."""
        return self.classes[0] if self.classes else f"unmapped:{self.criterion}"


@dataclass
class ItemResult:
    """The outcome of matching one item's findings against its labels."""

    item: str
    split: str
    kind: str
    labels: list[Fault]
    findings: list[Found]
    label_match: list[int | None] = field(default_factory=list)  # label index → finding index
    finding_status: list[str] = field(default_factory=list)  # "match" | "repeat" | "false"
    finding_label: list[int | None] = field(default_factory=list)  # finding index → label index (match/repeat)
    red_labels: list[bool] = field(default_factory=list)  # label index → is a red-line fault
    verdict_expected: str | None = None
    verdict_actual: str | None = None


def _refs_agree(label_ref: str | None, found_ref: str | None) -> bool:
    return label_ref is None or found_ref is None or label_ref == found_ref


def compatible(f: Found, label: Fault, *, by_turn: bool) -> bool:
    """Whether finding ``f`` describes labelled fault ``label``."""
    if by_turn and label.turn is not None and f.turn is not None and label.turn != f.turn:
        return False
    return any(cls in f.classes and _refs_agree(ref, f.ref) for cls, ref in label.options)


def match_item(
    item: str,
    split: str,
    kind: str,
    labels: Sequence[Fault],
    findings: Sequence[Found],
    red_labels: Sequence[bool] | None = None,
) -> ItemResult:
    """Match findings to labels: a maximum matching, then repeats, then false findings."""
    by_turn = kind == "conversation"
    adj = [[j for j, lab in enumerate(labels) if compatible(f, lab, by_turn=by_turn)] for f in findings]
    label_owner: list[int | None] = [None] * len(labels)

    def augment(fi: int, seen: set[int]) -> bool:
        for lj in adj[fi]:
            if lj in seen:
                continue
            seen.add(lj)
            owner = label_owner[lj]
            if owner is None or augment(owner, seen):
                label_owner[lj] = fi
                return True
        return False

    for fi in range(len(findings)):
        augment(fi, set())
    status: list[str] = []
    flabel: list[int | None] = []
    owned = {fi: lj for lj, fi in enumerate(label_owner) if fi is not None}
    for fi in range(len(findings)):
        if fi in owned:
            status.append("match")
            flabel.append(owned[fi])
        elif adj[fi]:
            status.append("repeat")
            flabel.append(adj[fi][0])
        else:
            status.append("false")
            flabel.append(None)
    return ItemResult(
        item=item,
        split=split,
        kind=kind,
        labels=list(labels),
        findings=list(findings),
        label_match=label_owner,
        finding_status=status,
        finding_label=flabel,
        red_labels=list(red_labels) if red_labels is not None else [False] * len(labels),
    )


@dataclass
class Ratio:
    """hits / total, shown as a percentage (None when there is nothing to count)."""

    hits: int = 0
    total: int = 0

    @property
    def value(self) -> float | None:
        """The share, 0–1, or None for 0/0."""
        return None if self.total == 0 else self.hits / self.total

    def add(self, hit: bool) -> None:
        """Count one more case."""
        self.total += 1
        self.hits += int(hit)

    def __str__(self) -> str:
        v = self.value
        return "—" if v is None else f"{100 * v:5.1f} % ({self.hits}/{self.total})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        v = self.value
        return {"hits": self.hits, "total": self.total, "value": None if v is None else round(v, 4)}


@dataclass
class Figures:
    """Everything measured on one split."""

    precision: Ratio = field(default_factory=Ratio)
    recall: Ratio = field(default_factory=Ratio)
    repeats: int = 0
    precision_by_dim: dict[str, Ratio] = field(default_factory=lambda: defaultdict(Ratio))
    recall_by_dim: dict[str, Ratio] = field(default_factory=lambda: defaultdict(Ratio))
    precision_by_class: dict[str, Ratio] = field(default_factory=lambda: defaultdict(Ratio))
    recall_by_class: dict[str, Ratio] = field(default_factory=lambda: defaultdict(Ratio))
    clean_replies: Ratio = field(default_factory=Ratio)
    red_precision: Ratio = field(default_factory=Ratio)
    red_recall: Ratio = field(default_factory=Ratio)
    verdicts: Ratio = field(default_factory=Ratio)
    false_findings: Counter[tuple[str, str]] = field(default_factory=Counter)  # (criterion, class) → n
    false_examples: dict[tuple[str, str], str] = field(default_factory=dict)
    missed: Counter[str] = field(default_factory=Counter)  # class → n
    missed_examples: dict[str, str] = field(default_factory=dict)
    unmapped: Counter[str] = field(default_factory=Counter)  # criterion → n

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""

        def table(d: dict[str, Ratio]) -> dict[str, Any]:
            return {k: d[k].to_dict() for k in sorted(d)}

        return {
            "finding_precision": self.precision.to_dict(),
            "fault_recall": self.recall.to_dict(),
            "repeat_findings": self.repeats,
            "precision_by_dimension": table(self.precision_by_dim),
            "recall_by_dimension": table(self.recall_by_dim),
            "precision_by_class": table(self.precision_by_class),
            "recall_by_class": table(self.recall_by_class),
            "clean_replies_without_finding": self.clean_replies.to_dict(),
            "red_line_precision": self.red_precision.to_dict(),
            "red_line_recall": self.red_recall.to_dict(),
            "conversation_verdicts": self.verdicts.to_dict(),
            "false_findings": [
                {"criterion": c, "class": k, "count": n, "example": self.false_examples[(c, k)]}
                for (c, k), n in self.false_findings.most_common()
            ],
            "missed_faults": [
                {"class": k, "count": n, "example": self.missed_examples[k]} for k, n in self.missed.most_common()
            ],
            "unmapped_criteria": dict(self.unmapped.most_common()),
        }


def figures(results: Iterable[ItemResult]) -> Figures:
    """Precision, recall and the rest over a set of matched items."""
    out = Figures()
    for r in results:
        for fi, f in enumerate(r.findings):
            st = r.finding_status[fi]
            ok = st != "false"
            lj = r.finding_label[fi]
            cls = r.labels[lj].fault if ok and lj is not None else f.primary
            out.precision.add(ok)
            out.precision_by_dim[dimension(cls)].add(ok)
            out.precision_by_class[cls].add(ok)
            out.repeats += st == "repeat"
            if not f.classes:
                out.unmapped[f.criterion] += 1
            if not ok:
                key = (f.criterion, f.primary)
                out.false_findings[key] += 1
                out.false_examples.setdefault(key, r.item)
            if f.red_line:
                out.red_precision.add(
                    any(
                        r.red_labels[j] and compatible(f, lab, by_turn=r.kind == "conversation")
                        for j, lab in enumerate(r.labels)
                    )
                )
        for lj, lab in enumerate(r.labels):
            found = r.label_match[lj] is not None
            out.recall.add(found)
            out.recall_by_dim[lab.dimension].add(found)
            out.recall_by_class[lab.fault].add(found)
            if not found:
                out.missed[lab.fault] += 1
                out.missed_examples.setdefault(lab.fault, r.item)
            if r.red_labels[lj]:
                out.red_recall.add(
                    any(f.red_line and compatible(f, lab, by_turn=r.kind == "conversation") for f in r.findings)
                )
        if r.kind == "reply" and not r.labels:
            out.clean_replies.add(not r.findings)
        if r.kind == "conversation" and r.verdict_expected is not None:
            out.verdicts.add(r.verdict_expected == r.verdict_actual)
    for d in DIMENSIONS:
        out.precision_by_dim.setdefault(d, Ratio())
        out.recall_by_dim.setdefault(d, Ratio())
    return out


@dataclass
class ParaphraseCase:
    """One equivalent reply graded in place of the original."""

    item: str
    original: str
    split: str
    original_overall: float | None
    overall: float | None
    original_turn_points: float
    turn_points: float

    @property
    def delta(self) -> float | None:
        """|Δ overall| in points (None when one side was unscored and the other not)."""
        if self.original_overall is None and self.overall is None:
            return 0.0
        if self.original_overall is None or self.overall is None:
            return None
        return abs(self.overall - self.original_overall)

    @property
    def within(self) -> bool:
        """Overall score within the 2-point target."""
        d = self.delta
        return d is not None and d <= 2.0 + 1e-9

    @property
    def turn_delta(self) -> float:
        """|Δ points lost on the reply's own turn|."""
        return abs(self.turn_points - self.original_turn_points)


def paraphrase_summary(cases: Sequence[ParaphraseCase], worst: int = 10) -> dict[str, Any]:
    """Share of paraphrases within 2 points (overall score, and points lost on the turn), per split; worst cases."""
    out: dict[str, Any] = {}
    for split in ("tune", "holdout"):
        r, t = Ratio(), Ratio()
        for c in cases:
            if c.split == split:
                r.add(c.within)
                t.add(c.turn_delta <= 2.0 + 1e-9)
        out[split] = r
        out[f"{split}_turn"] = t
    ranked = sorted(cases, key=lambda c: -(c.delta if c.delta is not None else 1e9))
    out["worst"] = (
        ranked
        if worst <= 0
        else [c for c in ranked if c.split == "tune"][:worst] + [c for c in ranked if c.split != "tune"][:worst]
    )
    return out
