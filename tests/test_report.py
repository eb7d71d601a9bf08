"""Tier: reports for directors - the HTML file, the summary figure, Markdown, and every plot's edge cases."""

from __future__ import annotations

import base64
import dataclasses
import io
import shlex
from html.parser import HTMLParser

import numpy as np
import pytest
from conftest import SCENARIOS, small

from incentsim.cli.main import cli
from incentsim.comparison import build_comparison, compare
from incentsim.kernels import layout as L
from incentsim.report import plots
from incentsim.report.format import percent_tick, share, short_money
from incentsim.report.html import SECTIONS, comparison_html, flatten_inputs, input_groups
from incentsim.report.markdown import comparison_markdown, director_summary
from incentsim.scenario import load_scenario
from incentsim.scenario.load import scenario_from_dict

PNG = b"\x89PNG\r\n\x1a\n"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Page(HTMLParser):
    """Collects what the tests check: ids, images, every src/href, tag balance, text before the first image."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.imgs: list[dict] = []
        self.refs: list[str] = []
        self.tags: set[str] = set()
        self.stack: list[str] = []
        self.unbalanced: list[str] = []
        self.text_before_img: list[str] = []
        self.answer_text: list[str] = []
        self._in_answer = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if "id" in a:
            self.ids.append(a["id"])
        for key in ("src", "href"):
            if a.get(key):
                self.refs.append(a[key])
        if tag == "img":
            self.imgs.append(a)
        if tag not in VOID:
            self.stack.append(tag)
            if a.get("id") == "answer":
                self._in_answer = len(self.stack)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.unbalanced.append(tag)
            return
        if self._in_answer == len(self.stack):
            self._in_answer = 0
        self.stack.pop()

    def handle_data(self, data):
        if not self.imgs:
            self.text_before_img.append(data)
        if self._in_answer:
            self.answer_text.append(data)


def _parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    return page


def _png_images(page: _Page) -> list[bytes]:
    prefix = "data:image/png;base64,"
    return [base64.b64decode(img["src"][len(prefix) :]) for img in page.imgs if img["src"].startswith(prefix)]


def _decoded(png: bytes) -> np.ndarray:
    import matplotlib.image as mpimg

    return mpimg.imread(io.BytesIO(png), format="png")


def _assert_real_png(png: bytes, min_px: int = 150) -> None:
    assert png.startswith(PNG)
    img = _decoded(png)
    assert img.shape[0] >= min_px and img.shape[1] >= min_px, img.shape
    assert float(img[..., :3].std()) > 0.01, "image is blank"


# -- comparisons shared by the tests (small, fast) ---------------------------------------------


@pytest.fixture(scope="module")
def cmp_fixed():
    """Two schemes of a small company, behaviour fixed."""
    sc = scenario_from_dict(small(simulation={"replications": 200, "seed": 7, "behaviour": "fixed"}))
    return compare(sc)


@pytest.fixture(scope="module")
def cmp_optimising():
    """The bundled three-scheme scenario with optimising behaviour, few replications."""
    sc = load_scenario(SCENARIOS / "separate-vs-shared.toml", replications=200)
    return compare(sc)


@pytest.fixture(scope="module")
def cmp_no_marketing():
    """One rep, no marketing: marketing attainment and appointment win rate are NaN."""
    sc = load_scenario(SCENARIOS / "new-business-plan.toml", replications=200)
    return compare(sc)


def _edited(cmp, edit):
    """The comparison rebuilt from results whose arrays ``edit(res) -> dict of changes`` altered."""
    results = {name: dataclasses.replace(res, **edit(res)) for name, res in cmp.results.items()}
    return build_comparison(cmp.scenario, results, cmp.budget)


def _zero_revenue(res):
    year = res.year.copy()
    year[..., [L.Y_REVENUE, L.Y_MARGIN, L.Y_WINS, L.Y_MKT_WINS, L.Y_SOURCED]] = 0.0
    person = res.person.copy()
    person[..., [L.P_BOOKINGS, L.P_WINS, L.P_ATTAIN]] = 0.0
    return {"year": year, "person": person, "month": np.zeros_like(res.month)}


def _huge_spread(res):
    rng = np.random.default_rng(1)
    year = res.year.copy()
    factor = np.exp(rng.normal(0.0, 6.0, size=year.shape[:2]))
    factor.reshape(-1)[:3] = [0.0, 1e9, 1e-9]
    year[..., L.Y_REVENUE] *= factor
    year[..., L.Y_MARGIN] *= factor
    year[..., L.Y_BONUS_SALES] *= factor
    return {"year": year, "month": res.month * factor[..., None]}


def _outliers(res):
    year = res.year.copy()
    year.reshape(-1, year.shape[-1])[:1, L.Y_REVENUE] *= 1000.0  # one year in 200
    return {"year": year}


def _all_nan_people(res):
    person = res.person.copy()
    person[..., L.P_ATTAIN] = np.nan
    return {"person": person, "marketing_paid": False}


@pytest.fixture(scope="module")
def edge_cases(cmp_fixed, cmp_no_marketing):
    sc = cmp_fixed.scenario
    one = compare(sc, ["shared"])
    return {
        "one scheme": one,
        "zero revenue": _edited(cmp_fixed, _zero_revenue),
        "huge spread": _edited(cmp_fixed, _huge_spread),
        "a few outliers": _edited(cmp_fixed, _outliers),
        "NaN marketing (unpaid, no appointments)": cmp_no_marketing,
        "NaN attainment": _edited(cmp_fixed, _all_nan_people),
        "scheme against itself": compare(sc, ["separate", "separate"]),
    }


# -- the HTML report, end to end through the CLI -------------------------------------------------


def test_report_command_writes_self_contained_html(runner, tmp_path):
    out = tmp_path / "report.html"
    result = runner.invoke(cli, ["report", "separate-vs-shared", "-n", "200", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output and "Verdict: " in result.output
    text = out.read_text(encoding="utf-8")
    page = _parse(text)
    assert text.startswith("<!DOCTYPE html>")
    assert not page.unbalanced and not page.stack, (page.unbalanced, page.stack)
    # Every section, in the documented order.
    assert [i for i in page.ids if i in SECTIONS] == list(SECTIONS)
    # Every figure embedded as a real PNG; optimising behaviour adds the effort-by-week figure.
    images = _png_images(page)
    assert len(page.imgs) == len(images) == len(plots.REPORT_FIGURES)
    for png in images:
        _assert_real_png(png)
    assert all(img.get("alt") for img in page.imgs)
    # Opens offline: nothing to fetch.
    assert "http://" not in text and "https://" not in text
    assert all(ref.startswith(("data:image/png;base64,", "#")) for ref in page.refs), page.refs
    assert not page.tags & {"script", "link", "iframe", "object"}


def test_report_answers_first(cmp_optimising):
    text = comparison_html(cmp_optimising)
    page = _parse(text)
    summary = director_summary(cmp_optimising)
    before = " ".join(" ".join(page.text_before_img).split())
    answer = " ".join(" ".join(page.answer_text).split())
    # Which scheme, by how much, how sure, at what bonus cost: all in the answer box, before any figure.
    for question in ("By how much?", "How sure?", "At what bonus cost?"):
        assert question in answer
    assert summary.which in answer and summary.best in answer
    assert "95% confidence" in answer and "(P90)" in answer and cmp_optimising.scenario.currency in answer
    assert " ".join(cmp_optimising.verdict.split()) in answer
    assert answer in before
    # The box is short enough for the first screen: far less text than the rest of the report.
    assert len(answer) < 1600, len(answer)


def test_director_summary_is_the_paired_difference(cmp_optimising):
    s = director_summary(cmp_optimising)
    means = {k: cmp_optimising.summaries[k]["profit_after_bonus"].mean for k in cmp_optimising.schemes}
    assert s.best == max(means, key=means.get)
    assert s.runner_up == sorted(means, key=means.get)[-2]
    for row in s.rows:
        if row.scheme == s.best:
            assert row.lead_mean is None
            continue
        d = cmp_optimising.difference(s.best, "profit_after_bonus", row.scheme)
        assert row.lead_mean == pytest.approx(d.mean) and row.lead_ci95 == pytest.approx(d.ci95)
        assert row.lead_mean == pytest.approx(means[s.best] - means[row.scheme], rel=1e-9)
        assert row.bonus_p90 == cmp_optimising.hr[row.scheme].bonus_budget["p90"]


def test_no_clear_winner_when_a_scheme_meets_itself(edge_cases):
    cmp = edge_cases["scheme against itself"]
    s = director_summary(cmp)
    assert not s.clear and s.which.startswith("No clear winner")
    assert "includes zero" in s.how_sure


def test_one_scheme_summary(edge_cases):
    s = director_summary(edge_cases["one scheme"])
    assert s.runner_up is None and s.which == "One scheme only: shared."
    text = comparison_html(edge_cases["one scheme"])
    assert "One scheme only" in text and _parse(text).unbalanced == []


def test_fixed_behaviour_report_has_no_effort_figure(cmp_fixed):
    figures = plots.report_figures(cmp_fixed)
    assert "effort" not in figures and len(figures) == len(plots.REPORT_FIGURES) - 1
    text = comparison_html(cmp_fixed, figures)
    assert len(_parse(text).imgs) == len(figures)
    assert "Behaviour is fixed" in text


def test_report_lists_every_input(cmp_optimising):
    sc = cmp_optimising.scenario
    rows = flatten_inputs(sc.to_dict())
    keys = [k for k, _ in rows]
    assert len(keys) == len(set(keys))
    assert ("marketing.leads_per_week", "60") in rows
    assert ("funnel.stages.quote.conversion", "0.5") in rows
    assert ("schemes.hybrid.sales.components[1].measure", "team_bookings") in rows
    assert (
        "schemes.shared.sales.components[0].target",
        "auto (expected annual measure at normal effort)",
    ) in rows

    # Every leaf of the scenario dict is a row; the grouped view loses none.
    def leaves(d):
        if isinstance(d, dict):
            return sum(leaves(v) for v in d.values()) or 1
        if isinstance(d, (list, tuple)) and d and all(isinstance(e, dict) for e in d):
            return sum(leaves(e) for e in d)
        return 1

    assert len(rows) == leaves(sc.to_dict())
    assert sum(len(g) for g in input_groups(sc).values()) == len(rows)
    text = comparison_html(cmp_optimising, figures={})
    for _key, value in rows[:40]:
        assert value.replace("&", "&amp;") in text


def test_report_provenance_reproduces_the_file(runner, tmp_path):
    from html import unescape

    out = tmp_path / "a.html"
    args = ["report", "new-business-plan", "-n", "150", "--seed", "3", "--budget", "8000", "--out", str(out)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "exceeds the stated budget of 8,000 EUR" in text
    start = text.index("<dt>Reproduce with</dt><dd><code>") + len("<dt>Reproduce with</dt><dd><code>")
    command = shlex.split(unescape(text[start : text.index("</code>", start)]))
    assert command[:2] == ["incentsim", "report"]
    assert command[command.index("--seed") + 1] == "3" and command[command.index("--budget") + 1] == "8000"
    again = tmp_path / "b.html"
    command[command.index("--out") + 1] = str(again)
    result = runner.invoke(cli, command[1:])
    assert result.exit_code == 0, result.output
    assert again.read_text() == text  # bit for bit, figures included


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["report", "no-such-scenario.toml"], "no-such-scenario"),
        (["report", "new-business-plan", "--schemes", "stepat10"], "no scheme 'stepat10'"),
    ],
)
def test_report_bad_input_one_line_no_file(runner, tmp_path, args, fragment):
    out = tmp_path / "r.html"
    result = runner.invoke(cli, args + ["-n", "50", "--out", str(out)])
    assert result.exit_code == 2, result.output
    err = result.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err and fragment in err, err
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_report_unwritable_path_one_line(runner, tmp_path):
    out = tmp_path / "missing-folder" / "r.html"
    result = runner.invoke(cli, ["report", "new-business-plan", "-n", "50", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and "cannot be written" in result.stderr
    assert not out.parent.exists()


def test_report_requires_out(runner):
    result = runner.invoke(cli, ["report", "new-business-plan"])
    assert result.exit_code == 2 and "--out" in result.output


# -- compare --plot / --markdown -----------------------------------------------------------------


def test_compare_plot_and_markdown(runner, tmp_path):
    png = tmp_path / "fig" / "summary.png"
    png.parent.mkdir()
    md = tmp_path / "docs" / "result.md"
    md.parent.mkdir()
    result = runner.invoke(
        cli, ["compare", "new-business-plan", "-n", "200", "--plot", str(png), "--markdown", str(md)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1].startswith("Verdict: ")  # the terminal report still prints
    data = png.read_bytes()
    _assert_real_png(data, min_px=800)
    text = md.read_text()
    assert text.startswith("# new-business-plan: step-at-10 vs per-client")
    for heading in ("## The answer", "## Key figures", "## Differences against step-at-10", "## Pay (HR view)",
                    "## Reproducibility"):  # fmt: skip
        assert heading in text
    assert "![Summary of the comparison](../fig/summary.png)" in text
    assert "| step-at-10 |" in text and "**Verdict:** step-at-10" in text
    # Differences of shares are in percentage points, not %.
    assert "Reps on target | +0.0 pts" in text


def test_compare_markdown_to_stdout(runner):
    result = runner.invoke(cli, ["compare", "new-business-plan", "-n", "100", "--markdown", "-"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# new-business-plan")
    assert "Precision:" not in result.stdout  # the terminal table is not mixed in


def test_compare_plot_bad_format_or_folder(runner, tmp_path):
    result = runner.invoke(cli, ["compare", "new-business-plan", "-n", "50", "--plot", str(tmp_path / "x.jpg")])
    assert result.exit_code == 2 and "unsupported image format .jpg" in result.stderr
    result = runner.invoke(cli, ["compare", "new-business-plan", "-n", "50", "--plot", str(tmp_path / "no" / "x.png")])
    assert result.exit_code == 2 and "cannot be written" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_compare_plot_as_svg(runner, tmp_path):
    out = tmp_path / "s.svg"
    result = runner.invoke(cli, ["compare", "new-business-plan", "-n", "50", "--plot", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().lstrip().startswith("<?xml") and "<svg" in out.read_text()


# -- plots: every figure, edge cases, consistent colours ----------------------------------------

FIGURES = {
    "summary": plots.summary_figure,
    **{key: build for key, (build, _alt) in plots.REPORT_FIGURES.items()},
}


@pytest.mark.filterwarnings("error")  # a layout that cannot fit, or a NaN slipping through, fails
@pytest.mark.parametrize("case", ["one scheme", "zero revenue", "huge spread", "a few outliers",
                                  "NaN marketing (unpaid, no appointments)", "NaN attainment", "scheme against itself"])  # fmt: skip
def test_every_figure_renders_for_edge_cases(edge_cases, case):
    cmp = edge_cases[case]
    for name, build in FIGURES.items():
        fig = build(cmp)
        _assert_real_png(plots.to_png(fig, dpi=60), min_px=90)
        assert fig.axes, name


def test_edge_case_figures_say_what_is_missing(edge_cases):
    def texts(fig):
        return " ".join(t.get_text() for ax in fig.axes for t in ax.texts)

    assert "no appointments" in texts(plots.marketing_figure(edge_cases["NaN marketing (unpaid, no appointments)"]))
    assert "Only one scheme" in texts(plots.difference_figure(edge_cases["one scheme"]))
    nan_att = texts(plots.attainment_figure(edge_cases["NaN attainment"]))
    assert "n/a" in nan_att and "unpaid" not in nan_att  # sales is paid, its attainment unknown
    fig = plots.distribution_figure(edge_cases["huge spread"], "revenue")
    assert "log scale" in fig.axes[1].get_xlabel() and fig.axes[1].get_xscale() == "symlog"
    fig = plots.distribution_figure(edge_cases["a few outliers"], "revenue")
    assert "P0.5-P99.5" in fig.axes[1].get_xlabel()  # long tails clipped, and the axis says so
    assert fig.axes[1].get_xlim()[1] < edge_cases["a few outliers"].summaries["separate"]["revenue"].mean * 10


def test_scheme_colours_are_consistent_across_figures(cmp_optimising):
    colors = plots.scheme_colors(cmp_optimising.schemes)
    assert list(colors.values()) == list(plots.PALETTE[:3])
    assert plots.scheme_colors(["x", "y"])["x"] == colors[cmp_optimising.baseline]  # by order, not by name
    import matplotlib.colors as mcolors

    for build in (
        plots.monthly_revenue_figure,
        plots.effort_figure,
        lambda c: plots.distribution_figure(c, "revenue"),
    ):
        fig = build(cmp_optimising)
        seen = set()
        for ax in fig.axes:
            legend = ax.get_legend()
            for artist in list(ax.lines) + list(ax.patches) + list(legend.legend_handles if legend else []):
                label = artist.get_label()
                if label in colors:
                    color = artist.get_color() if hasattr(artist, "get_color") else artist.get_edgecolor()
                    assert mcolors.same_color(color, colors[label]), (label, color)
                    seen.add(label)
        assert seen == set(colors)


def test_money_axes_carry_currency_and_compact_ticks(cmp_optimising):
    fig = plots.distribution_figure(cmp_optimising, "profit_after_bonus")
    ax_range = fig.axes[1]
    assert "(EUR)" in ax_range.get_xlabel()
    fig.canvas.draw()
    ticks = [t.get_text() for t in ax_range.get_xticklabels() if t.get_text()]
    assert ticks and all(t[-1] in "0123456789kMbn" for t in ticks), ticks
    assert any(t.endswith(("k", "M")) for t in ticks), ticks


def test_payout_curves_are_the_scheme_curves(cmp_optimising, cmp_no_marketing):
    fig = plots.payout_curves_figure(cmp_no_marketing)
    assert len(fig.axes) == 1 and fig.axes[0].get_title() == "Sales reps"  # marketing unpaid: no panel
    lines = {line.get_label(): line for line in fig.axes[0].lines if not line.get_label().startswith("_")}
    step = lines["step-at-10: own wins, year"]
    x, y = step.get_xdata(), step.get_ydata()
    assert y[x < 0.999].max() == 0.0 and y[x >= 1.0].min() == 1.0  # the step at 100 %
    commission = lines["per-client: own wins, year (commission)"]
    assert commission.get_ydata()[np.searchsorted(commission.get_xdata(), 1.5)] == pytest.approx(1.5)
    # The bundled schemes cap at 200 % payout: the axis goes past 200 % so the cap shows.
    fig = plots.payout_curves_figure(cmp_optimising)
    assert [ax.get_title() for ax in fig.axes] == ["Sales reps", "Marketing"]
    assert fig.axes[0].get_xlim()[1] > 2.0
    assert len([ln for ln in fig.axes[0].lines if not ln.get_label().startswith("_")]) == 4  # hybrid has two


def test_number_formats():
    assert short_money(950_000) == "950k"
    assert short_money(1_250_000) == "1.25M"
    assert short_money(-3_400_000_000) == "-3.4bn"
    assert short_money(999_999) == "1M"
    assert short_money(0) == "0" and short_money(float("nan")) == "n/a"
    assert percent_tick(0.25) == "25%" and percent_tick(0.125) == "12.5%"
    assert percent_tick(1.75) == "175%" and percent_tick(0.0) == "0%"
    assert share(0.999) == ">99%" and share(0.001) == "<1%" and share(1.0) == "100%"
    assert share(float("nan")) == "n/a"


def test_save_figure_is_atomic_and_checks_format(cmp_fixed, tmp_path):
    with pytest.raises(ValueError, match="unsupported image format"):
        plots.save_figure(plots.effort_figure(cmp_fixed), tmp_path / "x.gif")
    out = tmp_path / "x.pdf"
    plots.save_figure(plots.effort_figure(cmp_fixed), out)
    assert out.read_bytes().startswith(b"%PDF")
    assert [p.name for p in tmp_path.iterdir()] == ["x.pdf"]


def test_markdown_without_image(cmp_fixed):
    text = comparison_markdown(cmp_fixed)
    assert "![" not in text and "## The answer" in text
    rows = [line for line in text.splitlines() if line.startswith("| separate |")]
    assert len(rows) == 2  # the answer table and the HR table


def test_a_scheme_whose_equilibrium_did_not_settle_is_named_in_every_report(cmp_optimising):
    # behaviour.max_rounds = 1: no scheme can settle in one round (the first round's change is
    # the move from today's behaviour), so the terminal text (also --brief) and the Markdown name
    # each paid scheme; the bundled scenario's own comparison settles and names none. Seed of the
    # small scenario, N = 50 (only the solver's diagnostics matter here).
    from incentsim.report.text import comparison_text

    d = small(simulation={"replications": 50, "seed": 5, "behaviour": "optimising"})
    d.setdefault("behaviour", {})["max_rounds"] = 1
    cmp = compare(scenario_from_dict(d))
    assert [u[0] for u in cmp.unsettled] == [s for s in cmp.schemes if not cmp.results[s].solver.get("converged")]
    assert cmp.unsettled, [r.solver for r in cmp.results.values()]
    import html

    page = html.unescape(comparison_html(cmp))
    for text in (comparison_text(cmp), comparison_text(cmp, brief=True), comparison_markdown(cmp), page):
        for name, _rounds, change, tol in cmp.unsettled:
            assert f"{name}'s equilibrium did not settle in 1 round (" in text
            assert f"{change:.3f}" in text and f"below {tol:g}" in text
    assert cmp_optimising.unsettled == []
    assert "did not settle" not in comparison_text(cmp_optimising)
    assert "did not settle" not in comparison_markdown(cmp_optimising)
    assert "did not settle" not in comparison_html(cmp_optimising)


# -- honest statements: what a figure says it compares (issue 17's review) -----------------------


def test_one_replication_gives_no_interval_and_no_verdict():
    """Seed 7, N = 1, fixed behaviour: a zero-width "95 % CI" made every difference look sure."""
    import math

    from incentsim.report.text import comparison_text
    from incentsim.stats import PairStats, paired_difference

    sc = scenario_from_dict(small(simulation={"replications": 1, "seed": 7, "behaviour": "fixed"}))
    cmp = compare(sc)
    best, other = cmp.verdict_pair()
    d = cmp.difference(best, "profit_after_bonus", other)
    assert d.n == 1 and all(math.isnan(v) for v in d.ci95) and not d.significant
    assert cmp.verdict.startswith("No verdict on profit after bonuses from one replication"), cmp.verdict
    assert "Why:" not in cmp.verdict  # (it said "same margin, same bonus cost" from parts with no interval)
    text = comparison_text(cmp)
    assert "(95% CI n/a)" in text and "nan" not in text.lower().replace("n/a", "")
    # The streamed statistics say the same as the exact ones.
    a, b = np.array([[3.0]]), np.array([[1.0]])
    for diff in (PairStats.of(a, b).difference(), paired_difference(a, b)):
        assert diff.mean == 2.0 and all(math.isnan(v) for v in diff.ci95) and not diff.significant


def test_the_precision_line_describes_the_verdicts_own_pair(cmp_optimising):
    """Bundled scenario, N = 200, optimising: the verdict compares the best scheme with the runner-up
    (the best is the baseline), which is not the second scheme of the file; the fixed-N precision
    line quoted the second scheme's interval."""
    from incentsim.report.format import money
    from incentsim.report.text import comparison_text

    best, other = cmp_optimising.verdict_pair()
    assert best == cmp_optimising.baseline and other != cmp_optimising.schemes[1]  # (what makes the test bite)
    d = cmp_optimising.difference(best, "profit_after_bonus", other)
    text = comparison_text(cmp_optimising)
    cur = cmp_optimising.scenario.currency
    assert f"profit difference ({best} vs {other}) {money(d.half_width, cur)}." in text
    lo, hi = d.ci95
    assert f"{money(lo, cur)} to {money(hi, cur)}" in cmp_optimising.verdict


