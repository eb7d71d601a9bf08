"""Write a calibrated scenario: a commented TOML file that ``incentsim validate`` accepts.

Every number estimated from the export carries its 95 % interval and record count in the
comment beside it. What a CRM export cannot show (headcount of marketing, bonuses and salaries,
marketing's quality trade-off, behaviour parameters, how many calls make an appointment) comes
from a template scenario (by default the bundled ``separate-vs-shared``) and is marked
``assumed``. Three schemes are written from presets: ``separate`` (today's common practice and
the baseline), ``shared`` and ``hybrid``.

A few estimates are turned into the model's parameters:

* ``calls_per_week`` = self-sourced appointments per rep-week / ``call_to_appointment``, less
  the calls made in the time freed by ignored appointments (the model adds those back);
* ``sales.ability.cv`` is the lognormal cv whose ``types`` equally likely levels (as the loader
  discretises it) have the estimated spread of rep ability;
* dwell times below one week become 1 (the model's minimum), and marketing's quality
  multipliers are trimmed when an estimated conversion would push a probability above 1.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

from ..scenario.schema import Scenario
from .estimate import Calibration, Estimate

_SCHEMES = (
    ("separate", "Today (baseline): marketing paid on appointments handed over, sales on own bookings"),
    ("shared", "Shared: marketing and sales both paid on the company's bookings"),
    ("hybrid", "Half on each team's own measure, half on the company's bookings"),
)


def _fmt(x: float, digits: int = 4) -> str:
    """A TOML float with up to ``digits`` significant decimals (always with a decimal point)."""
    if not math.isfinite(x):
        return "inf" if x > 0 else "nan"  # only ever in comments: values are checked finite first
    if x == 0:
        return "0.0"
    mag = math.floor(math.log10(abs(x)))
    dec = max(1, digits - 1 - mag)
    text = f"{x:.{dec}f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _note(e: Estimate | None, prefix: str = "estimated ") -> str:
    if e is None:
        return ""
    return f"{prefix}{_fmt(e.value)} (95% CI {_fmt(e.lo)} to {_fmt(e.hi)}; {e.n:,} {e.records})"


def _line(key: str, value: str, comment: str, width: int = 28) -> str:
    text = f"{key} = {value}"
    return f"{text:<{width}} # {comment}" if comment else text


def ability_cv_for_spread(spread: float, types: int) -> float:
    """The lognormal cv whose ``types``-level discretisation has population spread ``spread``."""
    from scipy.optimize import brentq

    from ..scenario.load import ability_levels

    def level_spread(cv: float) -> float:
        a = ability_levels(cv, types)
        mean = sum(w * x for w, x in zip(a.weights, a.levels, strict=True))
        var = sum(w * (x - mean) ** 2 for w, x in zip(a.weights, a.levels, strict=True))
        return math.sqrt(var) / mean

    if spread <= 0 or types < 2:
        return 0.0
    top = 3.0
    if level_spread(top) <= spread:
        return top
    return float(brentq(lambda cv: level_spread(cv) - spread, 1e-9, top, xtol=1e-6))


def scenario_text(cal: Calibration, template: Scenario, name: str) -> tuple[str, list[str]]:
    """The calibrated scenario as commented TOML.

    Parameters
    ----------
    cal : Calibration
        The estimates.
    template : Scenario
        Source of everything a CRM export cannot give (marked ``assumed`` in the file).
    name : str
        ``[scenario] name``.

    Returns
    -------
    (str, list of str)
        The file's text, and notes about adjustments made (clamps, defaults kept).

    Raises
    ------
    ScenarioError
        If the text would not load (a bug: it is checked before it is returned).
    """
    ex = cal.export
    S, k = ex.stages, ex.handoff_index
    t = template
    notes: list[str] = []
    tpl = Path(t.source).name if t.source != "<dict>" else "the template"
    L: list[str] = []
    e = cal.get

    L += [
        f"# Calibrated from the CRM export {Path(ex.source).name}: {len(ex.items):,} usable records of "
        f"{ex.rows_read:,} ({len(ex.bad):,} set aside),",
        f"# {cal.weeks} weeks to {ex.as_of.date()}, {len(cal.reps)} reps. Written by `incentsim calibrate`.",
        "#",
        "# Each estimated number shows its 95% confidence interval and the records it rests on. Numbers",
        f"# marked 'assumed' are not in a CRM export; they come from {tpl}: check them (pay, headcount,",
        "# behaviour). Units: weeks (52 a year), money in the currency below, probabilities in [0, 1].",
        "# Run:  incentsim validate THIS_FILE   then   incentsim compare THIS_FILE",
        "",
        "[scenario]",
        f"name = {_toml_str(name)}",
        "description = " + _toml_str(f"Calibrated from {Path(ex.source).name}: the company funnel as its CRM shows it"),
        f"currency = {_toml_str(t.currency)}",
        "",
        "[simulation]",
        "replications = 10000",
        "horizon_years = 1",
        "burn_in_years = 1",
        f"seed = {t.simulation.seed}",
        _line(
            "behaviour",
            _toml_str(t.simulation.behaviour),
            'people respond to the scheme ("fixed": everyone at normal effort)',
        ),
        "",
        f"# --- The funnel: {' -> '.join(S)} -> won; hand-off to sales at {ex.handoff} ---",
        "# dwell_weeks: mean weeks in the stage (geometric, at least 1; open items counted as censored);",
        "# conversion: share of the items leaving the stage that move on (advanced / decided).",
    ]
    if ex.handoff != "appointment":
        L += ["[funnel]", f"handoff = {_toml_str(ex.handoff)}", ""]
    for j, s in enumerate(S):
        L.append(
            f"[funnel.{s}]"
            + ("" if j != k or s != "appointment" else "      # the hand-off: from here on sales owns it")
        )
        d = e(f"funnel.{s}.dwell_weeks")
        template_stage = next((st for st in t.funnel.stages if st.name == s), None)
        if d is not None and math.isfinite(d.value):
            dw = max(1.0, d.value)
            if d.value < 1.0:
                notes.append(f"funnel.{s}.dwell_weeks: estimate {d.value:.3g} raised to 1 (the model's minimum)")
            L.append(_line("dwell_weeks", _fmt(dw), _note(d)))
        else:
            dw = template_stage.dwell_weeks if template_stage else 1.0
            L.append(_line("dwell_weeks", _fmt(dw), "assumed: not enough data to estimate"))
            notes.append(f"funnel.{s}.dwell_weeks: not estimated, {dw:g} assumed")
        c = e(f"funnel.{s}.conversion")
        if c is not None and math.isfinite(c.value):
            comment = _note(c)
            if j == k:
                parts = [
                    f"{src} {_fmt(x.value, 3)}"
                    for src in ("marketing", "self")
                    if (x := e(f"funnel.{s}.conversion.{src}")) is not None
                ]
                if parts:
                    comment += "; by source: " + ", ".join(parts)
            L.append(_line("conversion", _fmt(c.value), comment))
        else:
            cv = template_stage.conversion if template_stage else 0.5
            L.append(_line("conversion", _fmt(cv), "assumed: not enough data to estimate"))
            notes.append(f"funnel.{s}.conversion: not estimated, {cv:g} assumed")
    conv = {s: _value(e(f"funnel.{s}.conversion"), None) for s in S}

    # Marketing.
    lpw = e("marketing.leads_per_week")
    q = t.marketing.quality
    vol0 = q.volume_at_zero
    last_mkt = conv.get(S[k - 1]) or 0.0
    if last_mkt > 0 and last_mkt * max(vol0, q.volume_at_one, 1.0) > 1.0:
        vol0 = math.floor(1000 / last_mkt) / 1000
        notes.append(f"marketing.quality.volume_at_zero trimmed to {vol0:g} so that conversion x volume stays <= 1")
    conv1 = q.conversion_at_one
    first_sales = conv.get(S[k]) or 0.0
    if first_sales > 0 and first_sales * max(conv1, q.conversion_at_zero, 1.0) > 1.0:
        conv1 = max(1.0, math.floor(1000 / first_sales) / 1000)
        notes.append(f"marketing.quality.conversion_at_one trimmed to {conv1:g} so that conversion stays <= 1")
    season = [x.value for x in cal.seasonality]
    L += [
        "",
        "# --- Marketing ---",
        "[marketing]",
        _line("headcount", str(t.marketing.headcount), f"assumed ({tpl}): people paid under marketing's scheme")
        if lpw
        else _line("headcount", "0", "no marketing leads in the export: no marketing team to pay"),
        _line("leads_per_week", _fmt(lpw.value if lpw else 0.0), _note(lpw) if lpw else "no marketing leads"),
        "# New leads by month (Jan..Dec), relative to the mean week, estimated from the leads created each",
        "# month (95% CIs: "
        + ", ".join(f"{x.label} {_fmt(x.lo, 2)}-{_fmt(x.hi, 2)}" for x in cal.seasonality if math.isfinite(x.lo))
        + ").",
        "seasonality = [" + ", ".join(_fmt(v, 3) for v in season) + "]",
        _line(
            "bonus_at_target",
            _fmt(t.marketing.bonus_at_target),
            f"assumed ({tpl}): per person per year at 100 %",
        ),
        _line("base_salary", _fmt(t.marketing.base_salary), f"assumed ({tpl})"),
        "",
        f"[marketing.quality]       # assumed ({tpl}): marketing's volume-versus-quality trade-off",
        f"baseline = {_fmt(q.baseline)}",
        f"volume_at_zero = {_fmt(vol0)}",
        f"volume_at_one = {_fmt(q.volume_at_one)}",
        f"conversion_at_zero = {_fmt(q.conversion_at_zero)}",
        f"conversion_at_one = {_fmt(conv1)}",
    ]

    # Sales.
    s = t.sales
    reps = max(1, len(cal.reps))
    self_rate = e("sales.self_appointments_per_week")
    ign = e("handoff.ignored_share")
    ignored_per_rep_week = (ign.value * ign.n / (reps * cal.weeks)) if ign and math.isfinite(ign.value) else 0.0
    cta = s.call_to_appointment if s.call_to_appointment > 0 else 0.25
    rate = self_rate.value if self_rate else 0.0

    def calls_for(r: float) -> float:
        return max(0.0, (r - ignored_per_rep_week * s.calls_per_followup * cta) / cta)

    calls = calls_for(rate)
    spread = e("sales.ability.spread")
    types = max(3, len(s.ability.levels)) if spread else 1
    cv = ability_cv_for_spread(spread.value, types) if spread else 0.0
    # Each estimated number of the scenario with its 95 % interval (derived ones mapped through the same formula).
    intervals = _direct_intervals(cal, S)
    if self_rate and math.isfinite(self_rate.lo) and math.isfinite(self_rate.hi):
        intervals["sales.calls_per_week"] = (self_rate, calls, calls_for(self_rate.lo), calls_for(self_rate.hi))
    if spread and math.isfinite(spread.lo) and math.isfinite(spread.hi):
        cv_ends = (ability_cv_for_spread(spread.lo, types), ability_cv_for_spread(spread.hi, types))
        intervals["sales.ability.cv"] = (spread, cv, *cv_ends)
    L += [
        "",
        "# --- Sales ---",
        "[sales]",
        _line("reps", str(reps), "reps in the export (owners of sales opportunities)"),
        _line(
            "calls_per_week",
            _fmt(calls),
            f"derived: self-sourced appointments per rep-week {_note(self_rate, '') if self_rate else '0'},"
            " over call_to_appointment, less calls made in time freed by ignored appointments",
        ),
        _line(
            "call_to_appointment",
            _fmt(cta),
            "assumed: the export shows prospects, not calls; only calls x this rate matters",
        ),
        _line("calls_per_followup", _fmt(s.calls_per_followup), f"assumed ({tpl})"),
        _line("bonus_at_target", _fmt(s.bonus_at_target), f"assumed ({tpl}): per rep per year at 100 %"),
        _line("base_salary", _fmt(s.base_salary), f"assumed ({tpl})"),
        "",
        "[sales.ability]",
        _line(
            "cv",
            _fmt(cv),
            (
                f"spread of rep ability {_note(spread, '')}, from {cal.ability_method}; "
                f"cv is the lognormal spread whose {types} levels have that spread"
            )
            if spread
            else "one rep, or too little data: no spread",
        ),
        _line("types", str(types), "equally common ability levels"),
    ]

    # Hand-off.
    h = t.handoff
    L += ["", "# --- Hand-off of marketing's appointments to sales ---", "[handoff]"]
    for key, default, what in (
        ("delay_weeks", 0.0 if not ex.has_followup else h.delay_weeks, "mean weeks before sales follows up"),
        ("response_decay_per_week", 0.0, "share of waiting prospects going cold each week"),
        ("ignored_share", 0.0, "share of followed-up appointments sales does not work"),
        ("recycle_share", 0.0, "share of ignored appointments that return to marketing as leads"),
    ):
        est = e(f"handoff.{key}")
        if est is not None and math.isfinite(est.value):
            value = min(52.0, est.value) if key == "delay_weeks" else est.value
            L.append(_line(key, _fmt(value), f"{what}: {_note(est)}", 34))
        else:
            L.append(_line(key, _fmt(default), f"{what}: not estimated from the export, assumed", 34))

    # Deals.
    vm, vc = e("deals.value_mean"), e("deals.value_cv")
    L += [
        "",
        "# --- Deals: value of a won deal (gross margin of its first 12 months), lognormal ---",
        "[deals]",
        _line(
            "value_mean",
            _fmt(vm.value if vm else t.deals.value_mean, 6),
            _note(vm) if vm else f"assumed ({tpl}): too few won deals with an amount",
        ),
        _line(
            "value_cv",
            _fmt(min(10.0, vc.value) if vc else t.deals.value_cv),
            _note(vc) if vc else f"assumed ({tpl})",
        ),
    ]

    # Behaviour.
    b = t.behaviour
    baseline = b.baseline_scheme if b.baseline_scheme in dict(_SCHEMES) else "separate"

    def cost(x: float | None) -> str:
        return '"calibrate"' if x is None else _fmt(x)

    L += [
        "",
        f"# --- Behaviour: how people respond to the scheme (assumed, from {tpl}) ---",
        "[behaviour]",
        "effort_levels = [" + ", ".join(_fmt(x) for x in b.effort_levels) + "]",
        f"conversion_elasticity = {_fmt(b.conversion_elasticity)}",
        "quality_levels = [" + ", ".join(_fmt(x) for x in b.quality_levels) + "]",
        _line(
            "effort_cost_sales",
            cost(b.effort_cost_sales),
            "calibrated so that today's scheme gives today's funnel",
        ),
        f"effort_cost_marketing = {cost(b.effort_cost_marketing)}",
        f"effort_cost_exponent = {_fmt(b.effort_cost_exponent)}",
        f"quality_cost_marketing = {cost(b.quality_cost_marketing)}",
        f"implicit_incentive = {_fmt(b.implicit_incentive)}",
        _line("baseline_scheme", _toml_str(baseline), "today's scheme: set it to the one you pay today"),
        f"pull_in_discount = {_fmt(b.pull_in_discount)}",
        f"hold_back_loss = {_fmt(b.hold_back_loss)}",
        "",
        "# --- The schemes to compare (the first is the baseline); presets with automatic targets ---",
    ]
    for scheme, desc in _SCHEMES:
        L += [f"[schemes.{scheme}]", f"preset = {_toml_str(scheme)}", f"description = {_toml_str(desc)}", ""]
    text = "\n".join(L).rstrip() + "\n"
    from .uncertain import uncertainty_lines

    extra, more = uncertainty_lines(text, t, intervals, tpl)  # only when the template asks for it
    text += "\n".join(extra) + ("\n" if extra else "")
    notes += more
    _check(text)
    return text, notes


def _direct_intervals(cal: Calibration, stages) -> dict[str, tuple[Estimate, float, float, float]]:
    """Estimates written as they are: key path -> (estimate, value, interval low, interval high)."""
    keys = [f"funnel.{s}.{k}" for s in stages for k in ("dwell_weeks", "conversion")]
    keys += ["marketing.leads_per_week", "deals.value_mean", "deals.value_cv"]
    keys += [f"handoff.{k}" for k in ("delay_weeks", "response_decay_per_week", "ignored_share", "recycle_share")]
    out = {}
    for key in keys:
        est = cal.get(key)
        if est is not None and all(math.isfinite(v) for v in (est.value, est.lo, est.hi)):
            out[key] = (est, est.value, est.lo, est.hi)
    return out


def _value(e: Estimate | None, default):
    return e.value if e is not None and math.isfinite(e.value) else default


def _check(text: str) -> None:
    from ..scenario.load import scenario_from_dict

    scenario_from_dict(tomllib.loads(text), source="<calibrated scenario>")
