"""Named scheme presets (DESIGN §2.3), written in the same TOML shape a user would write.

A scheme may say ``preset = "shared"`` and override any key; presets use automatic targets
(the expected annual measure at normal effort), so they fit any company. Bonus at target and
base salary come from the scenario's ``[marketing]`` and ``[sales]`` tables unless overridden.
"""

from __future__ import annotations

import copy

#: name -> (one-line description, scheme table)
PRESETS: dict[str, tuple[str, dict]] = {
    "separate": (
        "Separate targets: marketing paid on appointments handed over, sales on own bookings",
        {
            "marketing": {"measure": "appointments", "period": "year", "payout": "linear"},
            "sales": {"measure": "own_bookings", "period": "year", "payout": "linear"},
        },
    ),
    "shared": (
        "Shared target: marketing and sales both paid on team bookings",
        {
            "marketing": {"measure": "team_bookings", "period": "year", "payout": "linear"},
            "sales": {"measure": "team_bookings", "period": "year", "payout": "linear"},
        },
    ),
    "hybrid": (
        "Hybrid: half on each team's own measure, half on team bookings",
        {
            "marketing": {
                "components": [
                    {"measure": "appointments", "weight": 0.5, "payout": "linear"},
                    {"measure": "team_bookings", "weight": 0.5, "payout": "linear"},
                ]
            },
            "sales": {
                "components": [
                    {"measure": "own_bookings", "weight": 0.5, "payout": "linear"},
                    {"measure": "team_bookings", "weight": 0.5, "payout": "linear"},
                ]
            },
        },
    ),
    "linear-commission": (
        "Straight commission: sales on own bookings, marketing per appointment, uncapped",
        {
            "marketing": {"measure": "appointments", "period": "month", "payout": "commission"},
            "sales": {"measure": "own_bookings", "period": "month", "payout": "commission"},
        },
    ),
    "quarterly-step": (
        "Quarterly step bonus: a quarter's bonus paid in full when its target is hit",
        {
            "marketing": {"measure": "appointments", "period": "quarter", "payout": "step"},
            "sales": {"measure": "own_bookings", "period": "quarter", "payout": "step"},
        },
    ),
    "annual-step": (
        "Annual step bonus: the whole bonus paid when the annual target is hit",
        {
            "marketing": {"measure": "appointments", "period": "year", "payout": "step"},
            "sales": {"measure": "own_bookings", "period": "year", "payout": "step"},
        },
    ),
    "capped": (
        "Linear bonus from a 50 % threshold, accelerated above target, capped at 150 %",
        {
            "marketing": {
                "measure": "appointments",
                "payout": "linear",
                "threshold": 0.5,
                "accelerator": 2.0,
                "cap": 1.5,
            },
            "sales": {
                "measure": "own_bookings",
                "payout": "linear",
                "threshold": 0.5,
                "accelerator": 2.0,
                "cap": 1.5,
            },
        },
    ),
    "ratchet": (
        "Linear bonus with a ratchet: next year's target rises by half of any beat",
        {
            "marketing": {
                "measure": "appointments",
                "payout": "linear",
                "ratchet": {"up": 0.5, "down": 0.0},
            },
            "sales": {
                "measure": "own_bookings",
                "payout": "linear",
                "ratchet": {"up": 0.5, "down": 0.0},
            },
        },
    ),
}


def preset_table(name: str) -> dict:
    """A deep copy of a preset's scheme table (``KeyError`` for an unknown name)."""
    return copy.deepcopy(PRESETS[name][1])


def preset_description(name: str) -> str:
    """The preset's one-line description."""
    return PRESETS[name][0]


def merge(base: dict, override: dict) -> dict:
    """Deep-merge ``override`` into a copy of ``base`` (tables merge, other values replace).

    A role table that gives ``components`` replaces the preset's single component and vice versa.
    """
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            target = out[key]
            if "components" in value:
                target = {k: v for k, v in target.items() if k in ("bonus_at_target", "base_salary")}
            elif "components" in target and any(k not in ("bonus_at_target", "base_salary") for k in value):
                target = {k: v for k, v in target.items() if k in ("bonus_at_target", "base_salary")}
            out[key] = merge(target, value)
        else:
            out[key] = copy.deepcopy(value)
    return out
