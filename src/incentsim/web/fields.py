"""The page's form controls: which scenario key each edits, its label, unit, valid range and meaning.

The ranges repeat what the scenario loader checks (``incentsim.scenario.load``) so a control can
show them before anything is typed; the loader stays the judge: every value the page sends goes
through ``scenario_from_dict`` and its message is what the page shows. (When the loader publishes
its ranges as a table, this module should read them from there instead.)

Labels, units and help texts are gettext message ids (marked with :func:`~incentsim.i18n.N_`),
translated where shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..i18n import N_, _
from ..scenario.schema import MEASURES, PERIODS

#: Units (message ids); ``{currency}`` is replaced by the scenario's currency.
PROBABILITY = N_("share")
WEEKS = N_("weeks")
MONEY_PERSON = N_("{currency} per person per year")
MONEY_DEAL = N_("{currency} per deal")
MULTIPLE = N_("x bonus at target")
ATTAINMENT = N_("x target (1 = 100%)")


@dataclass(frozen=True)
class Field:
    """One form control.

    Attributes
    ----------
    key : str
        Dotted key path in the scenario file (``funnel.quote.conversion``); for scheme components,
        relative to the component's table (``cap``).
    label, unit, help : str
        Message ids: what it is, its unit, what it means (shown as a tooltip).
    kind : str
        ``number``, ``integer``, ``select``, ``text`` (a TOML value such as a list of pairs) or
        ``rate`` (a number or ``"auto"``).
    lo, hi : float or None
        Valid range as the loader checks it (``lo_open``/``hi_open``: the bound itself is invalid).
    default : object
        The loader's default when the key is absent (``None``: required, or "none").
    choices : tuple of str
        For selects.

    An empty control removes its key, so the loader's default applies (or it says the key is required).
    """

    key: str
    label: str
    unit: str = ""
    help: str = ""
    kind: str = "number"
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    default: object = None
    choices: tuple[str, ...] = field(default_factory=tuple)

    def range_text(self) -> str:
        """The valid range in words, translated (``0 to 1``, ``at least 1``, ``above 0``)."""
        lo, hi = self.lo, self.hi
        if lo is not None and hi is not None:
            return _("{lo} to {hi}").format(lo=_num(lo), hi=_num(hi)) + (
                " " + _("(excluding the ends)") if self.lo_open or self.hi_open else ""
            )
        if lo is not None:
            return (_("above {lo}") if self.lo_open else _("at least {lo}")).format(lo=_num(lo))
        if hi is not None:
            return (_("below {hi}") if self.hi_open else _("at most {hi}")).format(hi=_num(hi))
        return ""

    def hint(self, currency: str = "EUR") -> str:
        """Unit and valid range, translated: ``weeks; at least 1``."""
        parts = [_(self.unit).format(currency=currency)] if self.unit else []
        rng = self.range_text()
        if rng:
            parts.append(rng)
        return "; ".join(parts)


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 10000 else f"{x:g}"


def stage_fields(stage: str, last: bool) -> list[Field]:
    """Conversion and dwell time of one funnel stage."""
    nxt = _("won") if last else _("the next stage")
    return [
        Field(
            f"funnel.{stage}.conversion", _("{stage}: conversion").format(stage=stage), PROBABILITY,
            _("Share of items leaving this stage that move on to {next} (the rest are lost).").format(next=nxt),
            lo=0.0, hi=1.0,
        ),
        Field(
            f"funnel.{stage}.dwell_weeks", _("{stage}: weeks in stage").format(stage=stage), WEEKS,
            N_("Mean time an item spends in the stage before it moves on or is lost."), lo=1.0,
        ),
    ]  # fmt: skip


COMPANY: tuple[Field, ...] = (
    Field("marketing.leads_per_week", N_("Marketing leads per week"), N_("leads per week"),
          N_("New leads from campaigns at today's effort (Poisson), before seasonality."), lo=0.0, default=0.0),
    Field("marketing.headcount", N_("Marketing team"), N_("people"),
          N_("People paid under marketing's scheme (0: no marketing bonus)."), kind="integer", lo=0, hi=100000,
          default=0),
    Field("sales.reps", N_("Sales reps"), N_("people"), N_("Number of sales reps."), kind="integer", lo=1, hi=10000,
          default=1),
    Field("sales.calls_per_week", N_("Self-prospecting calls per rep"), N_("calls per week"),
          N_("Contacts a rep makes per week on their own at normal effort."), lo=0.0, default=0.0),
    Field("sales.call_to_appointment", N_("Call to appointment"), PROBABILITY,
          N_("Share of a rep's own contacts that become an appointment."), lo=0.0, hi=1.0, default=0.25),
    Field("sales.ability.cv", N_("Spread of rep ability"), N_("coefficient of variation"),
          N_("How much reps differ in productivity (0: all alike; 0.25: the usual spread)."), lo=0.0, hi=3.0,
          default=0.0),
    Field("deals.value_mean", N_("Deal value"), MONEY_DEAL,
          N_("Mean gross margin of a new client's first 12 months."), lo=0.0, lo_open=True, default=5000.0),
    Field("deals.value_cv", N_("Spread of deal values"), N_("coefficient of variation"),
          N_("How much deal sizes vary (lognormal; 0: all deals the same)."), lo=0.0, hi=10.0, default=0.0),
    Field("marketing.bonus_at_target", N_("Marketing bonus at target"), MONEY_PERSON,
          N_("Bonus per marketing person at 100% of target, unless a scheme sets its own."), lo=0.0, default=0.0),
    Field("marketing.base_salary", N_("Marketing base salary"), MONEY_PERSON,
          N_("Fixed pay per marketing person (counts in cost of sales)."), lo=0.0, default=0.0),
    Field("sales.bonus_at_target", N_("Sales bonus at target"), MONEY_PERSON,
          N_("Bonus per rep at 100% of target, unless a scheme sets its own."), lo=0.0, default=0.0),
    Field("sales.base_salary", N_("Sales base salary"), MONEY_PERSON,
          N_("Fixed pay per rep (counts in cost of sales)."), lo=0.0, default=0.0),
)  # fmt: skip

HANDOFF: tuple[Field, ...] = (
    Field("handoff.delay_weeks", N_("Follow-up delay"), WEEKS,
          N_("Mean wait before sales follows up an appointment marketing handed over."), lo=0.0, hi=52.0,
          default=1.0),
    Field("handoff.response_decay_per_week", N_("Prospects going cold per week"), PROBABILITY,
          N_("Share of waiting prospects lost per week of delay."), lo=0.0, hi=1.0, default=0.0),
    Field("handoff.ignored_share", N_("Appointments never followed up"), PROBABILITY,
          N_("Share sales never follows up, whatever the scheme (behaviour adds its own choice)."), lo=0.0, hi=1.0,
          default=0.0),
    Field("handoff.recycle_share", N_("Ignored ones back to marketing"), PROBABILITY,
          N_("Share of ignored appointments that return to marketing as leads."), lo=0.0, hi=1.0, default=0.0),
    Field("handoff.sla_weeks", N_("Follow-up service level"), WEEKS,
          N_("Appointments waiting this long are followed up (empty: no service level)."), kind="integer",
          lo=0, hi=26),
    Field("handoff.duplicated_share", N_("Duplicated accounts"), PROBABILITY,
          N_("Share of appointments on accounts sales already works: they take time but never convert."),
          lo=0.0, hi=1.0, hi_open=True, default=0.0),
    Field("handoff.feedback_gain", N_("Feedback from sales to marketing"), N_("gain"),
          N_("How much marketing's targeting improves over a year from sales' feedback (0: none)."), lo=0.0,
          hi=3.0, default=0.0),
)  # fmt: skip

BEHAVIOUR: tuple[Field, ...] = (
    Field("simulation.behaviour", N_("Behaviour"), "",
          N_("optimising: people respond to the scheme; fixed: everyone at today's effort (what replay tools "
             "assume)."), kind="select", choices=("optimising", "fixed"), default="fixed"),
    Field("behaviour.implicit_incentive", N_("Drive from outside the bonus"), PROBABILITY,
          N_("Share of today's drive that does not come from the bonus (career, recognition); 0 makes "
             "free-riding on team targets strongest."), lo=0.0, hi=0.95, default=0.0),
    Field("behaviour.effort_cost_exponent", N_("How steeply extra effort gets harder"), N_("exponent"),
          N_("Convexity of the effort cost: 2 very responsive, 3 moderate, 5 sluggish."), lo=1.0, hi=10.0,
          lo_open=True, default=3.0),
    Field("behaviour.conversion_elasticity", N_("Effort raises conversion"), N_("elasticity"),
          N_("How much a rep's effort (and ability) raises the conversion of the sales stages."), lo=0.0, hi=3.0,
          default=0.5),
    Field("behaviour.annual_discount", N_("Patience"), N_("value of a bonus a year away"),
          N_("What a bonus paid a year from now is worth today (1: fully patient)."), lo=0.05, hi=1.0,
          default=0.8),
    Field("behaviour.pull_in_discount", N_("Discount to pull a deal in"), PROBABILITY,
          N_("Price discount to close a deal early at a period end."), lo=0.0, hi=1.0, default=0.1),
    Field("behaviour.hold_back_loss", N_("Risk of holding a deal back"), PROBABILITY,
          N_("Chance a deal held back into the next period is lost."), lo=0.0, hi=1.0, default=0.05),
    Field("marketing.quality.baseline", N_("Marketing's quality focus today"), N_("0 = volume, 1 = quality"),
          N_("Where marketing stands today between pure volume and pure quality of appointments."), lo=0.0,
          hi=1.0, lo_open=True, hi_open=True, default=0.5),
    Field("marketing.quality.conversion_at_one", N_("Conversion at pure quality"), N_("x today's conversion"),
          N_("How much better an appointment converts when marketing focuses fully on quality."), lo=0.0,
          lo_open=True, default=1.35),
    Field("marketing.quality.volume_at_zero", N_("Volume at pure volume"), N_("x today's appointments"),
          N_("How many more appointments marketing hands over when it focuses fully on volume."), lo=0.0,
          lo_open=True, default=1.4),
)  # fmt: skip

RUN: tuple[Field, ...] = (
    Field("simulation.replications", N_("Replications"), N_("simulated company histories"),
          N_("More replications narrow the confidence intervals (and take longer)."), kind="integer", lo=1,
          hi=2**31 - 1, default=10000),
    Field("simulation.seed", N_("Seed"), N_("root seed"),
          N_("Same seed, same inputs: the same numbers to the last digit."), kind="integer", lo=0, default=12345),
)  # fmt: skip

#: Preset names as the loader knows them (imported lazily to keep this module light).
PAYOUTS = ("linear", "step", "commission", "curve")


def role_measures(role: str) -> tuple[str, ...]:
    """Measures a role may be paid on."""
    return tuple(m for m, roles in MEASURES.items() if role in roles)


def component_fields(role: str, payout: str, several: bool) -> list[Field]:
    """Controls of one pay component (keys relative to the component's table)."""
    out = [
        Field("measure", N_("Measure"), "", N_("What the component pays on."), kind="select",
              choices=role_measures(role)),
        Field("period", N_("Period"), "", N_("Length of a target period (targets and pay per period)."),
              kind="select", choices=tuple(PERIODS), default="year"),
    ]  # fmt: skip
    if several:
        out.append(Field("weight", N_("Weight"), N_("share of the bonus"),
                         N_("Share of the role's bonus at target paid through this component."), lo=0.0, hi=1.0,
                         default=1.0))  # fmt: skip
    out += [
        Field("target_level", N_("Target level"), N_("x expected (1 = today)"),
              N_("Automatic target as a multiple of what today's funnel delivers (1.1 = a 10% stretch)."),
              lo=0.0, lo_open=True, default=1.0),
        Field("payout", N_("Payout curve"), "",
              N_("linear (with an accelerator above target), step, commission or a curve of points."),
              kind="select", choices=PAYOUTS, default="linear"),
        Field("threshold", N_("Gate"), ATTAINMENT, N_("Nothing is paid below this attainment (0: no gate)."),
              lo=0.0, default=0.0),
        Field("cap", N_("Cap"), MULTIPLE, N_("Most the component pays, as a multiple of its bonus at target "
              "(empty: no cap)."), lo=0.0, lo_open=True),
    ]  # fmt: skip
    if payout == "linear":
        out.append(Field("accelerator", N_("Accelerator"), N_("payout slope above target"),
                         N_("Extra payout per unit of attainment above 100% (1: same slope as below)."), lo=0.0,
                         default=1.0))  # fmt: skip
    elif payout == "step":
        out.append(Field("steps", N_("Steps"), N_("[[attainment, payout], ...]"),
                         N_("Payout from each attainment level on, e.g. [[1.0, 1.0], [1.2, 1.5]]."), kind="text",
                         default=[[1.0, 1.0]]))  # fmt: skip
    elif payout == "curve":
        out.append(Field("points", N_("Curve points"), N_("[[attainment, payout], ...]"),
                         N_("Payout at each attainment, straight lines between, e.g. [[0.5, 0], [1, 1], [1.5, 2]]."),
                         kind="text"))  # fmt: skip
    elif payout == "commission":
        out.append(Field("rate", N_("Commission rate"), N_("per unit of the measure, or auto"),
                         N_('"auto": the rate that pays the bonus at target at 100%.'), kind="rate",
                         default="auto"))  # fmt: skip
    return out


def all_company_fields(stages: list[str]) -> list[Field]:
    """Every company-level control, funnel first."""
    out: list[Field] = []
    for i, s in enumerate(stages):
        out += stage_fields(s, i == len(stages) - 1)
    return out + list(COMPANY) + list(HANDOFF)
