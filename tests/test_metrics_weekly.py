"""METRICS.md §4 on a hand-built week: boundaries in the account's time zone, missed calls, a call
with no deal, a lead never answered (censored), a manager with a week of nothing; a count against
its expected value and the false-discovery control."""

import numpy as np
import pandas as pd
import pytest

from crmkit import findings, metrics, stats
from tests.fixtures.scenarios import SCENARIOS

# as_of is Monday 2026-02-16 00:00 in Moscow (UTC+3): the weeks shown are those of 02-02 and 02-09
AS_OF = "2026-02-15 21:00:00"
WEEK = {
    "pipelines": SCENARIOS["pipelines"],
    "stages": SCENARIOS["stages"],
    "users": """
        user_id,name,team,is_active
        u1,Анна,T1,true
        u2,Борис,T1,true
        u3,Тихий,T1,true
    """,
    # L1 answered after 3,539 minutes, L2 never (censored at as_of: 7,920 minutes), L3 after 10
    "deals": """
        deal_id,pipeline_id,stage_id,title,amount,currency,owner_id,source,client,created_at,closed_at
        L1,P,A,lead one,100,RUB,u1,Сайт,C1,2026-02-06 10:00:00,
        L2,P,A,lead two,100,RUB,u2,Сайт,C2,2026-02-10 09:00:00,
        L3,P,A,lead three,100,RUB,u2,Авито,C1,2026-02-11 08:00:00,
    """,
    "activities": """
        activity_id,deal_id,owner_id,kind,direction,status,started_at,due_at,duration_s,amount
        a1,L1,u1,call,out,done,2026-02-08 20:59:00,,60,
        a2,L1,u1,call,out,done,2026-02-08 21:00:00,,120,
        a3,L2,u2,call,in,missed,2026-02-10 10:00:00,,0,
        a4,,u2,call,in,done,2026-02-11 10:00:00,,300,
        a5,L3,u2,call,out,done,2026-02-11 08:10:00,,180,
    """,
}


@pytest.fixture
def con(make_db):
    return make_db(WEEK)[0]


def week(table, name, monday):
    return table[(table["name"] == name) & (table["week"] == pd.Timestamp(monday))].iloc[0]


def test_week_boundaries_follow_the_account_time_zone(con):
    moscow = metrics.weekly_kpi(con, as_of=AS_OF, weeks=2, time_zone="Europe/Moscow")
    # a1 is Sunday 23:59 in Moscow (week of 02-02), a2 Monday 00:00 (week of 02-09)
    assert week(moscow, "—", "2026-02-02").calls_out == 1
    assert week(moscow, "—", "2026-02-09").calls_out == 2  # a2 and a5
    utc = metrics.weekly_kpi(con, as_of=AS_OF, weeks=2, time_zone="UTC")
    assert week(utc, "—", "2026-02-02").calls_out == 2  # in UTC both fall on Sunday 02-08


def test_calls_missed_no_deal_and_a_week_of_zeros(con):
    table = metrics.weekly_kpi(con, as_of=AS_OF, weeks=2, time_zone="Europe/Moscow")
    boris = week(table, "Борис", "2026-02-09")
    assert (boris.calls_in, boris.calls_missed, boris.calls_out) == (1, 1, 1)  # a4 has no deal, still a call
    assert boris.missed_share == 0.5 and boris.call_minutes == 8.0  # (300 + 180) s
    assert boris.leads == 2 and boris.crm_events == 3
    quiet = week(table, "Тихий", "2026-02-09")  # no activity at all: a row of zeros, not a missing row
    assert quiet.crm_events == 0 and quiet.calls_out == 0 and quiet.leads == 0
    team = week(table, "—", "2026-02-09")
    assert (team.leads, team.new_clients, team.client_base) == (2, 1, 2)  # L3's client C1 came with L1


