"""Scenario files and their typed, validated form."""

from .errors import ArgumentError, ScenarioError
from .load import load_scenario, read_toml, scenario_from_dict
from .schema import Scenario, Scheme

__all__ = ["ArgumentError", "Scenario", "ScenarioError", "Scheme", "load_scenario", "read_toml", "scenario_from_dict"]
