"""The four relationship types between sales and marketing, as presets of the hand-off levers.

After the classic typology (Kotler, Rackham and Krishnaswamy, "Ending the war between sales and
marketing", HBR 2006): *undefined* (the teams work apart and blame each other), *defined*
(agreed processes and hand-off rules), *aligned* (clear boundaries, joint planning, regular
feedback), *integrated* (shared processes, metrics and rewards). Pay is set separately by the
scheme; these presets set the levers that are not pay. The numbers are defaults to argue
about, not measurements: each can be overridden key by key.
"""

from __future__ import annotations

#: name -> (description, hand-off table)
RELATIONSHIPS: dict[str, tuple[str, dict]] = {
    "undefined": (
        "Teams work apart: no follow-up rule, many appointments ignored, both work the same accounts, no feedback",
        {"delay_weeks": 2.5, "sla_weeks": None, "ignored_share": 0.20, "recycle_share": 0.1,
         "duplicated_share": 0.15, "feedback_gain": 0.0},
    ),
    "defined": (
        "Agreed hand-off: follow-up within 3 weeks, fewer ignored appointments, some feedback",
        {"delay_weeks": 1.5, "sla_weeks": 3, "ignored_share": 0.10, "recycle_share": 0.3,
         "duplicated_share": 0.08, "feedback_gain": 0.05},
    ),
    "aligned": (
        "Joint planning: follow-up within 2 weeks, regular sales-to-marketing feedback",
        {"delay_weeks": 1.0, "sla_weeks": 2, "ignored_share": 0.05, "recycle_share": 0.5,
         "duplicated_share": 0.04, "feedback_gain": 0.10},
    ),
    "integrated": (
        "One funnel: follow-up within a week, almost nothing ignored or duplicated, strong feedback",
        {"delay_weeks": 0.5, "sla_weeks": 1, "ignored_share": 0.02, "recycle_share": 0.6,
         "duplicated_share": 0.01, "feedback_gain": 0.20},
    ),
}  # fmt: skip
