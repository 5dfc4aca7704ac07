"""METRICS.md §3 on the hand-built scenarios (tests/fixtures/scenarios.py), as_of 2026-03-01,
window from 2025-12-01; statistical helpers against published references."""

import numpy as np
import pytest

from crmkit import metrics, stats
from tests.fixtures.scenarios import AS_OF, PERIOD_START, SCENARIOS

W = {"as_of": AS_OF, "period_start": PERIOD_START}


@pytest.fixture
def con(make_db):
    return make_db(SCENARIOS)[0]


def cell(table, name, stage):
    return table[(table["name"] == name) & (table["stage"] == stage)].iloc[0]


def test_cohort_funnel_counts_skips_as_passing(con):
    table = metrics.stage_conversion(con, **W)
    # cohort with history in Main: d1 (won, reached C), d2 (lost at C after C→B), d3 (open at B),
    # d4 (won, skipped B), d5 (won from A), d8 (open at A), d9 (left for pipeline Q at A), d10 (lost at A)
    a = cell(table, "—", "Первичный контакт")
    assert (a.reached, a.advanced, a.lost, a.still_here, a.moved) == (8, 5, 1, 1, 1)
    assert a.conversion == pytest.approx(5 / 6)
    assert (a.conversion_low, a.conversion_high) == pytest.approx((0.4365, 0.9699), abs=1e-4)  # Wilson 5/6
    b = cell(table, "—", "Переговоры")  # d1 d2 d3 reached it, d4 and d5 passed it by skipping
    assert (b.reached, b.advanced, b.lost, b.still_here) == (5, 4, 0, 1) and b.conversion == 1.0
    c = cell(table, "—", "Коммерческое предложение")
    assert (c.reached, c.advanced, c.lost) == (4, 3, 1) and c.conversion == 0.75
    assert cell(table, "—", "Новый запрос").advanced == 1  # d9 won in Q
    anna = cell(table, "Анна", "Первичный контакт")  # d1 d2 d3 advanced, d9 moved
    assert (anna.reached, anna.advanced, anna.moved, anna.conversion) == (4, 3, 1, 1.0)
    one_deal = cell(table, 'Иван "Ваня" <b>', "Первичный контакт")  # a manager with one deal
    assert (one_deal.n, one_deal.conversion) == (1, 0.0)
    assert one_deal.conversion_high == pytest.approx(0.7935, abs=1e-4)  # Wilson 0/1
    # every owner gets every open stage: Борис never had a deal in pipeline Other, a row of zeros
    none = cell(table, "Борис", "Новый запрос")
    assert (none.reached, none.advanced, none.lost, none.still_here, none.moved, none.n) == (0, 0, 0, 0, 0, 0)
    assert np.isnan(none.conversion)


def test_period_view_counts_visits_that_ended(con):
    table = metrics.stage_conversion(con, **W, view="period")
    a = cell(table, "—", "Первичный контакт")  # same visits ended in the window as the cohort's
    assert (a.advanced, a.lost, a.still_here, a.moved) == (5, 1, 1, 1)
    b = cell(table, "—", "Переговоры")  # d1 advanced, d2 advanced then (re-entry) lost, d3 still
    assert (b.advanced, b.lost, b.still_here) == (2, 1, 1)
    c = cell(table, "—", "Коммерческое предложение")  # d1 and d4 went on to won, d2 went back to B
    assert (c.reached, c.advanced, c.regressed, c.lost, c.conversion) == (3, 2, 1, 0, 1.0)


def test_win_rates_and_scorecard(con):
    rates = metrics.win_rates(con, **W).set_index("name")
    # closed in the window: won d1 100, d4 400, d5 500, d6 0, d7 700, d9 900; lost d2 200, d10 50
    assert (rates.loc["—", "n_won"], rates.loc["—", "n_lost"]) == (6, 2)
    assert rates.loc["—", "win_rate"] == 0.75
    assert rates.loc["—", "win_rate_amount"] == pytest.approx(2600 / 2850)
    assert rates.loc["Борис", "win_rate"] == 1.0 and rates.loc["Анна", "win_rate"] == 0.75
    card = metrics.manager_scorecard(con, **W).set_index("name")
    team = card.loc["—"]
    assert (team.deals_in_work, team.open_pipeline) == (2, 1100)  # d3 300, d8 800
    assert team.avg_check == pytest.approx(2600 / 6) and team.median_check == 450.0  # (400 + 500) / 2
    # all ten were created in the window; six are won (d7 too: its close date is wrong, not its status)
    assert (team.new_leads, team.lead_to_won) == (10, pytest.approx(6 / 10))
    assert np.isnan(team.calls_per_meeting) and np.isnan(team.plan_revenue)  # no activities, no plans