def test_response_time_censors_the_unanswered_lead(con):
    # the leads of the weeks the weekly table shows, cut in the account's zone, and of the running
    # week's days before as_of: in Moscow as_of is Monday 00:00, the weeks 02-02 and 02-09 (L1, L2,
    # L3), no running week; in UTC as_of is still Sunday: the full weeks 01-26 and 02-02 hold L1, and
    # the running week from 02-09 holds L2 and L3 — all three, where only L1 was counted before
    utc = metrics.response_time(con, as_of=AS_OF, weeks=2, time_zone="UTC").set_index("name")
    assert utc.loc["—", "n"] == 3
    table = metrics.response_time(con, as_of=AS_OF, weeks=2, time_zone="Europe/Moscow").set_index("name")
    team = table.loc["—"]
    assert (team.n, team.n_answered, team.n_never) == (3, 2, 1)
    # KM: 10 min (S = 2/3), 3,539 min (S = 1/3), 7,920 censored -> median 3,539
    assert team.median_minutes == pytest.approx(3539)
    assert team.within_15m == pytest.approx(1 / 3) and team.within_1d == pytest.approx(1 / 3)


def test_missed_calls_share_with_interval(con):
    table = metrics.missed_calls(con, as_of=AS_OF, weeks=2, time_zone="Europe/Moscow")
    team = table[table["level"] == "team"].iloc[0]
    assert (team.n, team.missed, team.missed_share) == (2, 1, 0.5)
    assert (team.missed_share_low, team.missed_share_high) == pytest.approx((0.0945, 0.9055), abs=1e-4)


def test_a_missed_call_counts_as_inbound_whatever_its_direction(make_db):
    """WEEK's inbound calls (a3 missed, a4 answered) and a missed call that says no direction (a6,
    Анна, Thursday 12 February): 3 inbound, 2 missed; Анна 1 of 1; all three came at 13:00 Moscow
    (10:00 UTC): that hour 3 calls, 2 missed."""
    extra = """
        a6,,u1,call,,missed,2026-02-12 10:00:00,,0,
    """
    con, _ = make_db({**WEEK, "activities": WEEK["activities"].rstrip() + extra})
    table = metrics.missed_calls(con, as_of=AS_OF, weeks=2, time_zone="Europe/Moscow").set_index(
        ["level", "name"]
    )
    assert tuple(table.loc[("team", "—"), ["n", "missed"]]) == (3, 2)
    assert tuple(table.loc[("owner", "Анна"), ["n", "missed"]]) == (1, 1)
    assert tuple(table.loc[("hour", 13), ["n", "missed"]]) == (3, 2)


def test_a_count_against_its_baseline_is_a_poisson_gamma_predictive():
    """The negative binomial of count_against_baseline is the Poisson whose rate is gamma around the
    baseline mean with variance (φ·(1 + 1/B) − 1)·μ: integrated here by quadrature, independently."""
    from scipy import integrate
    from scipy.stats import gamma, poisson

    for now, mean, phi in ((3, 10.0, 1.0), (19, 58.4, 3.0), (30, 100.0, 5.0)):
        extra = phi * (1 + 1 / 8) - 1  # the rate's variance over its mean
        shape = mean / extra
        expected, _ = integrate.quad(
            lambda rate, y=now, k=shape, s=extra: poisson.cdf(y, rate) * gamma.pdf(rate, k, scale=s),
            0, mean * 20, limit=200,
        )  # fmt: skip
        got = stats.count_against_baseline(now, mean, 8, phi, tail="lower")
        assert got == pytest.approx(expected, rel=1e-6)
    # the same fall of 70% with Poisson noise: 10 -> 3 could be chance after testing ten managers
    # (p ≈ 0.014), 100 -> 30 cannot (p ≈ 3e-15); with the swings a real account has (φ = 5) the
    # 70% fall is still rare (p ≈ 5e-5), but a 30% one (100 -> 70) is ordinary (p ≈ 0.1)
    assert 0.01 < stats.count_against_baseline(3, 10, 8, 1.0, tail="lower") < 0.02
    assert stats.count_against_baseline(30, 100, 8, 1.0, tail="lower") < 1e-12
    assert 1e-5 < stats.count_against_baseline(30, 100, 8, 5.0, tail="lower") < 1e-4
    assert 0.05 < stats.count_against_baseline(70, 100, 8, 5.0, tail="lower") < 0.2
    assert list(stats.count_against_baseline([np.nan, 5.0], [3.0, np.nan], 8, 1.0)) == [1.0, 1.0]