def test_behaviour_figures_say_higher_not_better(cmp_optimising):
    """Effort, focus and team work have no better direction: the share of years is of *higher*
    values; profit and costs keep "better" (lower is better for costs)."""
    from incentsim.report.text import comparison_text

    text = comparison_text(cmp_optimising)
    name = cmp_optimising.schemes[1]
    said: dict[str, str] = {}
    heading = ""
    for line in text.splitlines():
        if line and not line.startswith(" "):
            heading = line
        elif line.startswith(f"  {name} - "):
            said[heading] = line
    for label, word in (("Mean rep effort", "higher"), ("Marketing quality focus", "higher"),
                        ("Profit after bonuses", "better"), ("Bonus cost", "better")):  # fmt: skip
        line = next(v for k, v in said.items() if k.startswith(label))
        assert f" {name} {word} in " in line, line
    mean = cmp_optimising.difference(name, "mean_effort")
    effort = {s: cmp_optimising.results[s].metrics["mean_effort"] for s in (name, cmp_optimising.baseline)}
    higher = float(np.mean(effort[name] > effort[cmp_optimising.baseline]))
    assert mean.p_a_beats_b == pytest.approx(higher, abs=0.01)
    cost = cmp_optimising.difference(name, "bonus_cost")
    bonus = {s: cmp_optimising.results[s].metrics["bonus_cost"] for s in (name, cmp_optimising.baseline)}
    assert cost.p_a_beats_b == pytest.approx(float(np.mean(bonus[name] < bonus[cmp_optimising.baseline])), abs=0.01)