def test_plan_fulfilment_and_pace():
    import pandas as pd

    targets = pd.DataFrame(
        {
            "owner": [None],
            "metric": ["revenue"],
            "period_start": [pd.Timestamp("2026-10-01")],
            "period_end": [pd.Timestamp("2026-10-31")],
            "target": [2300.0],
        }
    )
    span = metrics.window("2026-10-16", "2026-10-01")
    plan = metrics.funnels.plan_fulfilment(targets, None, 1000.0, 0, span, "UTC")
    # October 2026: 22 working days; 1–15 October holds 11 of them -> 1000 / 11 × 22 = 2000 of 2300
    assert plan["plan_revenue_done"] == pytest.approx(1000 / 2300)
    assert plan["plan_revenue_pace"] == pytest.approx(2000 / 2300)


def test_plan_pace_counts_the_countrys_public_holidays():
    """November 2026 has 21 weekdays; in Russia (Europe/Moscow) 4 November, Unity Day, is off: 20.
    By 16 November: 2–13 November is 10 weekdays, 9 working days in Moscow. Pace in Moscow: 1000 / 9
    × 20 = 2222.2; in UTC, a zone of no country, weekends only: 1000 / 10 × 21 = 2100."""
    import pandas as pd

    november = {"period_start": [pd.Timestamp("2026-11-01")], "period_end": [pd.Timestamp("2026-11-30")]}
    targets = pd.DataFrame({"owner": [None], "metric": ["revenue"], **november, "target": [3000.0]})
    span = metrics.window("2026-11-16", "2026-11-01")
    moscow = metrics.funnels.plan_fulfilment(targets, None, 1000.0, 0, span, "Europe/Moscow")
    utc = metrics.funnels.plan_fulfilment(targets, None, 1000.0, 0, span, "UTC")
    assert moscow["plan_revenue_pace"] == pytest.approx(1000 / 9 * 20 / 3000)
    assert utc["plan_revenue_pace"] == pytest.approx(1000 / 10 * 21 / 3000)


def test_the_next_working_day_skips_a_public_holiday():
    """Tuesday 3 November 2026: the next working day in Moscow is Thursday the 5th (Unity Day on
    the 4th), in UTC Wednesday the 4th; after Friday the 6th, Monday the 9th in both."""
    import pandas as pd

    from crmkit import workdays

    def after(day, zone):
        return workdays.next_working_day(pd.Timestamp(day), zone)

    assert after("2026-11-03", "Europe/Moscow") == pd.Timestamp("2026-11-05")
    assert after("2026-11-03", "UTC") == pd.Timestamp("2026-11-04")
    assert after("2026-11-06", "Europe/Moscow") == pd.Timestamp("2026-11-09")
    # after a day off: Saturday 7 and Sunday 8 November → Monday the 9th (not Tuesday the 10th);
    # Sunday 4 January 2026, in Russia's New Year holidays (1–8 January, the 8th a Thursday) →
    # Monday the 12th; in UTC, Monday the 5th
    assert after("2026-11-07", "UTC") == after("2026-11-08", "UTC") == pd.Timestamp("2026-11-09")
    assert after("2026-11-08", "Europe/Moscow") == pd.Timestamp("2026-11-09")
    assert after("2026-01-04", "Europe/Moscow") == pd.Timestamp("2026-01-12")
    assert after("2026-01-04", "UTC") == pd.Timestamp("2026-01-05")


def test_shrinkage_keeps_one_lucky_deal_off_the_top():
    successes, trials = np.array([1.0, 30, 35, 25]), np.array([1.0, 100, 100, 100])
    shrunk = stats.shrunk_rates(successes, trials)
    # pooled 91/301; moment estimate of the prior strength ≈ 438, capped at the median n = 100:
    # (1 + 100 × 91/301) / 101
    assert shrunk[0] == pytest.approx((1 + 100 * 91 / 301) / 101)
    assert shrunk.argmax() == 2  # 35/100 ranks first, not 1/1