def test_dispersion_and_false_discoveries_by_hand():
    # two managers' baselines: means 12 and 4; Pearson χ² = (4 + 4)/12 + (4 + 4)/4 = 8/3 on 2 df
    assert stats.pooled_dispersion([[10, 14], [6, 2]]) == pytest.approx(4 / 3)
    assert stats.pooled_dispersion([[10, 10], [4, 4]]) == 1.0  # quieter than Poisson: floored
    # Benjamini–Hochberg at 5%: sorted 0.01 ≤ 1/4·5%; 0.03 > 2/4·5%, 0.04 > 3/4·5%: one discovery;
    # q = 0.01·4 = 0.04, min(0.03·4/2, 0.04·4/3) = 0.0533 for both, 0.5
    found, q = stats.false_discovery([0.01, 0.04, 0.03, 0.5, np.nan], 0.05)
    assert list(found) == [True, False, False, False, False]
    assert q[:4] == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.5]) and np.isnan(q[4])


def test_a_managers_count_is_expected_at_their_share_of_the_teams_week():
    """The whole team doubles in week 9 (a season, a campaign): A keeps its quarter, so nothing is
    A's own change; the team's own count doubled from its 8-week mean of 40."""
    from crmkit.metrics.weekly import BASELINE, COUNTS, _changes

    mondays = pd.date_range("2026-01-05", periods=BASELINE + 1, freq="7D")
    rows = [{"week": w, "owner": name, **dict.fromkeys(COUNTS, float(count * (2 if i == BASELINE else 1)))}
            for i, w in enumerate(mondays) for name, count in (("A", 10), ("B", 30))]  # fmt: skip
    owners = _changes(pd.DataFrame(rows), "owner")
    last_a = owners[(owners["owner"] == "A") & (owners["week"] == mondays[-1])].iloc[0]
    assert last_a["activities_base"] == pytest.approx(20.0)  # 80 this week × 80/320 of the baseline
    assert last_a["activities_change"] == pytest.approx(0.0) and last_a["activities_p"] == 1.0
    assert owners[owners["week"] < mondays[-1]]["activities_p"].isna().all()  # no full baseline yet
    team = pd.DataFrame(rows).groupby("week", as_index=False)[list(COUNTS)].sum()
    last = _changes(team, None).iloc[-1]
    assert (last["activities_base"], last["activities_change"]) == (40.0, 1.0) and last["activities_p"] < 1e-6


def test_sample_activity_drop_is_flagged_and_nothing_else_falls(sample_db):
    from crmkit import sample
    from crmkit.db import connect

    con = connect(sample_db, read_only=True)
    flags = metrics.activity_flags(con, as_of="2026-11-01").set_index("name")
    assert flags.loc[sample.PLANTED["activity_drop_manager"], "is_fall"]
    assert flags["is_fall"].sum() == 1
    assert flags.loc[sample.PLANTED["activity_drop_manager"], "change"] < -0.5


