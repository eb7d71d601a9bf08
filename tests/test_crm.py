"""Tier: CRM calibration, synthetic exports and replay (issue 7).

Every statistical check states its seed, N and tolerance. Round trips use the bundled
``separate-vs-shared`` scenario (8 reps, about 4,000 records a year).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS, small

from incentsim.cli.main import cli
from incentsim.crm.estimate import calibrate
from incentsim.crm.format import model_week, read_export, week_span
from incentsim.crm.replay import replay
from incentsim.crm.synth import synthesize
from incentsim.scenario.errors import ArgumentError, ScenarioError
from incentsim.scenario.load import load_scenario, scenario_from_dict

BUNDLED = SCENARIOS / "separate-vs-shared.toml"
#: The figures the round trip must recover (issue 7: conversions, dwell times, deal-value mean) ...
CORE = [f"funnel.{s}.{w}" for s in ("lead", "appointment", "quote") for w in ("conversion", "dwell_weeks")]
CORE += ["deals.value_mean"]
#: ... and the other estimates with a known truth.
OTHER = [
    "marketing.leads_per_week",
    "handoff.delay_weeks",
    "handoff.response_decay_per_week",
    "handoff.ignored_share",
    "handoff.recycle_share",
    "sales.self_appointments_per_week",
    "deals.value_cv",
    "sales.ability.spread",
]


@pytest.fixture(scope="module")
def bundled():
    return load_scenario(BUNDLED)


@pytest.fixture(scope="module")
def synthetic(bundled, tmp_path_factory):
    """Seed 0, 3 years of separate-vs-shared, written as CSV."""
    syn = synthesize(bundled, years=3, seed=0)
    path = tmp_path_factory.mktemp("crm") / "export.csv"
    syn.frame.to_csv(path, index=False)
    return syn, path


def _one_line_error(result, fragment):
    assert result.exit_code == 2, result.output
    err = result.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    assert fragment in err, err
    assert "Traceback" not in result.output


# -- the calendar --------------------------------------------------------------------------------


def test_model_weeks_tile_every_year_and_invert():
    for year in (2023, 2024, 2100):  # normal, leap, century non-leap
        days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
        weeks = model_week(pd.Series(days))
        assert weeks.min() == year * 52 and weeks.max() == year * 52 + 51
        assert np.all(np.diff(weeks) >= 0)
        first, length = week_span(np.arange(year * 52, year * 52 + 52))
        assert length.sum() == len(days) and set(length) <= {7, 8}
        for g, f, n in zip(range(year * 52, year * 52 + 52), first, length, strict=True):
            span = pd.date_range(pd.Timestamp(f), periods=int(n), freq="D")
            assert (model_week(pd.Series(span)) == g).all()
    assert model_week(pd.Series([pd.NaT]))[0] == -1


# -- the round trip ------------------------------------------------------------------------------


def test_round_trip_recovers_the_funnel_within_95pct_intervals(runner, tmp_path, bundled):
    """synth-crm (separate-vs-shared, N = 3 years, seed 0) then calibrate, as a new user would.

    Every stage's conversion and dwell time and the deal-value mean must lie in their 95 %
    intervals, and so must the other eight estimates with a known truth (15 in all). Seed 0 is
    the first seed tried; at 95 % a seed misses at least one of the 15 by chance about half the
    time (7 of seeds 0-11 did; 1 of 12 among the 7 core figures): the multi-seed test below
    checks that the estimators have no bias and honest intervals.
    """
    export, truth, out = tmp_path / "export.csv", tmp_path / "truth.json", tmp_path / "calibrated.toml"
    r = runner.invoke(
        cli,
        [
            "synth-crm",
            str(BUNDLED),
            "--out",
            str(export),
            "--years",
            "3",
            "--seed",
            "0",
            "--truth",
            str(truth),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "calibrate it with: incentsim calibrate" in r.output
    r = runner.invoke(cli, ["calibrate", str(export), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "95% CI" in r.output and "0 set aside" in r.output and f"wrote {out}" in r.output
    expected = json.loads(truth.read_text())
    cal = calibrate(read_export(export), elasticity=bundled.behaviour.conversion_elasticity)
    misses = {k: (expected[k], cal[k].lo, cal[k].hi) for k in CORE + OTHER if not cal[k].contains(expected[k])}
    assert not misses, misses
    # Each is printed with its interval and record count.
    for key in CORE:
        e = cal[key]
        assert f"{e.n:,} {e.records}" in r.output
    # The stages the synthetic company really had are the entered ones (no ability effect on dwell).
    for st in bundled.funnel.stages:
        assert expected[f"funnel.{st.name}.dwell_weeks"] == st.dwell_weeks
    # The written scenario validates and carries the estimates.
    r = runner.invoke(cli, ["validate", str(out)])
    assert r.exit_code == 0, r.output
    sc = load_scenario(out)
    assert [s.name for s in sc.funnel.stages] == ["lead", "appointment", "quote"]
    for st in sc.funnel.stages:
        assert st.conversion == pytest.approx(cal[f"funnel.{st.name}.conversion"].value, rel=1e-3)
        assert st.dwell_weeks == pytest.approx(cal[f"funnel.{st.name}.dwell_weeks"].value, rel=1e-3)
    assert sc.deals.value_mean == pytest.approx(cal["deals.value_mean"].value, rel=1e-4)
    assert {"separate", "shared"} <= set(sc.schemes)
    text = out.read_text()
    assert "# estimated" in text and "95% CI" in text and "assumed" in text


def test_calibrated_scenario_reproduces_the_observed_flows(synthetic, bundled, tmp_path):
    """The writer's derived parameters give back what the export showed (exact, up to rounding)."""
    from incentsim.crm.writer import scenario_text
    from incentsim.funnel import steady_state
    from incentsim.scenario.load import read_toml

    syn, path = synthetic
    cal = calibrate(read_export(path), elasticity=0.3)
    text, _ = scenario_text(cal, bundled, "x")
    (tmp_path / "x.toml").write_text(text)
    sc = scenario_from_dict(read_toml(tmp_path / "x.toml"))
    ss = steady_state(sc)
    # Self-sourced appointments per rep-week (calls_per_week is derived net of ignored appointments).
    per_rep_week = ss.self_appointments / 52 / sc.sales.reps
    assert per_rep_week == pytest.approx(cal["sales.self_appointments_per_week"].value, rel=0.01)
    # The ability levels written have the estimated spread.
    a = np.asarray(sc.sales.ability.levels)
    w = np.asarray(sc.sales.ability.weights)
    spread = math.sqrt(w @ (a - w @ a) ** 2) / (w @ a)
    assert spread == pytest.approx(cal["sales.ability.spread"].value, rel=1e-3)
    # Seasonality comes back normalised, with the quiet August and December of the bundled file.
    season = np.asarray(sc.marketing.seasonality)
    assert season[7] < 0.75 and season[11] < 0.75 and season[2] > 1.05


