"""Pick the customer for a scenario from the settings: the LLM customer when an endpoint is configured."""

from __future__ import annotations

from simulator.acts import ActDetector
from simulator.customer.base import Customer
from simulator.customer.llm import LLMCustomer
from simulator.customer.scripted import ScriptedCustomer
from simulator.embedding.base import Embedder
from simulator.llm.base import ChatModel
from simulator.scenario.model import Scenario
from simulator.settings import Settings


def make_customer(
    settings: Settings,
    scenario: Scenario,
    *,
    embedder: Embedder | None = None,
    model: ChatModel | None = None,
    detector: ActDetector | None = None,
) -> Customer:
    """The customer for ``scenario``.

    Args:
        settings: ``llm_base_url`` set → :class:`LLMCustomer` over that endpoint; unset → :class:`ScriptedCustomer`.
        scenario: The scenario to play.
        embedder: Shared embedder for act detection and trigger examples (load it once per process).
        model: A chat model to use instead of the one the settings describe (tests, benchmarks).
        detector: A shared detector (keeps its example-embedding cache across sessions).
    """
    detector = detector or ActDetector(embedder)
    scripted = ScriptedCustomer(scenario, detector)
    if model is None and not settings.llm_base_url:
        return scripted
    if model is None:
        from simulator.llm.openai_compatible import OpenAIChatModel

        model = OpenAIChatModel.from_settings(settings)
    return LLMCustomer(scenario, model, scripted=scripted)
