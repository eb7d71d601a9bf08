"""What the page shows of a comparison, from the report modules (no web framework here).

The answer, the tables and the figures are the report's own (:mod:`incentsim.report`), so the
page, the HTML report, the Markdown and the terminal agree word for word and number for number.
Call these under :func:`incentsim.i18n.language` to get them in the session's language.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..i18n import N_, _

if TYPE_CHECKING:
    from ..comparison import Comparison

#: Figures on the page, in order: report figure key -> section (message id).
PAGE_FIGURES: dict[str, str] = {
    "difference": N_("Profit after bonuses"),
    "profit": N_("Profit after bonuses"),
    "revenue": N_("Revenue"),
    "attainment": N_("Target attainment"),
    "bonus": N_("Pay per person (HR view)"),
    "curves": N_("The schemes and their payout curves"),
    "months": N_("Timing through the year"),
    "effort": N_("Timing through the year"),
    "marketing": N_("Marketing's appointments"),
}

# matplotlib's style context (rcParams) is process-wide: figures are drawn one at a time.
_FIGURE_LOCK = threading.Lock()


@dataclass
class PageResult:
    """One finished run as the page keeps it.

    Attributes
    ----------
    cmp : Comparison
    scenario_toml : str
        The scenario file of exactly this run (download it and ``incentsim compare`` gives the
        same numbers).
    share_token : str
        The same scenario packed for a link.
    seconds : float
        Wall time of the run, from the click to the answer.
    figures : dict of str to bytes
        PNGs drawn so far, keyed as :data:`PAGE_FIGURES`.
    """

    cmp: Comparison
    scenario_toml: str
    share_token: str
    seconds: float
    figures: dict[str, bytes] = field(default_factory=dict)


def figure_keys(cmp: Comparison) -> list[str]:
    """The page's figures that apply to this comparison (no effort figure with fixed behaviour)."""
    from ..report.plots import has_effort

    return [k for k in PAGE_FIGURES if k != "effort" or has_effort(cmp)]


def figure_png(cmp: Comparison, key: str) -> bytes:
    """One report figure as PNG bytes at the report's resolution (reused by the HTML report)."""
    from ..report.plots import REPORT_DPI, REPORT_FIGURES, to_png

    with _FIGURE_LOCK:
        return to_png(REPORT_FIGURES[key][0](cmp), dpi=REPORT_DPI)


def caption(key: str) -> str:
    """How to read a figure (the report's caption, translated)."""
    from ..report.html import CAPTIONS

    name = {"bonus": "bonus", "curves": "curves"}.get(key, key)
    return _(CAPTIONS[name]) if name in CAPTIONS else ""


def report_html(result: PageResult) -> str:
    """The HTML report of a run (figures drawn now if the page has not drawn them all yet)."""
    from ..report.html import comparison_html
    from ..report.plots import REPORT_FIGURES, has_effort

    figures = dict(result.figures)
    for key in REPORT_FIGURES:
        if key not in figures and (key != "effort" or has_effort(result.cmp)):
            figures[key] = figure_png(result.cmp, key)
    return comparison_html(result.cmp, figures)


def comparison_json_text(cmp: Comparison) -> str:
    """The JSON of ``compare --json`` (the same contract)."""
    return json.dumps(cmp.to_json(), indent=2)


def answer(cmp: Comparison):
    """The director's answer: which scheme, by how much, how sure, at what bonus cost."""
    from ..report.markdown import director_summary

    return director_summary(cmp)


def tables(cmp: Comparison) -> dict[str, tuple[list[str], list[list[str]]]]:
    """The report's tables: ``summary``, ``hr`` and ``figures`` (header, rows)."""
    from ..report.markdown import hr_table_rows, metric_table_rows, summary_table_rows

    return {"summary": summary_table_rows(cmp), "hr": hr_table_rows(cmp), "figures": metric_table_rows(cmp)}