@pytest.mark.slow
def test_estimators_are_unbiased_over_seeds(bundled, tmp_path):
    """20 seeds (100-119) x 3 years: for every estimate with a known truth, the mean of
    z = (estimate - truth) / (half-width / 1.96) is within +-0.75 (3.4 standard errors of a mean
    of 20 unit normals) and at least 15 of the 20 intervals cover the truth (for honest 95 %
    intervals P(fewer than 15 of 20) = 0.03 %). Dropping open items instead of censoring them,
    or counting a dwell from the wrong week, fails this."""
    z: dict[str, list[float]] = {k: [] for k in CORE + OTHER}
    cover: dict[str, int] = dict.fromkeys(CORE + OTHER, 0)
    for seed in range(100, 120):
        syn = synthesize(bundled, years=3, seed=seed)
        path = tmp_path / f"e{seed}.csv"
        syn.frame.to_csv(path, index=False)
        cal = calibrate(read_export(path), elasticity=0.3)
        truth = syn.expected()
        for k in z:
            e = cal[k]
            z[k].append((e.value - truth[k]) / ((e.hi - e.lo) / 2 / 1.96))
            cover[k] += e.contains(truth[k])
    bad = {k: (round(float(np.mean(v)), 2), cover[k]) for k, v in z.items() if abs(np.mean(v)) > 0.75 or cover[k] < 15}
    assert not bad, bad