def test_the_pipeline_filter_reaches_activities(con):
    """Activities count for a pipeline through their deal (activities_in_scope). «Other» (Q) has no
    deal in this fixture: no lead, no call, no CRM event. «Main» (P) holds L1–L3: a4, a call about
    no deal, belongs to no pipeline and drops out — the week of 02-09 keeps a2 and a5 (out), a3
    (missed) and loses a4 (in)."""
    other = metrics.weekly_kpi(con, as_of=AS_OF, weeks=2, time_zone="Europe/Moscow", pipeline="Other")
    team = other[other["name"] == "—"]
    assert team[["leads", "calls_in", "calls_out", "calls_missed", "crm_events"]].to_numpy().sum() == 0
    main = metrics.weekly_kpi(con, as_of=AS_OF, weeks=2, time_zone="Europe/Moscow", pipeline="Main")
    assert (week(main, "—", "2026-02-09").calls_out, week(main, "—", "2026-02-09").calls_in) == (2, 0)
    everything = metrics.weekly_kpi(con, as_of=AS_OF, weeks=2, time_zone="Europe/Moscow")
    assert week(everything, "—", "2026-02-09").calls_in == 1  # a4 without a filter
    card = metrics.manager_scorecard(con, as_of=AS_OF, period_start="2026-02-01", pipeline="Other")
    assert card["calls"].fillna(0).sum() == 0


# Four UTC weeks before Monday 2 March 2026 (02-02, 02-09, 02-16, 02-23), leads and closes chosen
# for each diagnosis; x1–x4 were created in January and close in the weeks shown.
BALANCE = {
    "pipelines": SCENARIOS["pipelines"],
    "stages": SCENARIOS["stages"],
    "users": WEEK["users"],
    "deals": """
        deal_id,pipeline_id,stage_id,title,amount,currency,owner_id,source,client,created_at,closed_at
        b1,P,A,lead,100,RUB,u1,Сайт,C1,2026-02-10 09:00:00,
        b2,P,A,lead,100,RUB,u1,Сайт,C2,2026-02-10 10:00:00,
        b3,P,A,lead,100,RUB,u2,Сайт,C3,2026-02-11 09:00:00,
        b4,P,A,lead,100,RUB,u1,Сайт,C4,2026-02-17 09:00:00,
        b5,P,A,lead,100,RUB,u2,Сайт,C5,2026-02-18 09:00:00,
        b6,P,A,lead,100,RUB,u2,Сайт,C6,2026-02-24 09:00:00,
        x1,P,W,won,500,RUB,u1,Сайт,C7,2026-01-10 09:00:00,2026-02-11 12:00:00
        x2,P,L,lost,500,RUB,u1,Сайт,C8,2026-01-10 09:00:00,2026-02-18 12:00:00
        x3,P,W,won,500,RUB,u2,Сайт,C9,2026-01-10 09:00:00,2026-02-25 12:00:00
        x4,P,L,lost,500,RUB,u2,Сайт,C10,2026-01-10 09:00:00,2026-02-26 12:00:00
    """,
    # the last week, Анна: Tuesday a call (150 s) and a missed call, a task due Wednesday; Thursday
    # a proposal of 700; Friday a task due Monday 2 March, the next working day after Friday
    "activities": """
        activity_id,deal_id,owner_id,kind,direction,status,started_at,due_at,duration_s,amount
        c1,b1,u1,call,out,done,2026-02-24 10:00:00,,150,
        c2,b1,u1,call,in,missed,2026-02-24 11:00:00,,0,
        t1,b1,u1,task,,planned,2026-02-24 12:00:00,2026-02-25 09:00:00,,
        p1,b2,u1,proposal,out,done,2026-02-26 15:00:00,,,700
        t2,b2,u1,task,,planned,2026-02-27 12:00:00,2026-03-02 09:00:00,,
    """,
}
MONDAY = "2026-03-02 00:00:00"


