"""Tier: reliability. Every bad input of issue 13 gives a one-line error naming the file or option,
the key and the reason, with exit status 2 and no traceback, and leaves no output behind; or it
gives the correct result. (Cache corruption: test_reliability_cache.py; interruptions:
test_reliability_interrupt.py; long runs: test_reliability_streaming.py; property tests over the
schema: test_reliability_properties.py.)

Deterministic: no randomness is asserted on here (runs use fixed behaviour, seed 7, N <= 200).
"""

from __future__ import annotations

import copy
import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import SCENARIOS, small

from incentsim.cli.main import cli
from incentsim.scenario import ScenarioError, scenario_from_dict
from incentsim.scenario.limits import LIMITS

BUNDLED = SCENARIOS / "separate-vs-shared.toml"


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(value)


def write_toml(data: dict, path: Path) -> Path:
    """A nested dict as TOML (tables for dicts, dotted headers)."""
    lines: list[str] = []

    def table(d: dict, prefix: str) -> None:
        plain = {k: v for k, v in d.items() if not isinstance(v, dict)}
        subs = {k: v for k, v in d.items() if isinstance(v, dict)}
        if prefix and (plain or not subs):
            lines.append(f"[{prefix}]")
        for k, v in plain.items():
            lines.append(f"{json.dumps(k)} = {_toml(v)}")
        for k, v in subs.items():
            table(v, f"{prefix}.{json.dumps(k)}" if prefix else json.dumps(k))

    table(data, "")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def one_line_error(result, *fragments: str) -> str:
    """Exit status 2, one line on stderr starting with ``error:``, no traceback; return the line."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    err = result.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


def fixed(**edits) -> dict:
    d = small(**edits)
    d["simulation"] = {"replications": 100, "seed": 7, "behaviour": "fixed"}
    return d


# -- 1. A path is a path ---------------------------------------------------------------------------

SCENARIO_COMMANDS = [
    ["validate"],
    ["compare", "-n", "20"],
    ["run", "-n", "20"],
    ["payout"],
    ["policy"],
    ["forecast", "-n", "20"],
    ["report", "-n", "20", "--out", "r.html"],
    ["synth-crm", "--out", "e.csv"],
    ["sensitivity", "-n", "20", "--workers", "0", "--method", "none"],
]


@pytest.mark.parametrize("command", SCENARIO_COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("arg", ["nodir/separate-vs-shared.toml", "separate-vs-shared.toml", "./separate-vs-shared"])
def test_a_path_is_never_replaced_by_a_bundled_scenario(runner, tmp_path, monkeypatch, command, arg):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, [command[0], arg, *command[1:]])
    one_line_error(result, arg, "file not found")
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_scenario_options_and_templates_are_paths_too(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(cli, ["replay", "x.csv", "--scenario", "nodir/separate-vs-shared.toml"])
    assert r.exit_code == 2  # the export is missing first, or the scenario: both are one line
    export = tmp_path / "e.csv"
    assert runner.invoke(cli, ["synth-crm", "separate-vs-shared", "--out", str(export)]).exit_code == 0
    r = runner.invoke(cli, ["replay", str(export), "--scenario", "nodir/separate-vs-shared.toml"])
    one_line_error(r, "file not found")
    r = runner.invoke(cli, ["calibrate", str(export), "--out", "c.toml", "--template", "sub/separate-vs-shared.toml"])
    one_line_error(r, "file not found")
    assert not (tmp_path / "c.toml").exists()


def test_a_bare_unknown_name_suggests_the_bundled_one(runner):
    one_line_error(runner.invoke(cli, ["validate", "separate-vs-shard"]), 'did you mean "separate-vs-shared"')


def test_an_exact_bundled_name_is_used_and_named(runner):
    r = runner.invoke(cli, ["validate", "separate-vs-shared"])
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(f"ok: {BUNDLED}")
    assert f"used the bundled scenario separate-vs-shared: {BUNDLED}" in r.stderr


def test_a_file_given_by_path_is_used(runner, tmp_path):
    path = write_toml(fixed(), tmp_path / "separate-vs-shared.toml")
    r = runner.invoke(cli, ["validate", str(path)])
    assert r.exit_code == 0 and r.stdout.startswith(f"ok: {path}")
    assert "bundled" not in r.stderr


# -- 2. Plausible ranges on every input --------------------------------------------------------

IMPLAUSIBLE = [
    ("deals.value_mean", lambda d: d["deals"].update(value_mean=1e308)),
    ("marketing.leads_per_week", lambda d: d["marketing"].update(leads_per_week=1e308)),
    ("marketing.leads_per_week", lambda d: d["marketing"].update(leads_per_week=1e9)),
    ("sales.calls_per_week", lambda d: d["sales"].update(calls_per_week=1e308)),
    ("marketing.seasonality[0]", lambda d: d["marketing"].update(seasonality=[1e308] + [1.0] * 11)),
    ("marketing.bonus_at_target", lambda d: d["marketing"].update(bonus_at_target=1e308)),
    ("sales.bonus_at_target", lambda d: d["sales"].update(bonus_at_target=1e308)),
    ("sales.base_salary", lambda d: d["sales"].update(base_salary=2e9)),
    (
        "schemes.separate.sales.bonus_at_target",
        lambda d: d["schemes"]["separate"].update(sales={"bonus_at_target": 1e308}),
    ),
    ("simulation.replications", lambda d: d["simulation"].update(replications=10**9)),
    ("sales.reps", lambda d: d["sales"].update(reps=10**6)),
]


@pytest.mark.parametrize("key,edit", IMPLAUSIBLE, ids=[f"{k}-{i}" for i, (k, _) in enumerate(IMPLAUSIBLE)])
def test_implausible_values_are_refused_naming_the_key(runner, tmp_path, key, edit):
    d = fixed()
    edit(d)
    path = write_toml(d, tmp_path / "s.toml")
    one_line_error(runner.invoke(cli, ["validate", str(path)]), f"s.toml: {key}: ")


@pytest.mark.parametrize("literal", ["nan", "inf", "-inf", "+nan"])
def test_nan_and_inf_in_a_file_are_refused(runner, tmp_path, literal):
    text = BUNDLED.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^value_mean = [0-9.]+", f"value_mean = {literal}", text)
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    one_line_error(runner.invoke(cli, ["validate", str(path)]), "deals.value_mean", "finite")


def test_a_funnel_winning_millions_of_deals_a_year_is_refused(runner, tmp_path):
    d = fixed(
        marketing={"leads_per_week": 99_000.0},
        funnel={k: {"dwell_weeks": 1.0, "conversion": 1.0} for k in ("lead", "appointment", "quote")},
    )
    d["marketing"]["quality"] = {"volume_at_zero": 1.0, "conversion_at_one": 1.0}
    path = write_toml(d, tmp_path / "s.toml")
    one_line_error(runner.invoke(cli, ["validate", str(path)]), "marketing.leads_per_week", "deals a year")


OPTION_CASES = [
    (["compare", "new-business-plan", "--budget", "nan"], "--budget", "finite"),
    (["compare", "new-business-plan", "--budget", "inf"], "--budget", "finite"),
    (["compare", "new-business-plan", "--precision", "nan"], "--precision", "finite"),
    (["report", "new-business-plan", "--out", "r.html", "--budget", "nan"], "--budget", "finite"),
    (["compare", "new-business-plan", "-n", "x"], "--replications", "not a valid integer"),
    (["compare", "new-business-plan", "-n", "0"], "--replications", "range"),
    (["compare", "new-business-plan", "-n", "1000000000"], "--replications", "range"),
    (["compare", "new-business-plan", "--behaviour", "lazy"], "--behaviour", "lazy"),
    (["compare", "new-business-plan", "--jsn", "x"], "No such option", "--jsn"),
    (["compare"], "Missing argument", "SCENARIO"),
    (["comprae", "new-business-plan"], "No such command", "comprae"),
]


@pytest.mark.parametrize("args,option,reason", OPTION_CASES, ids=[" ".join(a[2:]) or a[0] for a, _, _ in OPTION_CASES])
def test_bad_options_are_one_line(runner, tmp_path, monkeypatch, args, option, reason):
    monkeypatch.chdir(tmp_path)
    one_line_error(runner.invoke(cli, args), option, reason)
    assert list(tmp_path.iterdir()) == []


def test_a_byte_order_mark_is_not_part_of_the_toml(runner, tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + BUNDLED.read_bytes())
    r = runner.invoke(cli, ["validate", "-q", str(path)])
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("name,fragment", [("a,b", "comma"), ("", "not empty"), (" a", "space"), ("a#2", "#")])
def test_scheme_names_must_be_selectable(name, fragment):
    d = fixed()
    d["schemes"][name] = {"preset": "shared"}
    with pytest.raises(ScenarioError, match=re.escape(fragment)) as info:
        scenario_from_dict(d, source="x.toml")
    assert "\n" not in str(info.value) and str(info.value).startswith("x.toml: schemes")


def test_every_numeric_key_read_by_the_loader_has_a_limit():
    """One home for ranges: the loader reads no number without its row of LIMITS, and every row
    is enforced somewhere."""
    import ast

    source = (Path(__file__).parent.parent / "src" / "incentsim" / "scenario" / "load.py").read_text()
    role = "schemes.<scheme>.<role>"
    used: set[str] = set()

    def text(node) -> list[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.JoinedStr):  # f"{_ROLE}.x" or f"behaviour.{name}"
            parts = [v.value if isinstance(v, ast.Constant) else "{}" for v in node.values]
            t = "".join(parts)
            if t.startswith("{}"):
                return [role + t[2:]]
            return [
                t.replace("{}", n) for n in ("effort_cost_sales", "effort_cost_marketing", "quality_cost_marketing")
            ]
        if isinstance(node, ast.Tuple):
            return [x for e in node.elts for x in text(e)]
        raise AssertionError(ast.dump(node))

    calls = 0
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("number", "integer", "numbers", "probability", "pairs"):
                calls += 1
                kw = {k.arg: k.value for k in node.keywords}
                limit = kw.get("limit", kw.get("limits"))
                assert limit is not None, (
                    f"line {node.lineno}: {node.func.attr}() reads a number without its LIMITS row"
                )
                used.update(text(limit))
    assert calls > 40
    assert used <= set(LIMITS), used - set(LIMITS)
    assert set(LIMITS) <= used, f"rows of LIMITS the loader never enforces: {set(LIMITS) - used}"


@pytest.mark.parametrize(
    "key", sorted(k for k, v in LIMITS.items() if v.plausible_hi is not None and "<" not in k and "[" not in k)
)
def test_each_plausible_upper_bound_is_enforced(key):
    """Setting a plain key just above its plausible bound is refused, naming that key."""
    d = fixed()
    section, name = key.split(".", 1)
    node = d.setdefault(section, {})
    parts = name.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    row = LIMITS[key]
    node[parts[-1]] = int(row.plausible_hi) + 1 if row.kind == "integer" else row.plausible_hi * 1.5
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(d, source="x.toml")
    assert info.value.key == key, info.value


# -- 4. No output before every output can be written ---------------------------------------------

OUTPUT_CASES = [
    (["run", "new-business-plan", "-n", "20", "--out", "missing-dir/y.parquet"], "missing-dir/y.parquet", []),
    (["run", "new-business-plan", "-n", "20", "--people", "missing-dir/p.parquet"], "missing-dir/p.parquet", []),
    (["run", "new-business-plan", "-n", "20", "--out", "y.txt"], ".parquet or .csv", []),
    (
        ["run", "new-business-plan", "-n", "20", "--out", "y.csv", "--people", "missing-dir/p.csv"],
        "missing-dir",
        ["y.csv"],
    ),
    (["synth-crm", "separate-vs-shared", "--out", "missing-dir/e.csv"], "missing-dir/e.csv", []),
    (
        ["synth-crm", "separate-vs-shared", "--out", "e2.csv", "--truth", "missing-dir/t.json"],
        "missing-dir/t.json",
        ["e2.csv"],
    ),
    (
        ["compare", "new-business-plan", "-n", "20", "--json", "ok.json", "--plot", "missing-dir/x.png"],
        "missing-dir/x.png",
        ["ok.json"],
    ),
    (
        ["compare", "new-business-plan", "-n", "20", "--json", "ok.json", "--plot", "x.xyz"],
        "unsupported image format",
        ["ok.json"],
    ),
    (
        ["compare", "new-business-plan", "-n", "20", "--json", "same.json", "--markdown", "same.json"],
        "its own file",
        ["same.json"],
    ),
    (["policy", "new-business-plan", "--png", "x.xyz"], ".png", []),
    (["forecast", "new-business-plan", "-n", "20", "--png", "x.xyz"], ".png", []),
    (["payout", "new-business-plan", "--csv", "missing-dir/p.csv"], "missing-dir", []),
    (["report", "new-business-plan", "-n", "20", "--out", "missing-dir/r.html"], "missing-dir", []),
    (["sensitivity", "new-business-plan", "--png", "t.xyz", "--json", "s.json"], ".png", ["s.json"]),
    (["calibrate", "e.csv", "--out", "missing-dir/c.toml"], "missing-dir", []),
]


@pytest.mark.parametrize(
    "args,fragment,absent", OUTPUT_CASES, ids=lambda x: " ".join(x) if isinstance(x, list) else None
)
def test_outputs_are_checked_before_any_work(runner, tmp_path, monkeypatch, args, fragment, absent):
    monkeypatch.chdir(tmp_path)
    one_line_error(runner.invoke(cli, args), fragment)
    for name in absent:
        assert not (tmp_path / name).exists(), name
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_a_failing_second_output_leaves_the_first_as_it_was(runner, tmp_path, monkeypatch):
    """A write that fails late (here: the figure) leaves every old output untouched."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ok.json").write_text("old")
    import incentsim.report.plots as plots

    def broken(*a, **k):
        raise OSError(28, "No space left on device", "x.png")

    monkeypatch.setattr(plots, "save_figure", broken)
    r = runner.invoke(cli, ["compare", "new-business-plan", "-n", "20", "--json", "ok.json", "--plot", "x.png"])
    one_line_error(r, "x.png", "No space left")
    assert (tmp_path / "ok.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.json"]


