"""What a knowledge search returns, and the retrieval protocol the grader and the web panel code against."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Passage:
    """One retrieved chunk of a knowledge document.

    Attributes:
        id: Chunk id (``doc_id#n``).
        doc_id: Id of the document it comes from.
        title: Document title.
        heading_path: Headings above the chunk, outermost first.
        text: The chunk text (a table chunk repeats its header row).
        source: Source file, as shown to people.
        score: Fused relevance score (higher is better; comparable only within one result list).
        kind: Document kind (product, policy, …).
        tier: 必会 / 掌握 / 了解.
        locale: zh-CN or en.
        tags: Document tags.
    """

    id: str
    doc_id: str
    title: str
    heading_path: tuple[str, ...]
    text: str
    source: str
    score: float
    kind: str = "other"
    tier: str = "掌握"
    locale: str = "zh-CN"
    tags: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        d = asdict(self)
        d["heading_path"] = list(self.heading_path)
        d["tags"] = list(self.tags)
        return d


class Retriever(Protocol):
    """Anything that answers a question with knowledge passages (the hybrid index, or a fake in tests).

    A retriever may also offer ``prepare(queries)`` — embed several upcoming queries in one batch — which the
    grader calls once per transcript when it is there (:meth:`simulator.knowledge.base.KnowledgeBase.prepare`).
    """

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        kind: str | Sequence[str] | None = None,
        tier: str | Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        locale: str | None = None,
        doc_ids: Sequence[str] | None = None,
    ) -> list[Passage]:
        """The ``k`` best passages for ``query`` under the filters, best first."""
        ...