def test_lead_balance_names_a_clog_only_when_it_lasts(make_db):
    """leads / (refusals + sales) by week, tolerance 0.2, two weeks for a diagnosis:
    02-02 nothing at all -> no flow; 02-09 3 leads (b1–b3) / 1 sale (x1) = 3 -> clog, 1st week;
    02-16 2 leads (b4, b5) / 1 refusal (x2) = 2 -> clog, 2nd week: diagnosis clog;
    02-23 1 lead (b6) / 2 closes (x3, x4) = 0.5 -> shortage, 1st week: no diagnosis yet."""
    con, _ = make_db(BALANCE)
    table = metrics.lead_balance(con, as_of=MONDAY, weeks=4, time_zone="UTC").set_index("week")
    assert table["state"].tolist() == ["no_flow", "clog", "clog", "shortage"]
    assert table["lead_balance"].tolist()[1:] == [3.0, 2.0, 0.5] and np.isnan(table["lead_balance"].iloc[0])
    assert table["weeks_in_state"].tolist() == [1, 1, 2, 1]
    assert table["diagnosis"].tolist() == ["", "", "clog", ""]
    # the clog's two weeks together: 3 + 2 = 5 leads against 1 + 1 = 2 closes, 2.5 — what the
    # advice quotes for "2 weeks", not the last week's 2.0
    clog = table.iloc[2]
    assert (clog["state_leads"], clog["state_closes"], clog["state_balance"]) == (5, 2, 2.5)
    options = {"as_of": MONDAY, "time_zone": "UTC"}
    missed = metrics.missed_calls(con, **options, weeks=4)
    response = metrics.response_time(con, **options, weeks=4)
    no_flags = pd.DataFrame(columns=["is_fall", "is_low"])
    advice = findings.weekly_advice(table.iloc[:3].reset_index(), no_flags, missed, response, "en")
    assert "over the last 2\xa0weeks, 5 leads came in and 2 deals closed" in advice[0].text
    assert "= 2.50" in advice[0].text
    # a week of leads and no close is a clog, though its ratio is undefined: 02-16 without x2
    con2, _ = make_db(
        {**BALANCE, "deals": BALANCE["deals"].replace("2026-02-18 12:00:00", "")}, name="b2.duckdb"
    )
    week = metrics.lead_balance(con2, as_of=MONDAY, weeks=4, time_zone="UTC").set_index("week")
    assert week.loc[pd.Timestamp("2026-02-16"), "state"] == "clog"


def test_manager_daily_counts_each_day_of_the_last_week(make_db):
    """Анна's last week (02-23 … 03-01): Tuesday 1 call of 2.5 minutes, 1 missed, the task due
    Wednesday counted as due the next working day; Thursday a proposal of 700; Friday the task due
    Monday 2 March (the next working day after Friday, and after Saturday and Sunday too). Every
    other day is zeros."""
    con, _ = make_db(BALANCE)
    table = metrics.manager_daily(con, as_of=MONDAY, time_zone="UTC")
    anna = table[table["name"] == "Анна"].set_index("day")
    assert list(anna.index) == list(pd.date_range("2026-02-23", periods=7))
    tuesday, thursday, friday = (
        anna.loc[pd.Timestamp(d)] for d in ("2026-02-24", "2026-02-26", "2026-02-27")
    )
    assert (tuesday.calls, tuesday.call_minutes, tuesday.calls_missed, tuesday.due_next_day) == (1, 2.5, 1, 1)
    assert (thursday.proposals, thursday.proposals_amount, thursday.calls) == (1, 700.0, 0)
    assert friday.due_next_day == 1
    weekend = anna.loc[[pd.Timestamp("2026-02-28"), pd.Timestamp("2026-03-01")]]
    assert list(weekend["due_next_day"]) == [1, 1] and (weekend[["calls", "proposals"]] == 0).all().all()
    others = anna.drop(
        [pd.Timestamp(d) for d in ("2026-02-24", "2026-02-26", "2026-02-27")] + list(weekend.index)
    )
    assert (others[["calls", "calls_missed", "proposals", "due_next_day"]] == 0).all().all()