# -- 5. CRM exports row by row -------------------------------------------------------------------


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    from click.testing import CliRunner

    folder = tmp_path_factory.mktemp("crm")
    path = folder / "e.csv"
    r = CliRunner().invoke(cli, ["synth-crm", str(BUNDLED), "--out", str(path), "--years", "3", "--seed", "0"])
    assert r.exit_code == 0, r.output
    return path


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(path.open(newline="", encoding="utf-8")))
    return rows[0], rows[1:]


def test_bad_crm_rows_are_set_aside_with_their_real_line_numbers(runner, export, tmp_path):
    head, body = _rows(export)
    ix = {k: i for i, k in enumerate(head)}
    won = [r for r in body if r[ix["outcome"]] == "won"]

    def mod(r, **kw):
        r = list(r)
        for k, v in kw.items():
            r[ix[k]] = v
        return r

    quoted = mod(body[0], id="Q1", owner=body[0][ix["owner"]])
    quoted[ix["recycled_from"]] = "a note\nover two lines"  # a quoted newline: the next rows' lines shift
    extra = [
        quoted,
        mod(body[1], id="A1", created_date="1900-01-01"),
        mod(won[0], id="A2", amount="inf"),
        mod(won[1], id="A3", amount="1e308"),
        mod(won[2], id="A4", closed_date="2999-12-31"),
        mod(body[2], id="A5") + ["one field too many"],
    ]
    path = tmp_path / "bad.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(head)
        w.writerows(body + extra)
    with path.open("ab") as f:  # one row with a byte that is not UTF-8 (Latin-1 e-acute)
        f.write(",".join(mod(body[3], id="A6\xe9")).encode("latin-1") + b"\r\n")
    n = len(body)
    first = n + 2  # line of the quoted row (header is line 1)
    from incentsim.crm.format import read_export

    ex = read_export(path)
    bad = dict(zip(ex.bad["row"], ex.bad["reason"], strict=True))
    assert bad == {
        first + 2: "date outside the plausible window",  # A1: after the two lines of Q1
        first + 3: "implausible amount",
        first + 4: "implausible amount",
        first + 5: "missing or unreadable date",
        first + 6: "wrong number of fields",
        first + 7: "not UTF-8 text",
    }
    assert ex.rows_read == n + 7 and len(ex.items) == n + 1
    r = runner.invoke(cli, ["calibrate", str(path), "--out", str(tmp_path / "c.toml")])
    assert r.exit_code == 0, r.output
    assert f"set aside: 1 wrong number of fields: line {first + 6} ({len(head) + 1} fields" in r.stdout
    assert f"set aside: 1 not UTF-8 text: line {first + 7}" in r.stdout
    assert "implausible amount" in r.stdout and "1900-01-01 is before 1990-01-01" in r.stdout
    r = runner.invoke(cli, ["replay", str(path), "--scenario", str(BUNDLED), "-n", "0"])
    assert r.exit_code == 0, r.output
    assert "e+" not in r.stdout.split("Scheme")[0]  # no 300-digit or exponent amounts in the replay