def test_censoring_open_items_counts_their_exposure(tmp_path):
    """Quotes with a geometric dwell of mean 5 weeks, many still open at the export date (seed 3,
    N = 1,500 quotes entering over 20 weeks). The censored estimate's 95 % interval holds 5; the
    mean of the closed quotes alone (what dropping open items gives) is well below it."""
    rng = np.random.default_rng(3)
    n, mean = 1500, 5.0
    start = 2024 * 52
    entry = start + rng.integers(0, 20, n)
    exit_ = entry + rng.geometric(1 / mean, n)
    as_of = start + 19
    first, length = week_span(entry)
    q_date = first + (rng.random(n) * length).astype(int)
    f2, l2 = week_span(exit_)
    c_date = f2 + (rng.random(n) * l2).astype(int)
    is_open = exit_ > as_of
    won = ~is_open & (rng.random(n) < 0.4)
    end = week_span(np.array([as_of]))
    as_of_date = end[0][0] + end[1][0] - 1
    df = pd.DataFrame(
        {
            "id": [f"Q{i}" for i in range(n)],
            "owner": "rep1",
            "source": "self",
            "created_date": q_date.astype(str),
            "appointment_date": q_date.astype(str),
            "quote_date": q_date.astype(str),
            "closed_date": np.where(is_open, "", c_date.astype(str)),
            "outcome": np.where(is_open, "open", np.where(won, "won", "lost")),
            "amount": np.where(won, "1000", ""),
        }
    )
    path = tmp_path / "quotes.csv"
    df.to_csv(path, index=False)
    ex = read_export(path, as_of=str(as_of_date))
    assert is_open.sum() > 300  # heavy censoring
    cal = calibrate(ex)
    e = cal["funnel.quote.dwell_weeks"]
    assert e.contains(mean), e
    naive = float((exit_ - entry)[~is_open].mean())
    assert naive < e.lo, (naive, e)
    assert e.n == n and cal["funnel.quote.conversion"].n == int((~is_open).sum())


def test_synthetic_export_follows_the_scenario(synthetic, bundled):
    """Seed 0, 3 years: lead counts per year within their 99.9 % Poisson band; same seed, same
    export; the documented columns; dates in order; every record created inside the window."""
    from scipy.stats import poisson

    syn, path = synthetic
    df = syn.frame
    assert list(df.columns) == [
        "id",
        "owner",
        "source",
        "created_date",
        "appointment_date",
        "followup_date",
        "quote_date",
        "closed_date",
        "stage",
        "outcome",
        "amount",
        "recycled_from",
    ]
    new_leads = df[(df.source == "marketing") & (df.recycled_from == "")]
    per_year = pd.to_datetime(new_leads.created_date).dt.year.value_counts()
    mu = bundled.marketing.leads_per_week * 52
    lo, hi = poisson.ppf(0.0005, mu), poisson.ppf(0.9995, mu)
    assert set(per_year.index) == {2022, 2023, 2024}
    assert all(lo <= v <= hi for v in per_year), per_year
    assert df.id.is_unique and (df.created_date >= "2022-01-01").all() and (df.created_date <= "2024-12-31").all()
    seq = ["created_date", "appointment_date", "followup_date", "quote_date", "closed_date"]
    d = df[seq].replace("", np.nan).apply(pd.to_datetime)
    filled = d.ffill(axis=1)
    assert (filled.diff(axis=1).iloc[:, 1:].fillna(pd.Timedelta(0)) >= pd.Timedelta(0)).all().all()
    assert set(df.outcome) == {"won", "lost", "open"} and (df.loc[df.outcome == "won", "amount"] != "").all()
    again = synthesize(bundled, years=3, seed=0).frame
    pd.testing.assert_frame_equal(df, again)
    other = synthesize(bundled, years=3, seed=1).frame
    assert len(other) != len(df) or not other.equals(df)


# -- reading and bad data ------------------------------------------------------------------------


def _bad_export(synthetic, tmp_path) -> Path:
    syn, path = synthetic
    rows = list(csv.reader(path.open()))
    head, body = rows[0], rows[1:301]
    ix = {c: i for i, c in enumerate(head)}
    won = [r for r in rows[1:] if r[ix["outcome"]] == "won"]

    def mod(r, **kw):
        r = list(r)
        for k, v in kw.items():
            r[ix[k]] = v
        return r

    bad = [
        mod(body[0], id="X1", created_date=""),  # missing date
        mod(body[1], id="X2", stage="negotiation"),  # unknown stage
        mod(won[0], id="X3", amount="-500"),  # negative amount
        mod(won[1], id="X4", created_date="2030-06-01"),  # closed before created
        mod(body[2], id="X5", created_date="2024-02-30"),  # unreadable date
        mod(body[3], id="X6", outcome="pending"),  # unknown outcome
        list(body[4]),  # duplicate id
        mod(won[2], id="X7", quote_date=""),  # won without a quote date
    ]
    out = tmp_path / "bad.csv"
    with out.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(head)
        w.writerows(body + bad)
    return out