def test_no_marketing_team_has_no_marketing_behaviour_or_person(cmp_no_marketing):
    """new-business-plan has no marketing people: no focus or effort figure, no marketing row per person."""
    res = next(iter(cmp_no_marketing.results.values()))
    assert res.marketing_headcount == 0
    assert np.isnan(res.metrics["marketing_quality"]).all() and np.isnan(res.metrics["marketing_effort"]).all()
    people = res.person_frame()
    assert set(people["role"]) == {"sales"} and len(people) == res.replications * res.horizon_years * res.reps
    from incentsim.report.text import glance_lines

    assert not any(line.startswith("Marketing quality focus") for line in glance_lines(cmp_no_marketing))


def test_a_calibration_that_did_not_settle_is_named_in_every_report(monkeypatch, cmp_optimising):
    """The calibration's rounds cut to one fewer than it needs (seed 5, N = 50, optimising; no cache
    read or written): they run out before the baseline's equilibrium settles; every report says so
    (as relationship-types' calibration, which runs out of its 80 rounds, does), and the bundled
    scenario's, which settles, says nothing."""
    import html

    from incentsim.model import policy as P
    from incentsim.report.text import comparison_text

    monkeypatch.setenv("INCENTSIM_NO_CACHE", "1")
    monkeypatch.setattr(P, "_CALIBRATION_CACHE", {})
    sc = scenario_from_dict(small(simulation={"replications": 50, "seed": 5, "behaviour": "optimising"}))
    full = P._calibrate(sc, sc.baseline_name)
    assert full["settled"] and full["rounds"] > 2, full
    monkeypatch.setattr(P, "CALIBRATION_ROUNDS", full["rounds"] - 1)
    cmp = compare(sc)
    cal = cmp.calibration_unsettled
    n = full["rounds"] - 1
    assert cal is not None and cal[0] == cmp.baseline and cal[1] == n, [r.solver for r in cmp.results.values()]
    page = html.unescape(comparison_html(cmp))
    for text in (comparison_text(cmp), comparison_text(cmp, brief=True), comparison_markdown(cmp), page):
        assert f"the calibration of effort costs on today's scheme {cmp.baseline} did not settle in {n} rounds" in text
    assert cmp_optimising.calibration_unsettled is None
    assert "calibration of effort costs" not in comparison_text(cmp_optimising)


