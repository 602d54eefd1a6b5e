"""The trainer's dashboard figures, read from the analytics facts (never from grade JSON):

* pass rate, overall and dimension scores over time (daily up to 31 days, weekly beyond), practice and exams
  ("simulation") apart from real chats;
* KPIs of simulation and real chats side by side: first and average response time, 答问比, conversion,
  satisfaction;
* the agents × criteria heatmap: each agent's loss rate on the criteria that lost most often;
* the most frequent findings and the red lines crossed.

Every figure is filtered by the people in scope (:mod:`simulator.analytics.scope`), the shop, the period and
which conversations count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from simulator.analytics.problems import Count, criterion_counts, criterion_titles
from simulator.analytics.scope import Filters
from simulator.store.facts import FindingFact, ScoreFact
from simulator.store.users import User

DIMENSIONS = ("service", "technique", "knowledge", "process")
SIMULATION = ("practice", "exam")


def side(source: str) -> str:
    """``simulation`` (practice, exam) or ``real``."""
    return "real" if source == "real" else "simulation"


@dataclass
class Sums:
    """Running sums for weighted means."""

    n: int = 0
    passed: int = 0
    decided: int = 0
    overall: float = 0.0
    overall_n: int = 0
    dims: dict[str, float] = field(default_factory=lambda: dict.fromkeys(DIMENSIONS, 0.0))
    dims_n: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DIMENSIONS, 0))
    first: float = 0.0
    first_n: int = 0
    mean: float = 0.0
    mean_n: int = 0
    ratio: float = 0.0
    ratio_n: int = 0
    converted: int = 0
    converted_n: int = 0
    satisfaction: float = 0.0
    satisfaction_n: int = 0

    def add(self, other: Sums) -> None:
        """Add another bucket's sums."""
        for name in (
            "n",
            "passed",
            "decided",
            "overall",
            "overall_n",
            "first",
            "first_n",
            "mean",
            "mean_n",
            "ratio",
            "ratio_n",
            "converted",
            "converted_n",
            "satisfaction",
            "satisfaction_n",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for d in DIMENSIONS:
            self.dims[d] += other.dims[d]
            self.dims_n[d] += other.dims_n[d]

    @staticmethod
    def _mean(total: float, n: int, digits: int = 1) -> float | None:
        return round(total / n, digits) if n else None

    @property
    def pass_rate(self) -> float | None:
        """Share of decided conversations that passed, 0–100."""
        return self._mean(100.0 * self.passed, self.decided)

    @property
    def avg_overall(self) -> float | None:
        """Mean overall score."""
        return self._mean(self.overall, self.overall_n)

    def dim(self, d: str) -> float | None:
        """Mean score of a dimension."""
        return self._mean(self.dims[d], self.dims_n[d])

    def kpis(self) -> dict[str, float | int | None]:
        """The KPI row."""
        return {
            "conversations": self.n,
            "first_response_s": self._mean(self.first, self.first_n),
            "mean_response_s": self._mean(self.mean, self.mean_n),
            "reply_ratio": self._mean(self.ratio, self.ratio_n, 2),
            "conversion": self._mean(100.0 * self.converted, self.converted_n),
            "conversion_n": self.converted_n,
            "satisfaction": self._mean(100.0 * self.satisfaction, self.satisfaction_n),
            "satisfaction_n": self.satisfaction_n,
            "pass_rate": self.pass_rate,
            "overall": self.avg_overall,
        }


@dataclass
class HeatCell:
    """One agent on one criterion."""

    count: Count

    @property
    def rate(self) -> float:
        """0–100."""
        return round(100 * self.count.rate, 1)


@dataclass
class Heatmap:
    """Agents × criteria."""

    agents: list[tuple[int, str]]
    criteria: list[tuple[str, str, str]]  # (id, dimension, title)
    cells: dict[tuple[int, str], HeatCell]
    more_agents: int = 0


@dataclass
class FrequentFinding:
    """A criterion that lost points often."""

    criterion: str
    dimension: str
    title: str
    count: int
    agents: int
    points: float
    example: str


@dataclass
class RedLine:
    """A red line crossed in the period."""

    id: str
    count: int
    agents: int
    last_day: date
    example: str


@dataclass
class Dashboard:
    """Everything the dashboard page shows."""

    start: date
    end: date
    bucket: str  # day | week
    labels: list[str]
    trend: dict[str, list[Sums]]  # side → one Sums per label
    totals: dict[str, Sums]
    heatmap: Heatmap
    frequent: list[FrequentFinding]
    red_lines: list[RedLine]

    def series(self, side_: str, what: str) -> list[float | None]:
        """One chart line: pass_rate, overall or a dimension, per label."""
        out: list[float | None] = []
        for s in self.trend.get(side_, []):
            if what == "pass_rate":
                out.append(s.pass_rate)
            elif what == "overall":
                out.append(s.avg_overall)
            elif what == "conversations":
                out.append(float(s.n))
            else:
                out.append(s.dim(what))
        return out


def _filtered(q, people: Sequence[int] | None, filters: Filters, start: date, end: date, table):
    q = q.where(table.day >= start, table.day <= end, table.source.in_(filters.sources))
    if people is not None:
        q = q.where(table.user_id.in_(list(people)))
    if filters.shop:
        q = q.where(table.shop == filters.shop)
    return q


def _bucket_of(day: date, weekly: bool) -> date:
    return day - timedelta(days=day.weekday()) if weekly else day


def daily_sums(
    s: Session, people: Sequence[int] | None, filters: Filters, start: date, end: date
) -> dict[tuple[date, str], Sums]:
    """(day, side) → sums of the score facts."""
    f = ScoreFact
    passed = func.sum(case((f.passed.is_(True), 1), else_=0))
    converted = func.sum(case((f.converted.is_(True), 1), else_=0))
    cols = [
        f.day,
        f.source,
        func.count(),
        passed,
        func.count(f.passed),
        func.sum(f.overall),
        func.count(f.overall),
        *[func.sum(getattr(f, d)) for d in DIMENSIONS],
        *[func.count(getattr(f, d)) for d in DIMENSIONS],
        func.sum(f.first_response_s),
        func.count(f.first_response_s),
        func.sum(f.mean_response_s),
        func.count(f.mean_response_s),
        func.sum(f.reply_ratio),
        func.count(f.reply_ratio),
        converted,
        func.count(f.converted),
        func.sum(f.satisfaction),
        func.count(f.satisfaction),
    ]
    q = _filtered(select(*cols), people, filters, start, end, f).group_by(f.day, f.source)
    out: dict[tuple[date, str], Sums] = {}
    for row in s.execute(q).all():
        day, source, n, p, dec, ov, ovn, *rest = row
        dsum, dn = rest[0:4], rest[4:8]
        fr, frn, me, men, ra, ran, cv, cvn, sa, san = rest[8:18]
        sums = Sums(
            n=int(n),
            passed=int(p or 0),
            decided=int(dec or 0),
            overall=float(ov or 0),
            overall_n=int(ovn or 0),
            dims={d: float(v or 0) for d, v in zip(DIMENSIONS, dsum, strict=True)},
            dims_n={d: int(v or 0) for d, v in zip(DIMENSIONS, dn, strict=True)},
            first=float(fr or 0),
            first_n=int(frn or 0),
            mean=float(me or 0),
            mean_n=int(men or 0),
            ratio=float(ra or 0),
            ratio_n=int(ran or 0),
            converted=int(cv or 0),
            converted_n=int(cvn or 0),
            satisfaction=float(sa or 0),
            satisfaction_n=int(san or 0),
        )
        key = (day, side(source))
        if key in out:
            out[key].add(sums)
        else:
            out[key] = sums
    return out


def heatmap(
    s: Session,
    people: Sequence[int] | None,
    filters: Filters,
    start: date,
    end: date,
    *,
    max_criteria: int = 12,
    max_agents: int = 40,
    counts: dict[tuple[int, str], Count] | None = None,
) -> Heatmap:
    """Each agent's loss rate on the criteria lost most often in the period (``counts``: already read)."""
    if counts is None:
        counts = criterion_counts(s, people, filters, start, end)
    lost_by_crit: dict[str, int] = defaultdict(int)
    lost_by_agent: dict[int, Count] = defaultdict(Count)
    for (uid, crit), c in counts.items():
        lost_by_crit[crit] += c.lost
        lost_by_agent[uid] = lost_by_agent[uid] + c
    crits = [c for c, n in sorted(lost_by_crit.items(), key=lambda kv: (-kv[1], kv[0])) if n > 0][:max_criteria]
    titles = criterion_titles(s, crits)
    ranked = sorted(lost_by_agent, key=lambda u: (-lost_by_agent[u].rate, u))
    shown = ranked[:max_agents]
    names = dict(s.execute(select(User.id, User.display_name).where(User.id.in_(shown))).all()) if shown else {}
    return Heatmap(
        agents=[(u, names.get(u, str(u))) for u in shown],
        criteria=[(c, *titles.get(c, ("", c))) for c in crits],
        cells={(u, c): HeatCell(counts[(u, c)]) for u in shown for c in crits if (u, c) in counts},
        more_agents=max(0, len(ranked) - len(shown)),
    )


def frequent_findings(
    s: Session, people: Sequence[int] | None, filters: Filters, start: date, end: date, *, limit: int = 10
) -> list[FrequentFinding]:
    """The criteria with the most findings (red-line markers apart)."""
    f = FindingFact
    q = (
        _filtered(
            select(
                f.criterion,
                func.max(f.dimension),
                func.count(),
                func.count(func.distinct(f.user_id)),
                func.sum(f.points),
                func.max(f.message),
            ),
            people,
            filters,
            start,
            end,
            f,
        )
        .where(f.red_line.is_(None), f.criterion != "red-line")
        .group_by(f.criterion)
        .order_by(func.count().desc(), f.criterion)
        .limit(limit)
    )
    rows = s.execute(q).all()
    titles = criterion_titles(s, [r[0] for r in rows])
    return [
        FrequentFinding(c, d or "", titles.get(c, ("", c))[1], int(n), int(a), round(float(p or 0), 1), ex or "")
        for c, d, n, a, p, ex in rows
    ]


def red_lines(
    s: Session, people: Sequence[int] | None, filters: Filters, start: date, end: date, *, limit: int = 10
) -> list[RedLine]:
    """Red lines crossed in the period, most frequent first."""
    f = FindingFact
    q = (
        _filtered(
            select(
                f.red_line,
                func.count(),
                func.count(func.distinct(f.user_id)),
                func.max(f.day),
                func.max(f.message),
            ),
            people,
            filters,
            start,
            end,
            f,
        )
        .where(f.red_line.is_not(None))
        .group_by(f.red_line)
        .order_by(func.count().desc(), f.red_line)
        .limit(limit)
    )
    return [RedLine(str(r), int(n), int(a), d, ex or "") for r, n, a, d, ex in s.execute(q).all()]


def build(
    s: Session,
    people: Sequence[int] | None,
    filters: Filters,
    tz: str,
    *,
    counts: dict[tuple[int, str], Count] | None = None,
) -> Dashboard:
    """The whole dashboard for the filters (``counts``: the period's criterion counts, when already read)."""
    start, end = filters.period(tz)
    weekly = (end - start).days >= 31
    sums = daily_sums(s, people, filters, start, end)
    buckets: list[date] = []
    d = _bucket_of(start, weekly)
    while d <= end:
        buckets.append(d)
        d += timedelta(days=7 if weekly else 1)
    index = {b: i for i, b in enumerate(buckets)}
    trend: dict[str, list[Sums]] = {"simulation": [Sums() for _ in buckets], "real": [Sums() for _ in buckets]}
    totals = {"simulation": Sums(), "real": Sums()}
    for (day, side_), bucket_sums in sums.items():
        trend[side_][index[_bucket_of(day, weekly)]].add(bucket_sums)
        totals[side_].add(bucket_sums)
    return Dashboard(
        start=start,
        end=end,
        bucket="week" if weekly else "day",
        labels=[b.strftime("%m-%d") for b in buckets],
        trend=trend,
        totals=totals,
        heatmap=heatmap(s, people, filters, start, end, counts=counts),
        frequent=frequent_findings(s, people, filters, start, end),
        red_lines=red_lines(s, people, filters, start, end),
    )


def shops(s: Session) -> list[str]:
    """Every shop the facts know."""
    q = select(ScoreFact.shop).where(ScoreFact.shop != "").group_by(ScoreFact.shop).order_by(ScoreFact.shop)
    return [str(x) for x in s.scalars(q)]
