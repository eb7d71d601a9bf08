"""The page (NiceGUI): inputs on the left, the answer and its figures on the right.

Each browser tab that opens the page gets its own :class:`Session` (NiceGUI builds the page per
client), so two sessions never share inputs or results. Everything the page shows is in the
session's language, chosen with ``--lang`` or the switch in the header.
"""

from __future__ import annotations

import base64
import logging
import math
import tempfile
import threading
import tomllib
from html import escape
from pathlib import Path
from typing import Any

from nicegui import app, ui
from nicegui import run as background

from ..i18n import LANGUAGES, _, language
from ..scenario import ScenarioError
from . import fields as F
from .draft import Check, Draft
from .runner import Cancelled, Job, run_comparison
from .views import (
    PAGE_FIGURES,
    PageResult,
    answer,
    caption,
    comparison_json_text,
    figure_keys,
    figure_png,
    report_html,
    tables,
)

log = logging.getLogger(__name__)

#: Server-wide settings, set by :func:`serve` before the first page is built.
SETTINGS: dict[str, Any] = {"scenario": "separate-vs-shared", "lang": "en"}

_CSS = """
body { background: #f7f8fa; overflow: hidden; }
.nicegui-content { padding: 0 !important; }
.inc-col { height: calc(100vh - 50px); overflow-y: auto; }
.inc-answer { border-left: 6px solid #0072B2; background: #f3f6fa; }
.inc-headline { font-size: 19px; font-weight: 700; line-height: 1.3; }
.inc-facts li { margin: 2px 0; }
.inc-table { border-collapse: collapse; width: 100%; font-size: 12.5px; background: white; }
.inc-table th, .inc-table td { padding: 3px 6px; border-bottom: 1px solid #d9d9de; text-align: right; }
.inc-table th:first-child, .inc-table td:first-child { text-align: left; white-space: nowrap; }
.inc-table th { background: #fafafa; font-weight: 600; }
.inc-table tr.best td { font-weight: 700; }
.inc-fig img { max-width: 100%; height: auto; display: block; }
.inc-caption { color: #5a5a5f; font-size: 12.5px; }
.inc-muted { color: #5a5a5f; font-size: 12.5px; }
.inc-field { width: 100%; }
.q-field--with-bottom { padding-bottom: 0 !important; }
.q-field__bottom { position: static !important; transform: none !important; font-size: 11px; padding: 1px 0 4px;
                   min-height: 16px; }
.q-field__messages > div { white-space: normal; overflow-wrap: anywhere; line-height: 1.25; }
"""


def _html_table(header: list[str], rows: list[list[str]], best_first_col: str | None = None) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        ("<tr class='best'>" if best_first_col is not None and r[0] == best_first_col else "<tr>")
        + "".join(f"<td>{escape(str(c))}</td>" for c in r)
        + "</tr>"
        for r in rows
    )
    return f"<table class='inc-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _png_src(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _number_value(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


