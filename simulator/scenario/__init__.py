"""Scenario files: the pydantic model, the loader with file:line:col errors, and the JSON Schema export."""

from simulator.scenario.beats import Beat, Trigger
from simulator.scenario.loader import (
    LoadedScenario,
    ScenarioSet,
    load_scenario,
    load_scenario_file,
    load_scenarios,
)
from simulator.scenario.model import Scenario
from simulator.scenario.vocabulary import Act, Dimension, Mood, Outcome

__all__ = [
    "Act",
    "Beat",
    "Dimension",
    "LoadedScenario",
    "Mood",
    "Outcome",
    "Scenario",
    "ScenarioSet",
    "Trigger",
    "load_scenario",
    "load_scenario_file",
    "load_scenarios",
]
