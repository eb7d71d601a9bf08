"""The web page's logic without a browser: the edited scenario, its file and link, the runner, i18n.

Scenario: the suite's small company (behaviour fixed, 200 replications, seed 42). Numbers are
compared exactly: same scenario, seed and replications give bit-identical results.
"""

from __future__ import annotations

import copy
import threading

import pytest
from conftest import SCENARIOS, small

from incentsim import compare, load_scenario
from incentsim.i18n import LANGUAGES, _, language, translations

tomli_w = pytest.importorskip("tomli_w", reason="needs the web extra: pip install -e '.[web]'")

from incentsim.web import fields as F  # noqa: E402
from incentsim.web.draft import Draft, get_path, set_path, split_key  # noqa: E402
from incentsim.web.runner import Cancelled, Job, run_comparison  # noqa: E402


def test_key_paths_round_trip():
    assert split_key("schemes.h.sales.components[1].cap") == ["schemes", "h", "sales", "components", 1, "cap"]
    d = {"a": {"b": [{"c": 1}, {"c": 2}]}}
    assert get_path(d, "a.b[1].c") == 2
    set_path(d, "a.b[0].c", 5)
    set_path(d, "x.y", 3)
    assert d["a"]["b"][0]["c"] == 5 and d["x"] == {"y": 3}
    set_path(d, "x.y", None)  # None removes the key: the loader's default applies
    assert d["x"] == {}


def test_bad_value_is_the_loaders_message_naming_the_key():
    draft = Draft(small())
    assert draft.check().ok
    check = draft.set("funnel.quote.conversion", 1.5)
    assert not check.ok
    assert check.error.key == "funnel.quote.conversion"
    assert "probability in [0, 1]" in check.error.reason
    assert draft.last_good.funnel.stages[-1].conversion == 0.5  # the last good scenario stays
    assert draft.set("funnel.quote.conversion", 0.6).ok
    assert draft.last_good.funnel.stages[-1].conversion == 0.6


def test_preset_component_edit_overrides_one_key():
    draft = Draft(small())
    assert draft.component_prefixes("separate", "sales") == ["schemes.separate.sales"]
    assert draft.component_value("schemes.separate.sales", "measure") == "own_bookings"
    check = draft.set_component("schemes.separate.sales", "cap", 1.5)
    assert check.ok
    comp = check.scenario.scheme("separate").sales.components[0]
    assert comp.curve.cap == 1.5 and comp.measure == "own_bookings"  # the preset's other keys stay
    # A preset's components list is copied whole before one component changes.
    draft.set_preset("shared", "hybrid")
    prefixes = draft.component_prefixes("shared", "sales")
    assert prefixes == ["schemes.shared.sales.components[0]", "schemes.shared.sales.components[1]"]
    check = draft.set_component(prefixes[1], "cap", 1.2)
    assert check.ok
    comps = check.scenario.scheme("shared").sales.components
    assert [c.curve.cap for c in comps] == [None, 1.2] and [c.weight for c in comps] == [0.5, 0.5]


def test_scenario_file_gives_the_same_numbers(tmp_path):
    """The file the page offers loads in the CLI's loader and gives bit-identical results."""
    draft = Draft(small(simulation={"replications": 200, "seed": 42, "behaviour": "fixed"}))
    draft.set("funnel.quote.conversion", 0.55)
    draft.set_component("schemes.separate.sales", "cap", 1.4)
    path = tmp_path / "edited.toml"
    path.write_text(draft.to_toml())
    from_file = compare(load_scenario(path))
    from_page = compare(draft.check().scenario)
    for name in ("separate", "shared"):
        assert (from_file.results[name].year == from_page.results[name].year).all()
    assert from_file.verdict == from_page.verdict


def test_share_link_round_trip_and_damage():
    from incentsim.scenario import ScenarioError

    draft = Draft(small(), "my-company")
    draft.set("deals.value_mean", 7777.0)
    again = Draft.from_share_token(draft.share_token())
    assert again.data == draft.data and again.name == "my-company"
    with pytest.raises(ScenarioError, match="not a scenario link"):
        Draft.from_share_token(draft.share_token()[:-12])


def test_bundled_scenarios_open_at_page_replications():
    draft = Draft.from_path(SCENARIOS / "separate-vs-shared.toml")
    assert draft.check().ok
    assert draft.get("simulation.replications") == 2000  # lowered for a quick first run on the page
    assert draft.effective("handoff.delay_weeks") == 1.0
    assert draft.stages == ["lead", "appointment", "quote"]
    assert draft.schemes == ["separate", "shared", "hybrid"]