def test_an_isolated_early_row_does_not_stretch_the_calibration_window(export, tmp_path):
    from incentsim.crm.estimate import calibrate
    from incentsim.crm.format import read_export

    head, body = _rows(export)
    ix = {k: i for i, k in enumerate(head)}
    lead = next(r for r in body if r[ix["outcome"]] == "lost" and r[ix["stage"]] == "lead")
    odd = list(lead)
    odd[ix["id"]] = "OLD1"
    odd[ix["created_date"]] = "1995-06-01"
    odd[ix["closed_date"]] = "1995-06-20"
    path = tmp_path / "old.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(head)
        w.writerows([*body, odd])
    clean = calibrate(read_export(export))
    ex = read_export(path)
    assert ex.bad_counts == {"dated far from every other row": 1}
    cal = calibrate(ex)
    assert cal.weeks == clean.weeks
    assert cal["marketing.leads_per_week"].value == pytest.approx(clean["marketing.leads_per_week"].value, rel=1e-3)
    assert "robust span" in cal.report()


@pytest.mark.parametrize("when", ["2999-12-31", "2100-01-01"])
def test_future_dates_are_set_aside(export, tmp_path, when):
    from incentsim.crm.format import read_export

    head, body = _rows(export)
    ix = {k: i for i, k in enumerate(head)}
    row = list(next(r for r in body if r[ix["outcome"]] == "won"))
    row[ix["id"]] = "FUT"
    row[ix["closed_date"]] = when
    path = tmp_path / "f.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(head)
        w.writerows([*body, row])
    ex = read_export(path)
    assert len(ex.bad) == 1 and ex.as_of.year == 2024


