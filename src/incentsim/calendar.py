"""The simulated calendar: 52 weeks, 12 months of 4 or 5 weeks, and the target periods on them.

The lowest layer of the package: it imports nothing of incentsim.
"""

from __future__ import annotations

import numpy as np

WEEKS_PER_YEAR = 52
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: Target periods and how many there are in a year.
PERIODS: dict[str, int] = {"month": 12, "quarter": 4, "half": 2, "year": 1}

#: Month (0-11) of each week of the year (0-51): week w is in month floor(12 w / 52).
WEEK_MONTH: tuple[int, ...] = tuple((12 * w) // WEEKS_PER_YEAR for w in range(WEEKS_PER_YEAR))


def week_period(period: str) -> np.ndarray:
    """Period index (0..n-1) of each week for a period kind.

    Parameters
    ----------
    period : str
        ``"month"``, ``"quarter"``, ``"half"`` or ``"year"``.

    Returns
    -------
    ndarray(int64, shape (52,))
    """
    months_per_period = 12 // PERIODS[period]
    return np.array([m // months_per_period for m in WEEK_MONTH], dtype=np.int64)


def period_end_weeks(period: str) -> np.ndarray:
    """Whether each week is the last week of its period.

    Returns
    -------
    ndarray(bool, shape (52,))
    """
    wp = week_period(period)
    end = np.zeros(WEEKS_PER_YEAR, dtype=np.bool_)
    end[:-1] = wp[1:] != wp[:-1]
    end[-1] = True
    return end


def month_end_weeks() -> np.ndarray:
    """Whether each week is the last week of its month, ``(52,)`` bool."""
    return period_end_weeks("month")
