"""Index layout of the kernels' output arrays (no numba import, so reports stay light)."""

WEEKS = 52

# Company metrics per replication-year (last axis of ``out_year``).
Y_REVENUE = 0  # bookings: value of deals booked in the year
Y_MARGIN = 1  # in-year recognised margin
Y_WINS = 2  # deals booked
Y_LEADS = 3  # new leads from campaigns
Y_APPOINTMENTS = 4  # appointments marketing handed over
Y_GENUINE = 5  # of which genuine prospects
Y_WORKED = 6  # handed-over appointments sales worked (visited)
Y_IGNORED = 7  # handed-over appointments sales ignored
Y_COLD = 8  # handed-over appointments that went cold waiting
Y_SELF_APPTS = 9  # self-prospected appointments
Y_MKT_WINS = 10  # deals booked from marketing's appointments
Y_SELF_WINS = 11
Y_SOURCED = 12  # bookings of deals from marketing's appointments
Y_BONUS_SALES = 13  # total bonus paid to reps
Y_BONUS_MKT = 14  # total bonus paid to marketing (all persons)
Y_PULLED = 15  # deals pulled into an earlier period
Y_HELD = 16  # deals held back into the next period
Y_HELD_LOST = 17  # held deals lost
Y_QUALITY = 18  # mean marketing quality focus over the weeks
Y_MKT_EFFORT = 19  # mean marketing effort
Y_SALES_EFFORT = 20  # mean rep effort
Y_DISCOUNT = 21  # value given away by pull-in discounts
Y_TEAM_TIME = 22  # mean share of reps' weeks spent on the team (helping colleagues, marketing's events)
Y_HELPED = 23  # quotes decided with a colleague's help (removing at least 1 % of their miss chance)
Y_HELPED_WON = 24  # of which won
Y_PASSED = 25  # prospects passed to a colleague
N_Y = 26

# Person metrics per replication-year (last axis of ``out_person``); persons 0..R-1 are reps,
# person R is one marketing team member.
P_PAY = 0  # bonus paid
P_ATTAIN = 1  # annual attainment of the role's primary component
P_CAPPED = 2  # periods paid at the curve's maximum
P_BOOKINGS = 3  # own bookings (marketing: sourced bookings)
P_WINS = 4  # own deals (marketing: deals from its appointments)
P_EFFORT = 5  # mean effort over the year
P_ZERO = 6  # 1 if no bonus at all in the year
P_EFFORT_Q1 = 7  # mean effort in each calendar quarter (Q1..Q4 at 7..10)
P_TEAM_TIME = 11  # share of the year's weeks spent on the team
P_HELP_LIFT = 12  # mean lift of the person's quote conversion from colleagues' help
N_P = 13

#: Effort quantum of the kernel's action tables (``compile.EFFORT_STEP``) and the number of quanta.
EFFORT_STEP = 0.01
N_EFFORT = 301

TIMING_NONE = 0
TIMING_HOLD = 1  # hold every deal that closes in the period's last week
TIMING_PULL = 2
TIMING_HOLD_EXCESS = 3  # hold the deals that would no longer raise the period's pay (above a cap)

# Pipeline snapshot at each month end (last axis of ``out_pipe``), when recorded:
# [booked so far this year, marketing stage counts (Km), waiting genuine, waiting other,
#  sales stage counts from marketing's appointments (Ks), from self-prospecting (Ks), held deals]


def pipeline_fields(marketing_stages: list[str], sales_stages: list[str]) -> list[str]:
    """Names of the pipeline snapshot fields, in order."""
    return (
        ["booked"]
        + [f"marketing:{s}" for s in marketing_stages]
        + ["waiting:genuine", "waiting:other"]
        + [f"marketing_sourced:{s}" for s in sales_stages]
        + [f"self_sourced:{s}" for s in sales_stages]
        + ["held"]
    )