def test_a_calibration_with_every_cost_given_runs_no_rounds():
    """Nothing to calibrate (every cost given): no equilibrium is run, and the costs are the given ones."""
    from incentsim.model import policy as P

    d = small(simulation={"replications": 50, "seed": 5, "behaviour": "optimising"})
    d.setdefault("behaviour", {}).update(
        {"effort_cost_sales": 9000.0, "effort_cost_marketing": 7000.0, "quality_cost_marketing": 100.0}
    )
    out = P._calibrate(scenario_from_dict(d), scenario_from_dict(d).baseline_name)
    assert out["rounds"] == 0 and out["settled"] is True
    assert (out["sales"], out["marketing"], out["marketing_quality"]) == (9000.0, 7000.0, 100.0)


def test_a_comparison_without_a_burn_in_year_says_its_figures_lean_towards_todays(cmp_optimising):
    # burn_in_years = 0 with optimising behaviour: replications start from today's pipeline and the
    # recorded year moves away from it (the bundled scenario's revenue +1.7 to +3.7 %,
    # benchmarks.burn_in), so every report says so; with a burn-in year (the bundled scenario) or
    # fixed behaviour (today's behaviour is the start) none does. Small scenario, seed 5, N = 50.
    import html

    from incentsim.report.text import comparison_text

    note = "no burn-in year (simulation.burn_in_years = 0)"
    d = small(simulation={"replications": 50, "seed": 5, "behaviour": "optimising", "burn_in_years": 0})
    cmp = compare(scenario_from_dict(d))
    page = html.unescape(comparison_html(cmp))
    for text in (comparison_text(cmp), comparison_text(cmp, brief=True), comparison_markdown(cmp), page):
        assert note in text
    fixed = small(simulation={"replications": 50, "seed": 5, "behaviour": "fixed", "burn_in_years": 0})
    assert note not in comparison_text(compare(scenario_from_dict(fixed)))
    assert note not in comparison_text(cmp_optimising)
    assert note not in comparison_markdown(cmp_optimising)
