"""Scenario files and their typed, validated form."""

from .errors import ScenarioError
from .load import load_scenario, read_toml, scenario_from_dict
from .schema import Scenario, Scheme

__all__ = ["Scenario", "ScenarioError", "Scheme", "load_scenario", "read_toml", "scenario_from_dict"]