class Session:
    """One browser tab: its scenario draft, language, run and result, and the elements showing them."""

    def __init__(self, draft: Draft, lang: str, base_url: str):
        self.draft = draft
        self.lang = lang
        self.base_url = base_url.rstrip("/")
        self.job: Job | None = None
        self.result: PageResult | None = None
        self.result_stale = False
        self.tab = "company"
        self.controls: dict[str, Any] = {}
        self.local_errors: dict[str, str] = {}
        self.message: str = ""  # the last problem with an upload or a run (not a field)
        self.calibration_text = ""

    # -- building the page ------------------------------------------------------------------------
    def build(self) -> None:
        """The whole page; its parts are rebuilt on a language switch or a new scenario."""
        ui.add_css(_CSS)
        with ui.header(elevated=True).classes("items-center py-1 px-4 bg-white text-black gap-3"):
            self.header()
        self.page()

    def rebuild(self) -> None:
        """Redraw everything in the session's language (results included)."""
        self.header.refresh()
        self.page.refresh()

    @ui.refreshable_method
    def header(self) -> None:
        """Title, scenario choice and language switch."""
        with language(self.lang):
            ui.label(_("Which bonus scheme?")).classes("text-lg font-bold")
            ui.label("incentsim").classes("inc-muted")
            ui.space()
            names = self._bundled_names()
            ui.select(
                {n: n for n in names} | ({self.draft.name: self.draft.name} if self.draft.name not in names else {}),
                value=self.draft.name, label=_("Scenario"), on_change=lambda e: self.open_bundled(e.value),
            ).props('dense options-dense data-testid="scenario-select"').classes("w-56")  # fmt: skip
            ui.toggle(LANGUAGES, value=self.lang, on_change=lambda e: self.switch_language(e.value)).props(
                'dense no-caps data-testid="language"'
            )

    def switch_language(self, lang: str) -> None:
        """Redraw the page in another language (the draft and result stay)."""
        if lang in LANGUAGES and lang != self.lang:
            self.lang = lang
            self.rebuild()

    @ui.refreshable_method
    def page(self) -> None:
        """Inputs and results, in the session's language."""
        with language(self.lang):
            self.controls = {}
            with ui.row().classes("w-full no-wrap gap-0"):
                with ui.column().classes("inc-col w-5/12 p-3 gap-1 bg-white border-r"):
                    self.inputs()
                with ui.column().classes("inc-col w-7/12 p-3 gap-2"):
                    self.actions()
                    self.results()

    # -- inputs ---------------------------------------------------------------------------------------
    def inputs(self) -> None:
        """The left column: the scenario's name and the tabs of inputs."""
        d = self.draft
        name = d.get("scenario.name", d.name)
        ui.label(str(name)).classes("text-base font-bold")
        desc = d.get("scenario.description", "")
        if desc:
            ui.label(str(desc)).classes("inc-muted")
        with ui.tabs(value=self.tab, on_change=lambda e: setattr(self, "tab", e.value)).props(
            "dense no-caps align=left"
        ).classes("w-full") as tabs:
            ui.tab("company", _("Company")).props('data-testid="tab-company"')
            ui.tab("schemes", _("Schemes")).props('data-testid="tab-schemes"')
            ui.tab("behaviour", _("Advanced: behaviour")).props('data-testid="tab-behaviour"')
            ui.tab("start", _("Run and files")).props('data-testid="tab-start"')
        with ui.tab_panels(tabs, value=self.tab).classes("w-full").props("keep-alive"):
            with ui.tab_panel("company").classes("p-1"):
                self.company_panel()
            with ui.tab_panel("schemes").classes("p-1"):
                self.schemes_panel()
            with ui.tab_panel("behaviour").classes("p-1"):
                ui.label(
                    _("How people respond to a scheme. These are assumptions to argue about: change one and see "
                      "whether the answer holds.")
                ).classes("inc-muted")  # fmt: skip
                self.field_grid(F.BEHAVIOUR)
            with ui.tab_panel("start").classes("p-1"):
                self.start_panel()
        self.show_check(self.draft.check())

    def company_panel(self) -> None:
        """Funnel, team, deals, pay and hand-off levers."""
        ui.label(_("Funnel (as observed today)")).classes("font-bold mt-1")
        stages = self.draft.stages
        self.field_grid([f for i, s in enumerate(stages) for f in F.stage_fields(s, i == len(stages) - 1)])
        ui.label(_("Team, deals and pay")).classes("font-bold mt-2")
        self.field_grid(F.COMPANY)
        ui.label(_("Hand-off levers (not pay)")).classes("font-bold mt-2")
        self.field_grid(F.HANDOFF)

    def field_grid(self, fields: list[F.Field] | tuple[F.Field, ...], prefix: str = "") -> None:
        """Controls in two columns."""
        with ui.grid(columns=2).classes("w-full gap-x-3 gap-y-1"):
            for f in fields:
                self.control(f, prefix)

    def _currency(self) -> str:
        cur = self.draft.get("scenario.currency", "EUR")
        return cur if isinstance(cur, str) else "EUR"

    def control(self, f: F.Field, prefix: str = "") -> None:
        """One form control bound to a scenario key (``prefix``: a scheme component's table)."""
        key = f"{prefix}.{f.key}" if prefix else f.key
        if prefix:
            value = self.draft.component_value(prefix, f.key, f.default)
        else:
            value = self.draft.effective(key, f.default)
        hint = f.hint(self._currency())
        label = _(f.label)
        tip = _(f.help) if f.help else ""
        testid = f'data-testid="{key}"'
        if f.kind == "select":
            options = list(f.choices)
            if value is not None and value not in options:
                options.append(value)
            el = ui.select(options, value=value, label=label,
                           on_change=lambda e, k=key, f=f: self.changed(k, f, e.value))  # fmt: skip
            el.props(f"dense options-dense {testid}")
        elif f.kind in ("text", "rate"):
            text = "" if value is None else (_toml_value(value) if f.kind == "text" else str(value))
            el = ui.input(label=label, value=text, on_change=lambda e, k=key, f=f: self.changed(k, f, e.value))
            el.props(f"dense debounce=350 {testid}")  # judge what was typed, not each keystroke
        else:
            el = ui.number(label=label, value=_number_value(value),
                           on_change=lambda e, k=key, f=f: self.changed(k, f, e.value))  # fmt: skip
            el.props(f"dense debounce=350 {testid}")
        if hasattr(el, "without_auto_validation"):
            el.without_auto_validation()  # the loader judges (show_check), not the widget
        el.classes("inc-field")
        el.props(f'hint="{escape(hint, quote=True)}"' if hint else "")
        if tip:  # the meaning on an info icon (a tooltip on the whole field would cover its message)
            with el.add_slot("append"):
                ui.icon("info_outline", size="16px").classes("text-grey-6 cursor-help").tooltip(tip).props(
                    "max-width=360px"
                )
        self.controls[key] = el

    def changed(self, key: str, f: F.Field, value: Any) -> None:
        """A control changed: convert, write into the draft, check with the loader, mark fields."""
        with language(self.lang):
            self.local_errors.pop(key, None)
            try:
                value = _convert(f, value)
            except ValueError as exc:
                self.local_errors[key] = f"{key}: {exc}"
                self.show_check(self.draft.check())
                return
            parts = key.split(".")
            if parts[0] == "schemes" and len(parts) > 3:
                prefix = key[: key.rindex(".")]
                check = self.draft.set_component(prefix, f.key, value)
            else:
                check = self.draft.set(key, value)
            self.result_stale = self.result is not None
            self.show_check(check)
            if f.key == "payout" or key.endswith(".preset"):
                self.schemes_panel.refresh()
            self.stale_note.refresh()

    def show_check(self, check: Check) -> None:
        """Put the loader's message beside the field it names (or in the banner), clear the others."""
        target = None
        message = ""
        if check.error is not None:
            err = check.error
            message = f"{err.key}: {err.reason}" if err.key else err.reason
            target = self._control_for(err.key)
        for key, el in self.controls.items():
            if not hasattr(el, "error"):
                continue
            if key in self.local_errors:
                el.error = self.local_errors[key]
            elif key == target:
                el.error = message
            else:
                el.error = None
        self.field_message = message if check.error is not None else ""
        if self.local_errors and not self.field_message:
            self.field_message = next(iter(self.local_errors.values()))
        self.banner.refresh()

    def _control_for(self, key: str) -> str | None:
        """The control showing a key's error: the key itself, else its nearest parent with a control."""
        k = key
        while k:
            if k in self.controls:
                return k
            k = k[: k.rindex("[")] if k.endswith("]") else (k[: k.rindex(".")] if "." in k else "")
        return None

    @ui.refreshable_method
    def schemes_panel(self) -> None:
        """One panel per scheme: preset, and each role's components."""
        from ..scenario.presets import PRESETS

        with language(self.lang):
            for key in [k for k in self.controls if k.startswith("schemes.")]:
                self.controls.pop(key, None)
            ui.label(_("Each scheme is compared with the first (the baseline) on the same simulated years.")).classes(
                "inc-muted"
            )
            for i, name in enumerate(self.draft.schemes):
                table = self.draft.scheme_table(name)
                raw = self.draft.data["schemes"][name]
                with ui.expansion(name, value=i < 3).classes("w-full border rounded").props(
                    f'dense data-testid="scheme-{name}"'
                ):
                    with ui.row().classes("w-full items-center no-wrap gap-2"):
                        options = {"": _("(own rules)")} | {p: p for p in PRESETS}
                        preset = raw.get("preset") if isinstance(raw, dict) else None
                        ui.select(options, value=preset if preset in PRESETS else "", label=_("Preset"),
                                  on_change=lambda e, n=name: self.preset_changed(n, e.value)).props(
                            f'dense options-dense data-testid="schemes.{name}.preset"').classes("w-48")  # fmt: skip
                        ui.label(str(table.get("description", ""))).classes("inc-muted")
                    for role in ("marketing", "sales"):
                        prefixes = self.draft.component_prefixes(name, role)
                        who = _("Marketing (per person)") if role == "marketing" else _("Sales (per rep)")
                        if not prefixes:
                            ui.label(who + ": " + _("no bonus")).classes("font-bold mt-1")
                            continue
                        ui.label(who).classes("font-bold mt-1")
                        for j, prefix in enumerate(prefixes):
                            if len(prefixes) > 1:
                                ui.label(_("Component {n}").format(n=j + 1)).classes("inc-muted")
                            payout = self.draft.component_value(prefix, "payout", "linear")
                            self.field_grid(F.component_fields(role, str(payout), len(prefixes) > 1), prefix)

    def preset_changed(self, scheme: str, preset: str) -> None:
        """Replace a scheme by a preset (or keep its rules as its own)."""
        with language(self.lang):
            self.show_check(self.draft.set_preset(scheme, preset or None))
            self.result_stale = self.result is not None
            self.schemes_panel.refresh()
            self.show_check(self.draft.check())

    def start_panel(self) -> None:
        """Seed and replications, and opening a scenario file or a CRM export."""
        ui.label(_("Run settings")).classes("font-bold")
        self.field_grid(F.RUN)
        ui.label(
            _(
                "The downloaded scenario file keeps these: incentsim compare gives the same numbers as this page, "
                "and adds what each team-work mechanism adds (--no-mechanisms leaves that out)."
            )
        ).classes("inc-muted")
        ui.label(_("Start from a scenario file")).classes("font-bold mt-3")
        ui.upload(label=_("Scenario file (.toml)"), auto_upload=True, on_upload=self.upload_scenario).props(
            'accept=.toml flat bordered data-testid="upload-scenario"'
        ).classes("w-full")
        ui.label(_("Start from a CRM export")).classes("font-bold mt-3")
        ui.label(
            _("A CSV of leads and opportunities (see the README, 'Calibrating from CRM data'): the funnel is estimated "
              "from it; pay and behaviour come from the separate-vs-shared scenario.")
        ).classes("inc-muted")  # fmt: skip
        ui.upload(label=_("CRM export (.csv)"), auto_upload=True, on_upload=self.upload_export).props(
            'accept=.csv flat bordered data-testid="upload-export"'
        ).classes("w-full")
        if self.calibration_text:
            ui.code(self.calibration_text, language="text").classes("w-full text-xs")

    # -- actions and results ----------------------------------------------------------------------
    @ui.refreshable_method
    def actions(self) -> None:
        """Run and cancel, downloads, progress and status, the input banner."""
        with language(self.lang):
            self._actions()

    def _actions(self) -> None:
        with ui.row().classes("w-full items-center gap-2"):
            self.run_button = ui.button(_("Run comparison"), icon="play_arrow", on_click=self.run).props(
                'color=primary data-testid="run"'
            )
            self.cancel_button = ui.button(_("Cancel"), icon="stop", on_click=self.cancel).props(
                'outline color=negative data-testid="cancel"'
            )
            self.cancel_button.set_visibility(self.job is not None and self.job.finished == 0)
            ui.space()
            self.download_buttons()
        self.progress = ui.linear_progress(value=0, show_value=False).props("instant-feedback")
        self.progress.set_visibility(self.job is not None and self.job.finished == 0)
        self.status = ui.label(self._status_text()).classes("inc-muted").props('data-testid="status"')
        self.banner()

    def download_buttons(self) -> None:
        """Report, scenario file, JSON and link."""
        has = self.result is not None
        with ui.button_group().props("outline"):
            ui.button(_("Report"), icon="download", on_click=self.download_report).props(
                'outline dense no-caps data-testid="download-report"'
            ).set_enabled(has)
            ui.button(_("Scenario file"), icon="download", on_click=self.download_scenario).props(
                'outline dense no-caps data-testid="download-scenario"'
            )
            ui.button("JSON", icon="download", on_click=self.download_json).props(
                'outline dense no-caps data-testid="download-json"'
            ).set_enabled(has)
            ui.button(_("Link"), icon="link", on_click=self.share).props(
                'outline dense no-caps data-testid="share"'
            )

    @ui.refreshable_method
    def banner(self) -> None:
        """The loader's message for a bad input, and problems with uploads or runs."""
        with language(self.lang):
            msg = getattr(self, "field_message", "")
            if msg:
                with ui.row().classes("w-full items-center bg-red-50 border border-red-300 rounded px-3 py-1").props(
                    'data-testid="input-error"'
                ):
                    ui.icon("error", color="negative")
                    ui.label(_("Fix the marked input: {message}").format(message=msg)).classes("text-sm")
            if self.message:
                with ui.row().classes("w-full items-center bg-amber-50 border border-amber-300 rounded px-3 py-1"):
                    ui.icon("info", color="warning")
                    ui.label(self.message).classes("text-sm").props('data-testid="message"')

    @ui.refreshable_method
    def stale_note(self) -> None:
        """Says when the inputs changed after the result on screen."""
        with language(self.lang):
            if self.result is not None and self.result_stale:
                ui.label(_("Inputs changed since this result: run again to update it.")).classes(
                    "text-sm text-amber-800"
                ).props('data-testid="stale"')

    def _status_text(self) -> str:
        job = self.job
        if job is None:
            return _("Change the inputs on the left, then run the comparison.")
        if job.phase == "waiting":
            return _("Waiting for another session's run to finish...")
        if job.phase == "solving":
            return _("Working out how people respond to each scheme... ({seconds:.0f} s)").format(seconds=job.elapsed)
        if job.phase == "simulating":
            return _("Simulating: {done:,} of {total:,} company-years ({seconds:.0f} s)").format(
                done=job.done, total=job.total, seconds=job.elapsed
            )
        if job.phase == "cancelled":
            return _("Cancelled. The last result stays on screen.")
        if job.phase == "failed":
            return _("The run failed. The last result stays on screen.")
        if self.result is not None:
            r = self.result
            return _(
                "{reps:,} replications x {n} schemes, seed {seed}, behaviour {behaviour}: answered in {seconds:.1f} s."
            ).format(
                reps=r.cmp.replications, n=len(r.cmp.schemes), seed=next(iter(r.cmp.results.values())).seed,
                behaviour=next(iter(r.cmp.results.values())).behaviour, seconds=r.seconds,
            )  # fmt: skip
        return ""

    @ui.refreshable_method
    def results(self) -> None:
        """The answer first, then the figures, the HR view and the key figures."""
        with language(self.lang):
            self.stale_note()
            r = self.result
            if r is None:
                with ui.card().classes("w-full inc-answer"):
                    ui.label(_("The answer will appear here")).classes("inc-headline")
                    ui.label(
                        _("Which scheme makes the most profit after bonuses, by how much, how sure, and at what bonus "
                          "cost; then the figures, the HR view of pay per person and the payout curves.")
                    ).classes("inc-muted")  # fmt: skip
                return
            cmp = r.cmp
            summary = answer(cmp)
            header, rows = tables(cmp)["summary"]
            with ui.card().classes("w-full inc-answer gap-1").props('data-testid="answer"'):
                ui.label(_("The answer")).classes("text-xs uppercase tracking-wide inc-muted")
                ui.label(summary.which).classes("inc-headline").props('data-testid="verdict"')
                facts = "".join(
                    f"<li><b>{escape(q)}</b> {escape(a)}</li>"
                    for q, a in (
                        (_("By how much?"), summary.how_much),
                        (_("How sure?"), summary.how_sure),
                        (_("At what bonus cost?"), summary.bonus_cost),
                    )
                )
                ui.html(f"<ul class='inc-facts text-sm' style='margin:0;padding-left:18px'>{facts}</ul>")
                ui.html(_html_table(header, rows, summary.best)).classes("w-full")
                from ..report.text import caution_notes

                for note in caution_notes(cmp):  # an unsettled equilibrium or calibration, no burn-in
                    ui.label(note).classes("text-sm inc-muted").props('data-testid="caution"')
            self.figure_slots: dict[str, Any] = {}
            section = None
            for key in figure_keys(cmp):
                title = _(PAGE_FIGURES[key])
                if title != section:
                    ui.label(title).classes("text-base font-bold mt-2")
                    section = title
                    if key == "bonus":
                        ui.html(_html_table(*tables(cmp)["hr"])).classes("w-full")
                        ui.label(
                            _("Rep bonus P5/P50/P95: one rep's bonus in a year. No bonus / at cap: share of "
                              "person-years. Luck share: share of the variance of rep bonuses not explained by "
                              "ability.")
                        ).classes("inc-caption")  # fmt: skip
                with ui.column().classes("w-full inc-fig gap-0"):
                    slot = ui.html(self._figure_html(key)).classes("w-full")
                    ui.label(caption(key)).classes("inc-caption")
                self.figure_slots[key] = slot
            ui.label(_("All key figures")).classes("text-base font-bold mt-2")
            ui.label(_("Mean [P5 to P95] over simulated years.")).classes("inc-caption")
            ui.html(_html_table(*tables(cmp)["figures"])).classes("w-full")

    def _figure_html(self, key: str) -> str:
        r = self.result
        if r is not None and key in r.figures:
            return f"<img src='{_png_src(r.figures[key])}' alt='{escape(key)}'>"
        return "<div class='inc-muted' style='padding:8px'>" + escape(_("Drawing the figure...")) + "</div>"

    # -- running ------------------------------------------------------------------------------------
    async def run(self) -> None:
        """Run the comparison of the draft in the background; show the answer, then draw the figures."""
        with language(self.lang):
            check = self.draft.check()
            if not check.ok or self.local_errors:
                self.show_check(check)
                ui.notify(_("Fix the marked input first; the last result stays on screen."), type="warning")
                return
            if self.job is not None and self.job.finished == 0:
                return
            scenario = check.scenario
            toml = self.draft.to_toml()
            token = self.draft.share_token()
            self.message = ""
            self.banner.refresh()
            job = self.job = Job(total=scenario.simulation.replications * len(scenario.schemes))
            self.cancel_button.set_visibility(True)
            self.run_button.set_enabled(False)
            self.progress.set_visibility(True)
            self.progress.set_value(0)
            timer = ui.timer(0.2, self._tick)
        try:
            # None: the tab closed or the server is stopping (NiceGUI cancels the await).
            cmp = await background.io_bound(run_comparison, job, scenario)
        except Cancelled:
            cmp = None
        except ScenarioError as exc:
            cmp = None
            self.message = str(exc)
        except Exception as exc:  # nothing reaches the page as a traceback; the log keeps it
            log.exception("run failed")
            cmp = None
            self.message = _("The run failed: {error}").format(error=f"{type(exc).__name__}: {exc}")
        finally:
            timer.cancel()
        with language(self.lang):
            self.cancel_button.set_visibility(False)
            self.run_button.set_enabled(True)
            self.progress.set_visibility(False)
            if cmp is not None:
                self.result = PageResult(cmp, toml, token, job.elapsed)
                self.result_stale = False
                self.actions_refresh()
                self.results.refresh()
            self.status.set_text(self._status_text())
            self.banner.refresh()
        if cmp is not None:
            await self.draw_figures(self.result)

    def actions_refresh(self) -> None:
        """Rebuild the buttons and status so they match the new result (the inputs keep their scroll)."""
        self.actions.refresh()

    def _tick(self) -> None:
        with language(self.lang):
            job = self.job
            if job is None:
                return
            if job.phase == "solving" or job.phase == "waiting":
                self.progress.props("indeterminate")
            else:
                self.progress.props(remove="indeterminate")
                self.progress.set_value(job.fraction)
            self.status.set_text(self._status_text())

    async def draw_figures(self, result: PageResult) -> None:
        """Draw the figures one by one after the answer is on screen (a newer run stops this one)."""
        for key in figure_keys(result.cmp):
            if self.result is not result:
                return
            try:
                png = await background.io_bound(_figure_in, self.lang, result.cmp, key)
            except Exception:  # a figure that cannot be drawn leaves a note, not a traceback
                log.exception("figure %s failed", key)
                png = None
            if png is None:  # the tab closed, the server is stopping, or the figure failed
                return
            result.figures[key] = png
            slot = getattr(self, "figure_slots", {}).get(key)
            if slot is not None and self.result is result:
                slot.set_content(self._figure_html(key))

    def close(self) -> None:
        """The tab is gone: stop its run, so it does not hold up other sessions."""
        if self.job is not None:
            self.job.cancel()

    def cancel(self) -> None:
        """Ask the running comparison to stop."""
        if self.job is not None:
            self.job.cancel()
            with language(self.lang):
                self.status.set_text(_("Cancelling..."))

    # -- downloads and links --------------------------------------------------------------------------
    def _file_stem(self) -> str:
        name = self.draft.get("scenario.name", self.draft.name)
        return "".join(c if c.isalnum() or c in "-_" else "-" for c in str(name)) or "scenario"

    async def download_report(self) -> None:
        """The HTML report of the result on screen."""
        if self.result is None:
            return
        with language(self.lang):
            ui.notify(_("Preparing the report..."))
        html = await background.io_bound(_report_in, self.lang, self.result)
        if html is None:
            return
        ui.download.content(html.encode("utf-8"), f"{self._file_stem()}-report.html", "text/html")

    def download_scenario(self) -> None:
        """The scenario file of the result on screen (or of the inputs, if edited since)."""
        with language(self.lang):
            check = self.draft.check()
            if self.result is not None and (self.result_stale is False or not check.ok):
                text = self.result.scenario_toml
            elif check.ok:
                text = self.draft.to_toml()
            else:
                ui.notify(_("Fix the marked input first; the last result stays on screen."), type="warning")
                return
        ui.download.content(text.encode("utf-8"), f"{self._file_stem()}.toml", "application/toml")

    def download_json(self) -> None:
        """The JSON of the result on screen (the contract of compare --json)."""
        if self.result is None:
            return
        text = comparison_json_text(self.result.cmp)
        ui.download.content(text.encode("utf-8"), f"{self._file_stem()}.json", "application/json")

    def share(self) -> None:
        """A link that reopens these inputs and reruns them (same seed: same numbers)."""
        with language(self.lang):
            token = self.result.share_token if self.result and not self.result_stale else self.draft.share_token()
            link = f"{self.base_url}/?s={token}&lang={self.lang}&run=1"
            with ui.dialog() as dialog, ui.card().classes("w-[640px]"):
                ui.label(_("Link to this scenario")).classes("font-bold")
                ui.label(
                    _("Opening it runs the same inputs with the same seed and replications: the same numbers.")
                ).classes("inc-muted")
                ui.input(value=link).props('readonly dense data-testid="share-link"').classes("w-full")
                with ui.row():
                    ui.button(_("Copy"), on_click=lambda: (ui.clipboard.write(link), ui.notify(_("Copied"))))
                    ui.button(_("Close"), on_click=dialog.close).props("flat")
            dialog.open()

    # -- opening scenarios ----------------------------------------------------------------------------
    @staticmethod
    def _bundled_names() -> list[str]:
        from ..scenario.bundled import bundled

        return list(bundled())

    def open_draft(self, draft: Draft, note: str = "") -> None:
        """Start over from another scenario."""
        self.draft = draft
        self.result = None
        self.result_stale = False
        self.local_errors = {}
        self.message = note
        self.rebuild()

    def open_bundled(self, name: str) -> None:
        """Open a bundled scenario by name."""
        from ..scenario.bundled import bundled

        if name == self.draft.name or name not in bundled():
            return
        with language(self.lang):
            try:
                self.open_draft(Draft.from_path(bundled()[name]))
            except ScenarioError as exc:
                self.message = str(exc)
                self.banner.refresh()

    async def upload_scenario(self, e) -> None:
        """Open an uploaded scenario file (the loader checks it)."""
        with language(self.lang):
            try:
                text = (await e.file.read()).decode("utf-8")
                draft = Draft.from_toml(text, e.file.name)
            except UnicodeDecodeError:
                self.message = f"{e.file.name}: " + _("is not a text (UTF-8) file, so not TOML")
                self.banner.refresh()
                return
            except ScenarioError as exc:
                self.message = str(exc)
                self.banner.refresh()
                return
            self.open_draft(draft)

    async def upload_export(self, e) -> None:
        """Calibrate a scenario from an uploaded CRM export (as incentsim calibrate)."""
        data = await e.file.read()
        name = Path(e.file.name).name
        with language(self.lang):
            ui.notify(_("Calibrating from {name}...").format(name=name))
        try:
            done = await background.io_bound(_calibrate_export, data, name)
            if done is None:
                return
            text, report = done
            draft = Draft.from_toml(text, Path(name).stem + ".toml")
        except ScenarioError as exc:
            self.message = str(exc)
            self.banner.refresh()
            return
        except Exception as exc:  # an export the reader did not foresee: one line, no traceback
            log.exception("calibration of %s failed", name)
            with language(self.lang):
                self.message = _("{name}: cannot be calibrated ({error})").format(name=name, error=exc)
            self.banner.refresh()
            return
        self.calibration_text = report
        self.open_draft(draft)