def test_wilson_against_newcombe_1998():
    # Newcombe, Statistics in Medicine 17:857 (1998), Table I: 81/263 -> 0.2553 to 0.3662
    assert stats.wilson(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    # Newcombe's 0/10 -> 0 to 0.2775 and 10/10 -> 0.7225 to 1: those ends exactly (statsmodels gives
    # 1 - 1e-16, which a report wrote "> 99.9%")
    assert stats.wilson(0, 10)[0] == 0.0 and stats.wilson(10, 10)[1] == 1.0
    assert stats.wilson(10, 10)[0] == pytest.approx(0.7225, abs=1e-4)


def test_kaplan_meier_median_against_freireich_6mp():
    # Freireich et al. (1963), 6-MP arm (+ = censored): the textbook Kaplan–Meier median is 23 weeks
    weeks = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
    censored = {3, 5, 7, 8, 11, 12, 13, 16, 17, 18, 19, 20}  # positions of 6+, 9+, 10+, 11+, 17+ …
    closed = [i not in censored for i in range(len(weeks))]
    q = stats.survival_quantiles(weeks, closed)
    assert q.median == 23.0
    assert np.isnan(q.median_high)  # the curve never falls below 0.45: the upper bound is not reached


def test_nothing_won_is_a_known_zero_and_counts_in_the_plan_gap(con):
    """Иван «Ваня» closed one deal, d10, lost (50): he won 0, a known sum, not unknown. Behind plan:
    A planned 100 and won 40, B planned 50 and won nothing: 60 + 50 = 110 short in all (B fell out
    of the sum when his won amount was unknown)."""
    import pandas as pd

    from crmkit import findings

    rates = metrics.win_rates(con, **W).set_index("name")
    ivan = rates.loc['Иван "Ваня" <b>']
    assert (ivan.n_won, ivan.won_amount, ivan.lost_amount) == (0, 0.0, 50.0)
    card = pd.DataFrame({"level": ["team", "owner", "owner"], "name": ["—", "A", "B"],
                         "plan_revenue_pace": [0.5, 0.4, 0.0], "plan_revenue": [150.0, 100.0, 50.0],
                         "won_amount": [40.0, 40.0, 0.0]})  # fmt: skip
    (finding,) = findings.behind_plan(card, "RUB")
    assert finding.impact == 110.0 and "110" in finding.text and finding.text.startswith("On course for")
    # a plan month that is over (done = pace) has a result, said as one
    (over,) = findings.behind_plan(card.assign(plan_revenue_done=card["plan_revenue_pace"]), "RUB", "ru")
    assert over.text.startswith("Выполнили меньше 80 % плана")


def test_a_manager_who_worked_without_winning_is_an_active_manager(con):
    """January 2026: Анна won d1, d6, d9 and lost d2; Борис won d4, d5, d7; Иван «Ваня» only lost
    d10 — he worked that month too: 3 active managers, not the 2 with a win (revenue per manager
    is then the month's revenue over 3)."""
    from crmkit.db import query
    from crmkit.metrics.core import window

    monthly = query(con, "metrics/monthly_sales", **window(AS_OF, "1900-01-01").params())
    january = monthly[monthly["month"] == "2026-01-01"].iloc[0]
    assert (january.n_won, january.n_lost, january.active_managers) == (6, 2, 3)


def test_the_trust_verdict_keeps_its_own_rule_for_win_rates(make_db):
    """Win rates rest on recorded losses. As of 1 March: the 8 CRM deals closed in January (d1 d2 d4
    d5 d6 d7 d9 d10) closed in a month that records losses (d2, d10); d11, won in February, closed
    in a month of wins only. 8 of 9 = 88.9%: "usable" (60% to 90%), as the rule says — it read
    "good" at any share once a single loss existed."""
    won_in_february = "d11,P,W,february win,10,RUB,u1,Сайт,2026-02-02 00:00:00,2026-02-20 00:00:00,"
    deals = SCENARIOS["deals"].rstrip() + f"\n        {won_in_february}\n"
    con, _ = make_db({**SCENARIOS, "deals": deals})
    trust = metrics.data_trust(con, as_of=AS_OF).set_index("family").loc["win_rates"]
    assert (trust.supported, trust.basis, trust.verdict) == (8, 9, "usable")
    assert trust.share == pytest.approx(8 / 9)