# -- forecast: coverage when nothing remains to book -----------------------------------------------


def test_coverage_is_labelled_when_a_year_is_already_on_target(runner, tmp_path):
    d = fixed()
    d["schemes"] = {"low": {"sales": {"measure": "team_bookings", "target": 1000.0}}}
    path = write_toml(d, tmp_path / "low.toml")
    r = runner.invoke(cli, ["forecast", str(path), "-n", "200"])
    assert r.exit_code == 0, r.output
    table = r.stdout.split("Pipeline coverage")[1]
    assert "already on target" in table
    numbers = [float(x) for x in re.findall(r"([0-9]+(?:\.[0-9]+)?)x", table)]
    assert all(x <= 100 for x in numbers), numbers
    from incentsim import load_scenario
    from incentsim.model.forecast import forecasts
    from incentsim.simulation import simulate

    sc = load_scenario(path)
    ft = forecasts(sc, sc.scheme("low"), simulate(sc, "low", record_pipeline=True))
    assert ft.on_target[:, 3].all() and np.isnan(ft.coverage[:, 3]).all()


# -- the "wrong answers with exit status 0" end to end -----------------------------------


def test_a_typo_in_a_path_never_runs_someone_elses_company(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mine = fixed()
    mine["scenario"] = {"name": "mine"}
    write_toml(copy.deepcopy(mine), tmp_path / "separate-vs-shared.toml")
    r = runner.invoke(cli, ["compare", "separte/separate-vs-shared.toml", "-n", "20"])
    one_line_error(r, "file not found")
    r = runner.invoke(cli, ["compare", "separate-vs-shared.toml", "-n", "20", "--json", "-"])
    assert r.exit_code == 0 and json.loads(r.stdout)["scenario"] == "mine"