# -- helpers run in worker threads ------------------------------------------------------------------


def _figure_in(lang: str, cmp, key: str) -> bytes:
    with language(lang):
        return figure_png(cmp, key)


def _report_in(lang: str, result: PageResult) -> str:
    with language(lang):
        return report_html(result)


def _calibrate_export(data: bytes, name: str) -> tuple[str, str]:
    """Calibrate a scenario from an uploaded CRM export (the CLI's ``calibrate``): (TOML, report)."""
    from ..crm.estimate import calibrate
    from ..crm.format import read_export
    from ..crm.writer import scenario_text
    from ..scenario import load_scenario
    from ..scenario.bundled import bundled

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        export = read_export(str(path))
        template = load_scenario(bundled()["separate-vs-shared"])
        cal = calibrate(export, elasticity=template.behaviour.conversion_elasticity)
        text, notes = scenario_text(cal, template, Path(name).stem)
    return text, cal.report() + ("\n" + "\n".join(f"note: {n}" for n in notes) if notes else "")


def _toml_value(value: Any) -> str:
    """A value as it would be written in a TOML file (``[[1.0, 1.0], [1.2, 1.5]]``)."""
    import tomli_w

    return tomli_w.dumps({"v": value}).strip()[4:]


def _convert(f: F.Field, value: Any) -> Any:
    """A control's value as the scenario dict takes it (``None``: remove the key); ``ValueError`` when
    a text cannot be read (the page's own parsing; ranges and types are the loader's job)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if f.kind == "integer" and isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if f.kind == "text":
        try:
            return tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            raise ValueError(_("not a list such as [[1.0, 1.0], [1.2, 1.5]]")) from None
    if f.kind == "rate":
        text = str(value).strip()
        if text == "auto":
            return "auto"
        try:
            return float(text)
        except ValueError:
            return text  # the loader names the key and says what it takes
    return value


# -- the server ---------------------------------------------------------------------------------------


def initial_draft(scenario: str | None) -> Draft:
    """The scenario a new session starts from: the serve argument or a bundled name."""
    from ..scenario.bundled import resolve

    return Draft.from_path(resolve(scenario or "separate-vs-shared"))


@ui.page("/")
async def index(s: str | None = None, lang: str | None = None, run: str | None = None) -> None:
    """The page: a fresh session per browser tab."""
    lang = lang if lang in LANGUAGES else SETTINGS["lang"]
    note = ""
    if s:
        try:
            draft = Draft.from_share_token(s)
        except ScenarioError as exc:
            draft, note = initial_draft(SETTINGS["scenario"]), str(exc)
    else:
        draft = initial_draft(SETTINGS["scenario"])
    session = Session(draft, lang, str(ui.context.client.request.base_url))
    session.message = note
    session.build()
    ui.context.client.on_delete(session.close)
    if s and run == "1" and not note:
        ui.timer(0.1, session.run, once=True)  # a shared link reruns its scenario



def _warm_up(scenario: str | None) -> None:
    """Load the kernels and solve the starting scenario's policies while the first page is read, so the
    first click answers as quickly as the next ones (a few replications, under the run lock)."""
    try:
        sc = initial_draft(scenario).check().scenario
        if sc is not None:
            run_comparison(Job(total=16 * len(sc.schemes)), sc.with_simulation(replications=16))
    except Exception:  # only a speed-up: the first run will say what is wrong
        log.debug("warm-up failed", exc_info=True)


def serve(scenario: str | None, host: str, port: int, lang: str, open_browser: bool) -> None:
    """Start the server (blocking) and print its address."""
    SETTINGS.update(scenario=scenario, lang=lang)
    address = f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"

    def started() -> None:
        print(f"incentsim serve: {address}  (Ctrl-C to stop)", flush=True)
        threading.Thread(target=_warm_up, args=(scenario,), name="incentsim-warm-up", daemon=True).start()
        if open_browser:
            import webbrowser

            webbrowser.open(address)

    app.on_startup(started)
    ui.run(
        host=host, port=port, title="incentsim", reload=False, show=False, show_welcome_message=False,
        favicon="📈", uvicorn_logging_level="warning", reconnect_timeout=30, language="nl" if lang == "nl" else "en-US",
    )  # fmt: skip