def test_fields_name_keys_the_loader_knows():
    """Every company control edits a key the loader reads: setting its shown value keeps the draft valid."""
    draft = Draft.from_path(SCENARIOS / "separate-vs-shared.toml")
    for f in F.all_company_fields(draft.stages) + list(F.BEHAVIOUR) + list(F.RUN):
        value = draft.effective(f.key, f.default)
        if value is None:
            continue
        check = draft.set(f.key, value)
        assert check.ok, (f.key, check.error)
    for f in F.all_company_fields(draft.stages):
        if f.lo is not None and f.kind == "number":
            before = draft.get(f.key, None)
            check = draft.set(f.key, f.lo - 1.0)
            assert not check.ok and check.error.key == f.key, f.key
            assert draft.set(f.key, before).ok


def test_runner_cancels_and_reports_progress():
    sc = load_scenario(SCENARIOS / "separate-vs-shared.toml", replications=200_000, behaviour="fixed")
    job = Job(total=200_000 * 3)
    timer = threading.Timer(0.5, job.cancel)
    timer.start()
    with pytest.raises(Cancelled):
        run_comparison(job, sc)
    assert job.phase == "cancelled" and 0 < job.done < job.total
    small_sc = Draft(small()).check().scenario
    done = Job(total=200 * 2)
    cmp = run_comparison(done, small_sc)
    assert done.phase == "finished" and done.fraction == 1.0 and cmp.replications == 200


def test_dutch_catalogue_translates_the_answer():
    assert set(LANGUAGES) == {"en", "nl"}
    assert translations("nl").gettext("Which bonus scheme?") == "Welk bonusplan?"
    sc = Draft(small()).check().scenario
    cmp = compare(sc)
    from incentsim.report.markdown import director_summary

    english = director_summary(cmp)
    with language("nl"):
        dutch = director_summary(cmp)
        assert _("Run comparison") == "Vergelijking starten"
    assert english.which != dutch.which
    assert "winst na bonussen" in dutch.which or "Geen duidelijke winnaar" in dutch.which
    assert director_summary(cmp).which == english.which  # the language ends with the block
    with pytest.raises(ValueError, match="unknown language"):
        translations("fr")


def test_dutch_catalogue_is_complete_and_keeps_placeholders():
    """Every marked string has a Dutch translation with the same {placeholders}."""
    import re

    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    from incentsim.i18n import LOCALE_DIR

    found = extract_from_dir(str(LOCALE_DIR.parent), keywords={"_": None, "N_": None})
    ids = {message for _file, _line, message, _comments, _context in found if message}
    with open(LOCALE_DIR / "nl" / "LC_MESSAGES" / "incentsim.po", "rb") as fh:
        po = {m.id: m.string for m in read_po(fh) if m.id}
    assert ids - set(po) == set(), "untranslated: run the catalogue update in the README"
    for msgid in ids:
        assert po[msgid], msgid
        assert sorted(re.findall(r"\{[^}]*\}", msgid)) == sorted(re.findall(r"\{[^}]*\}", po[msgid])), msgid


def test_english_report_text_unchanged_by_i18n():
    sc = Draft(small()).check().scenario
    cmp = compare(sc)
    from incentsim.report.markdown import director_summary, summary_table_rows

    s = director_summary(cmp)
    assert s.bonus_cost.startswith(f"{s.best} needs a bonus budget of ")
    header, _rows = summary_table_rows(cmp, s)
    assert header[0] == "Scheme" and header[1] == "Profit after bonuses, EUR/yr"


def test_serve_help_is_instant_and_bad_scenario_is_one_line(runner, tmp_path):
    from incentsim.cli.main import cli

    out = runner.invoke(cli, ["serve", "--help"])
    assert out.exit_code == 0 and "--lang" in out.output and "127.0.0.1" in out.output
    bad = copy.deepcopy(small())
    bad["funnel"]["quote"]["conversion"] = 2.0
    path = tmp_path / "bad.toml"
    path.write_text(tomli_w.dumps(bad))
    out = runner.invoke(cli, ["serve", str(path), "--no-browser"])
    assert out.exit_code == 2
    assert "funnel.quote.conversion" in out.output and "Traceback" not in out.output


def test_crm_export_calibrates_into_a_valid_draft(runner, tmp_path):
    """The page's CRM path is ``incentsim calibrate``: a synthetic export becomes a valid scenario."""
    pytest.importorskip("nicegui")
    from incentsim.cli.main import cli
    from incentsim.web.app import _calibrate_export

    export = tmp_path / "export.csv"
    out = runner.invoke(cli, ["synth-crm", "separate-vs-shared", "--out", str(export), "--years", "2", "--seed", "0"])
    assert out.exit_code == 0, out.output
    text, report = _calibrate_export(export.read_bytes(), "export.csv")
    draft = Draft.from_toml(text, "export.toml")
    assert draft.check().ok and draft.schemes == ["separate", "shared", "hybrid"]
    assert "conversion" in report


def test_serve_port_in_use_is_one_line(runner):
    import socket

    pytest.importorskip("nicegui")
    from incentsim.cli.main import cli

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = runner.invoke(cli, ["serve", "--port", str(port), "--no-browser"])
    assert out.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in out.output and "Traceback" not in out.output