def test_bad_rows_are_counted_by_reason_never_dropped_silently(runner, synthetic, tmp_path):
    path = _bad_export(synthetic, tmp_path)
    ex = read_export(path)
    assert ex.rows_read == 308 and len(ex.items) == 300 and len(ex.bad) == 8
    assert ex.bad_counts == {
        "duplicate id": 1,
        "unknown outcome": 1,
        "unknown stage": 1,
        "missing or unreadable date": 3,
        "negative amount": 1,
        "closed before created": 1,
    }
    assert set(ex.bad["row"]) == set(range(302, 310))
    out = tmp_path / "bad.toml"
    r = runner.invoke(cli, ["calibrate", str(path), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "308 rows, 300 used, 8 set aside" in r.output
    assert "set aside: 1 negative amount: line 304 (amount -500)" in r.output
    assert "set aside: 3 missing or unreadable date" in r.output and "won without quote_date" in r.output
    assert "set aside: 1 unknown stage: line 303 (stage 'negotiation')" in r.output
    r = runner.invoke(cli, ["replay", str(path), "--scenario", str(BUNDLED), "-n", "0", "--year", "2022"])
    assert r.exit_code == 0, r.output
    assert "Read 308 rows, 300 used, 8 set aside:" in r.output and "set aside: 1 negative amount" in r.output


@pytest.mark.parametrize(
    "content, fragment",
    [
        (None, "file not found"),
        (b"", "is empty"),
        (bytes(range(256)) * 8, "not a UTF-8 text file"),
        (b"id,owner\n", "has a header but no rows"),
        (b"a,b,c\n1,2,3\n", "missing column(s) id, owner, source, created_date"),
        (
            b'id,owner,source,created_date,appointment_date,quote_date,closed_date,outcome,amount\n1,"x\n',
            "not a readable CSV",
        ),
    ],
)
def test_unreadable_exports_give_one_line_and_status_2(runner, tmp_path, content, fragment):
    path = tmp_path / "in.csv"
    if content is not None:
        path.write_bytes(content)
    out = tmp_path / "out.toml"
    for args in (
        ["calibrate", str(path), "--out", str(out)],
        ["replay", str(path), "--scenario", str(BUNDLED)],
    ):
        _one_line_error(runner.invoke(cli, args), fragment)
    assert not out.exists()
    assert not list(tmp_path.glob(".out.toml.*"))


def test_excel_needs_openpyxl_or_reads_the_same(runner, synthetic, tmp_path):
    syn, path = synthetic
    xlsx = tmp_path / "export.xlsx"
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        xlsx.write_bytes(b"PK\x03\x04 not really a workbook")
        _one_line_error(
            runner.invoke(cli, ["calibrate", str(xlsx), "--out", str(tmp_path / "o.toml")]),
            "pip install 'incentsim[excel]'",
        )
        return
    syn.frame.to_excel(xlsx, index=False)
    a = calibrate(read_export(path))
    b = calibrate(read_export(xlsx))
    assert a["funnel.quote.conversion"] == b["funnel.quote.conversion"]


def test_column_mapping_and_day_first_dates_read_the_same(runner, synthetic, tmp_path):
    syn, path = synthetic
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in ("created_date", "appointment_date", "followup_date", "quote_date", "closed_date"):
        d = pd.to_datetime(df[col].replace("", np.nan))
        df[col] = d.dt.strftime("%d/%m/%Y").fillna("")
    df = df.rename(columns={"created_date": "CreatedDate", "closed_date": "Closed On", "amount": "Margin EUR"})
    other = tmp_path / "renamed.csv"
    df.to_csv(other, index=False, sep=";")
    a = calibrate(read_export(path))
    b = calibrate(
        read_export(
            other,
            columns={"created": "CreatedDate", "closed": "Closed On", "amount": "Margin EUR"},
            dayfirst=True,
        )
    )
    for key in CORE + OTHER:
        assert a[key].value == pytest.approx(b[key].value, rel=1e-9), key
    # Read month-first, 05/03 becomes 3 May: dates come out of order and those rows are set aside, reported.
    c = read_export(other, columns={"created": "CreatedDate", "closed": "Closed On", "amount": "Margin EUR"})
    assert len(c.bad) > 1000 and c.bad_counts["closed before created"] > 0
    r = runner.invoke(cli, ["calibrate", str(other), "--out", str(tmp_path / "o.toml"), "--column", "created=Nope"])
    _one_line_error(r, "no column 'Nope' in the file (for created_date)")
    with pytest.raises(ScenarioError, match="unknown column 'bogus'"):
        read_export(other, columns={"bogus": "x"})


# -- replay --------------------------------------------------------------------------------------


def _hand_export(tmp_path) -> Path:
    """Year 2024: rep A wins 150 (Feb), 100 (Aug), 50 (Nov); rep B wins 300 (Jan); a deal of 364
    won on 2023-12-31 by B; marketing hands over 5 appointments in March and 2 in May."""
    rows = [
        ("d1", "A", "self", "2024-01-05", "2024-01-05", "2024-01-20", "2024-02-10", "won", "150"),
        ("d2", "A", "self", "2024-06-01", "2024-06-01", "2024-07-01", "2024-08-15", "won", "100"),
        ("d3", "A", "self", "2024-09-01", "2024-09-01", "2024-10-01", "2024-11-30", "won", "50"),
        ("d4", "B", "self", "2023-12-01", "2023-12-01", "2023-12-15", "2024-01-10", "won", "300"),
        ("d5", "B", "self", "2023-11-01", "2023-11-01", "2023-12-01", "2023-12-31", "won", "364"),
    ]
    for i in range(7):
        month = "03" if i < 5 else "05"
        rows.append(
            (
                f"m{i}",
                "B",
                "marketing",
                f"2024-{month}-01",
                f"2024-{month}-10",
                "",
                f"2024-{month}-20",
                "lost",
                "",
            )
        )
    rows.append(("end", "A", "self", "2024-12-28", "2024-12-28", "", "", "open", ""))
    df = pd.DataFrame(
        rows,
        columns=[
            "id",
            "owner",
            "source",
            "created_date",
            "appointment_date",
            "quote_date",
            "closed_date",
            "outcome",
            "amount",
        ],
    )
    path = tmp_path / "hand.csv"
    df.to_csv(path, index=False)
    return path


def test_replay_pays_by_the_scheme_rules_computed_by_hand(tmp_path):
    d = small(
        sales={"reps": 2, "bonus_at_target": 1000.0},
        marketing={"headcount": 2, "bonus_at_target": 0.0},
        schemes={
            "quarterly": {
                "sales": {
                    "measure": "own_bookings",
                    "period": "quarter",
                    "target": 400.0,
                    "payout": "linear",
                    "cap": 1.5,
                    "true_up": True,
                },
                "marketing": {
                    "measure": "appointments",
                    "period": "month",
                    "target": 120.0,
                    "payout": "commission",
                    "rate": 10.0,
                },
            },
            "margin": {"sales": {"measure": "team_margin", "period": "year", "target": 1000.0, "payout": "step"}},
        },
    )
    sc = scenario_from_dict(d)
    rp = replay(read_export(_hand_export(tmp_path)), sc)
    assert rp.year == 2024 and rp.reps == ["A", "B"]
    q = rp.schemes["quarterly"]
    a, b = (q.sales[r][0] for r in ("A", "B"))
    # A: quarters 150, 0, 100, 50 against 100 each -> 1.5, 0, 1.0, 0.5 x 250 = 750;
    # year 300/400 -> 750, no true-up.
    assert [p[3] for p in a.periods] == pytest.approx([375.0, 0.0, 250.0, 125.0])
    assert a.true_up == 0.0 and a.pay == pytest.approx(750.0)
    # B: 300 in Q1 -> 3.0, capped at 1.5 -> 375; year 0.75 -> 750 - 375 = 375 true-up.
    assert (
        b.periods[0][3] == pytest.approx(375.0) and b.true_up == pytest.approx(375.0) and b.pay == pytest.approx(750.0)
    )
    # Marketing: 10 per appointment (rate x target x share x attainment) -> 70 each, 2 people.
    assert q.marketing_each == pytest.approx(70.0) and q.bonus_marketing == pytest.approx(140.0)
    assert q.bonus_cost == pytest.approx(1640.0)
    assert rp.revenue == pytest.approx(600.0) and rp.wins == 4 and rp.appointments == 7
    # In-year margin: each deal spread over the 364 days after it closes. The 2023-12-31 deal's
    # 364 days (1 January to 29 December) all fall in 2024; 2024's deals count up to 31 December.
    closes = {"2024-02-10": 150, "2024-08-15": 100, "2024-11-30": 50, "2024-01-10": 300}
    expect = 364.0
    for day, v in closes.items():
        expect += v * (pd.Timestamp("2025-01-01") - pd.Timestamp(day) - pd.Timedelta(days=1)).days / 364
    assert rp.margin_in_year == pytest.approx(expect)
    m = rp.schemes["margin"]
    assert m.sales["A"][0].actual == pytest.approx(expect) and m.bonus_sales == 0.0  # step at 1000 not reached
    assert not m.marketing


def test_replay_rejects_per_rep_targets_that_do_not_match(tmp_path):
    d = small(sales={"reps": 3}, schemes={"x": {"sales": {"measure": "own_bookings", "target": [1.0, 2.0, 3.0]}}})
    with pytest.raises(ScenarioError, match="lists 3 rep targets but .* has 2 active reps"):
        replay(read_export(_hand_export(tmp_path)), scenario_from_dict(d))


def test_replay_cli_on_the_synthetic_export(runner, synthetic):
    """Seed 0 export, 300 simulated company-years per scheme."""
    syn, path = synthetic
    r = runner.invoke(cli, ["replay", str(path), "--scenario", str(BUNDLED), "-n", "300", "--seed", "4"])
    assert r.exit_code == 0, r.output
    out = r.output
    assert out.startswith("Replay of 2024 from ")
    for name in ("separate", "shared", "hybrid"):
        assert f"Scheme {name}" in out
    for rep in syn.rep_names:
        assert f"    {rep} " in out
    assert out.count("percentile") >= 4 and "Simulated revenue (300 company-years, fixed behaviour)" in out
    assert "marketing  3 x " in out
    # The percentile agrees with the simulated distribution it is computed from.
    rp = replay(read_export(path), load_scenario(BUNDLED))
    rp.simulate(300, seed=4)
    sim = rp.simulated["separate"]["bonus_cost"]
    x = rp.schemes["separate"].bonus_cost
    assert rp.percentile("separate", "bonus_cost") == pytest.approx(100 * np.mean(sim < x), abs=100 / 300)
    assert f"{x:,.0f} EUR" in out


def test_replay_year_choice(synthetic):
    """The last complete year by default; a year the export only partly covers gets a note."""
    syn, path = synthetic
    ex = read_export(path)
    sc = load_scenario(BUNDLED)
    assert replay(ex, sc).year == 2024
    assert not replay(ex, sc, year=2022).notes  # the export starts on 1 January 2022
    # A year the export does not reach (it ends 31 December 2024) replayed 0 deals with exit status
    # 0 and a note; refused now, naming year=.
    for outside in (2021, 2025):
        with pytest.raises(ArgumentError, match=f"year=: {outside} is outside the export"):
            replay(ex, sc, year=outside)
    cut = read_export(path, as_of="2024-06-30")
    assert cut.bad_counts["date after the export date"] > 0
    assert replay(cut, sc).year == 2023
    assert any("not complete" in n for n in replay(cut, sc, year=2024).notes)  # half of it is there
    # Targets by ability: every real rep is replayed on the average rep's target, and it says so.
    import tomllib

    d = tomllib.loads(BUNDLED.read_text())
    d["schemes"]["separate"]["sales"]["target_by"] = "ability"
    by_ability = scenario_from_dict(d, source=str(BUNDLED))
    notes = replay(ex, by_ability).notes
    assert any(n.startswith("separate sets sales targets by ability: replayed on the average rep's target") for n in notes)
    assert not any("by ability" in n for n in replay(ex, sc).notes)


def test_commands_are_listed_and_help_is_fast(runner):
    r = runner.invoke(cli, ["--help"])
    assert r.exit_code == 0
    for name in ("calibrate", "synth-crm", "replay"):
        assert name in r.output
    for name in ("calibrate", "synth-crm", "replay"):
        r = runner.invoke(cli, [name, "--help"])
        assert r.exit_code == 0 and "Usage" in r.output


def test_without_self_prospecting_ability_comes_from_win_rates(tmp_path):
    """No cold calls, 8 reps of ability cv 0.5 (3 levels), elasticity 0.5, seed 0, 3 years: the
    spread of ability comes from per-rep win rates and its 95 % interval holds the reps' true spread."""
    d = small(
        sales={"reps": 8, "calls_per_week": 0.0, "ability": {"cv": 0.5, "types": 3}},
        marketing={"leads_per_week": 60.0},
        behaviour={"conversion_elasticity": 0.5},
    )
    sc = scenario_from_dict(d)
    syn = synthesize(sc, years=3, seed=0)
    path = tmp_path / "e.csv"
    syn.frame.to_csv(path, index=False)
    cal = calibrate(read_export(path), elasticity=0.5)
    assert cal.ability_method.startswith("per-rep win rates")
    e = cal["sales.ability.spread"]
    truth = syn.expected()["sales.ability.spread"]
    assert e.contains(truth) and e.lo > 0.1, (e, truth)
    assert "funnel.appointment.conversion.self" not in cal.estimates


def test_without_followup_dates_the_handoff_is_immediate(runner, synthetic, tmp_path):
    syn, path = synthetic
    df = pd.read_csv(path, dtype=str, keep_default_na=False).drop(columns=["followup_date", "stage", "recycled_from"])
    small_path = tmp_path / "min.csv"
    df.to_csv(small_path, index=False)
    out = tmp_path / "min.toml"
    r = runner.invoke(cli, ["calibrate", str(small_path), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "no followup_date column" in r.output and "hand-off:" not in r.output
    sc = load_scenario(out)
    assert sc.handoff.delay_weeks == 0 and sc.handoff.response_decay_per_week == 0 and sc.handoff.ignored_share == 0
    # The appointment stage now holds the wait too: slower than the 2 weeks entered.
    assert sc.funnel.stages[1].dwell_weeks > 2.1


def test_a_five_stage_funnel_round_trips_with_stages_and_handoff_options(runner, tmp_path):
    """lead -> mql -> meeting (hand-off) -> demo -> proposal, seed 2, 3 years: every stage's
    conversion and dwell lands within 3 half-widths of its 95 % interval (a swapped or shifted
    stage would be off by 10 or more), and the written scenario keeps the funnel and hand-off."""
    stages = {
        "lead": (2.0, 0.3),
        "mql": (1.5, 0.5),
        "meeting": (2.0, 0.4),
        "demo": (3.0, 0.5),
        "proposal": (4.0, 0.4),
    }
    d = small(sales={"reps": 5, "calls_per_week": 5.0}, marketing={"leads_per_week": 40.0})
    d["funnel"] = {
        "handoff": "meeting",
        **{k: {"dwell_weeks": w, "conversion": c} for k, (w, c) in stages.items()},
    }
    syn = synthesize(scenario_from_dict(d), years=3, seed=2)
    path, out = tmp_path / "c.csv", tmp_path / "c.toml"
    syn.frame.to_csv(path, index=False)
    args = ["calibrate", str(path), "--out", str(out), "--stages", ",".join(stages), "--handoff", "meeting"]
    r = runner.invoke(cli, args)
    assert r.exit_code == 0, r.output
    cal = calibrate(read_export(path, stages=tuple(stages), handoff="meeting"))
    for name, (dwell_weeks, conversion) in stages.items():
        for key, truth in (
            (f"funnel.{name}.dwell_weeks", dwell_weeks),
            (f"funnel.{name}.conversion", conversion),
        ):
            e = cal[key]
            assert abs(e.value - truth) < 3 * (e.hi - e.lo), (key, e, truth)
    sc = load_scenario(out)
    assert [s.name for s in sc.funnel.stages] == list(stages) and sc.funnel.handoff == "meeting"
    # Without the options the default stages' columns are missing: one line, status 2, with a hint.
    r = runner.invoke(cli, ["calibrate", str(path), "--out", str(out)])
    _one_line_error(r, "missing column(s) appointment_date, quote_date")
    assert "suggest --stages lead,mql,meeting,demo,proposal" in r.stderr