def test_weekly_counts_an_activity_without_status_and_a_meeting_due_next_day(make_db):
    """Анна's week of 02-23 in BALANCE, plus a note without a status (n1, Wednesday) and a meeting
    planned for Monday 2 March (m1), the next working day after that week. CRM activities: c1, c2,
    p1 and n1 (a missing status is not "planned") = 4, not t1/t2 (planned). Due the next working
    day: the task t2 (due Monday) and the meeting m1 = 2."""
    extra = """
        n1,b1,u1,note,,,2026-02-25 10:00:00,,,
        m1,b2,u1,meeting,out,planned,2026-03-02 10:00:00,2026-03-02 11:00:00,,
    """
    con, _ = make_db({**BALANCE, "activities": BALANCE["activities"].rstrip() + extra})
    table = metrics.weekly_kpi(con, as_of=MONDAY, weeks=4, time_zone="UTC")
    anna = week(table, "Анна", "2026-02-23")
    assert (anna.activities, anna.due_next_day, anna.calls_out, anna.calls_missed) == (4, 2, 1, 1)
    assert week(table, "—", "2026-02-23").due_next_day == 2


def test_what_is_due_after_a_long_holiday_counts_for_both_weeks_before_it(make_db):
    """Moscow, Russia's New Year holidays of 2026 (1–11 January off): the next working day after
    the week of 29 December and after the week of 5 January is the same Monday, 12 January. A
    task due then is due the next working day for both weeks; the week of 12 January looks at
    the 19th, when nothing is due."""
    tasks = """
        activity_id,deal_id,owner_id,kind,direction,status,started_at,due_at,duration_s,amount
        t9,b1,u1,task,,planned,2026-01-02 09:00:00,2026-01-12 09:00:00,,
    """
    con, _ = make_db({**BALANCE, "activities": tasks})
    table = metrics.weekly_kpi(con, as_of="2026-01-18 21:00:00", weeks=3, time_zone="Europe/Moscow")
    due = [week(table, "Анна", monday).due_next_day for monday in ("2025-12-29", "2026-01-05", "2026-01-12")]
    assert due == [1, 1, 0]


def test_manager_daily_of_a_week_without_activities_is_empty(make_db):
    con, _ = make_db(BALANCE)
    table = metrics.manager_daily(con, as_of="2024-01-01", time_zone="UTC")
    assert table.empty and {"name", "day", "calls", "due_next_day"} <= set(table.columns)


def test_the_running_week_is_counted_up_to_as_of_and_shown_apart(make_db):
    """As of Friday 27 February 00:00 the last full week is 02-16; 23–26 February are in no full
    week. The running week counts them: lead b6 (24th), sale x3 (25th), refusal x4 (26th), Анна's
    missed call c2 (24th) and proposal p1 (26th); t2, created on the 27th at noon, is after as_of."""
    from crmkit import report

    con, _ = make_db(BALANCE)
    friday = "2026-02-27 00:00:00"
    shown = metrics.weekly_kpi(con, as_of=friday, weeks=2, time_zone="UTC")
    assert shown["week"].max() == pd.Timestamp("2026-02-16")
    running = metrics.partial_week(con, as_of=friday, time_zone="UTC")
    team = running[running["level"] == "team"].iloc[0]
    assert team["week"] == pd.Timestamp("2026-02-23") and team["week_end"] == pd.Timestamp(friday)
    assert (team["leads"], team["sales"], team["refusals"]) == (1, 1, 1)
    assert (team["calls_missed"], team["proposals"]) == (1, 1)
    # the missed calls of the weekly report take those days too
    missed = metrics.missed_calls(con, as_of=friday, weeks=2, time_zone="UTC")
    # (c2 is the account's only inbound call: before, the weeks shown had none)
    assert missed.loc[missed["level"] == "team", ["n", "missed"]].iloc[0].tolist() == [1, 1]
    # a Monday's start leaves no running week
    assert metrics.partial_week(con, as_of=MONDAY, time_zone="UTC").empty
    # the team table shows it last, marked, and without a change beneath
    kpi = metrics.weekly_kpi(con, as_of=friday, weeks=2, time_zone="UTC")
    page = report.kpi_weeks(kpi, {"leads": "int"}, "ru", partial=running).data
    assert "23.02–26.02, неполная" in page
    last_cell = page.split("<tr>")[-1]
    assert "chg" not in last_cell.split("</td>")[-2]
