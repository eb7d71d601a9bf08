"""The simulated calendar, re-exported: its home is :mod:`incentsim.scenario.calendar`.

The scenario loader needs the calendar, so it lives below the schemes (no import cycle);
this alias keeps ``incentsim.schemes.calendar`` imports working until they are updated.
"""

from ..scenario.calendar import WEEK_MONTH, month_end_weeks, period_end_weeks, week_period

__all__ = ["WEEK_MONTH", "month_end_weeks", "period_end_weeks", "week_period"]
