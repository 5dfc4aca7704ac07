"""Findings say something: no ratio against a near-zero yardstick, no "100% against the team's
100%", and the data's latest-event stamp is not a planned future activity.
Tables are built by hand in the shape the metrics return."""

import numpy as np
import pandas as pd

from crmkit import findings, stats
from crmkit.db import query


def test_no_ratio_against_a_stay_of_minutes():
    # The team's median stay is 0.002 days (3 minutes, saves at one instant): a manager's 1.4 days
    # would read "688.5× as long"; it is not a finding. The same manager against a 2-day team
    # median at 3.5 days (1.75×, interval above) is one.
    row = {"owner": "Ann", "stage": "Qualification", "n": 8, "median_days": 1.377, "median_days_low": 1.1,
           "median_days_high": 2.0, "team_median_days": 0.002, "ratio_to_team": 688.5,
           "wip_amount": 1000.0}  # fmt: skip
    assert findings.slow_stage_owners(pd.DataFrame([row])) == []
    real = {**row, "median_days": 3.5, "median_days_low": 2.5, "median_days_high": 4.0,
            "team_median_days": 2.0, "ratio_to_team": 1.75}  # fmt: skip
    [found] = findings.slow_stage_owners(pd.DataFrame([real]))
    assert "1.8× as long as the team's" in found.text


def test_slow_owner_needs_a_team_cycle_of_a_day():
    table = pd.DataFrame([
        {"level": "team", "name": "—", "n": 40, "median_days": 0.01, "median_days_low": 0.0,
         "median_days_high": 0.02, "won_amount": 1e5},
        {"level": "owner", "name": "Ann", "n": 10, "median_days": 2.0, "median_days_low": 1.5,
         "median_days_high": 3.0, "won_amount": 5e4},
    ])  # fmt: skip
    assert findings.slow_owners(table) == []


def conversion(team_rate, owner_rate, low, high, n=20, lost=1):
    return pd.DataFrame([
        {"level": "team", "name": "—", "pipeline": "P", "stage": "A", "conversion": team_rate,
         "conversion_low": np.nan, "conversion_high": np.nan, "n": 200, "lost": 2},
        {"level": "owner", "name": "Ann", "pipeline": "P", "stage": "A", "conversion": owner_rate,
         "conversion_low": low, "conversion_high": high, "n": n, "lost": lost},
    ])  # fmt: skip


def test_weak_conversion_must_differ_by_more_than_rounding():
    # 99.0% (interval up to 99.6%) against the team's 99.7%: below, but both print as "100%"
    assert findings.weak_conversions(conversion(0.997, 0.990, 0.98, 0.996), 1000.0, "USD") == []
    # 60% (interval 38%–78%) against 90%: a finding
    [found] = findings.weak_conversions(conversion(0.90, 0.60, 0.38, 0.78, lost=8), 1000.0, "USD")
    assert "at 60% (95% CI 38%–78%, n=20) against the team's 90%" in found.text


def _card(team_rate, owners):
    """A scorecard: the team's win rate, then (name, won, closed) per manager."""
    rows = [{"level": "team", "name": "—", "win_rate": team_rate, "n": 0, "n_won": 0}]
    for name, won, n in owners:
        low, high = stats.wilson(won, n)
        rows.append({"level": "owner", "name": name, "win_rate": won / n, "win_rate_low": low,
                     "win_rate_high": high, "n": n, "n_won": won})  # fmt: skip
    return pd.DataFrame(rows)


NO_CYCLES = pd.DataFrame({"level": ["team"], "name": ["—"], "median_days": [np.nan], "n": [0]})


def test_the_manager_to_learn_from_only_beyond_chance():
    """Team 30%. Ann wins 60 of 100: binomial p ≈ 1e-9, a discovery among three managers; Bob 33
    of 100 (p ≈ 0.5) and Cy 28 of 100 (p ≈ 0.7) are the team's. With Ann at 38 of 100 (p ≈ 0.09,
    a gap of 8 points): no clear leader — a rate above the team's by chance is not a practice."""
    others = [("Bob", 33, 100), ("Cy", 28, 100)]
    (found,) = findings.managers_to_learn_from(_card(0.30, [("Ann", 60, 100), *others]), NO_CYCLES)
    assert found.text.startswith("To learn from: Ann wins 60% of closed deals (95% CI 50%–69%, n=100)")
    (found,) = findings.managers_to_learn_from(_card(0.30, [("Ann", 38, 100), *others]), NO_CYCLES)
    assert found.text.startswith("No clear leader in win rate")


def test_the_fastest_manager_only_when_clearly_faster():
    """Team median 30 days. Ann 20 days (interval 15–24, all below 30, 33% faster): to learn from.
    Bob 22 days but an interval up to 31: could be the team's pace."""
    cycles = pd.DataFrame({
        "level": ["team", "owner", "owner"], "name": ["—", "Ann", "Bob"], "median_days": [30.0, 20.0, 22.0],
        "median_days_low": [28.0, 15.0, 18.0], "median_days_high": [32.0, 24.0, 31.0], "n": [100, 40, 40],
    })  # fmt: skip
    card = _card(0.30, [("Ann", 30, 100), ("Bob", 30, 100)])
    texts = [f.text for f in findings.managers_to_learn_from(card, cycles)]
    assert texts[0].startswith("No clear leader in win rate")
    assert texts[1].startswith("To learn from: Ann closes won deals in 20")
    assert "against the team's 30" in texts[1]
    cycles.loc[1, "median_days_high"] = 31.0
    texts = [f.text for f in findings.managers_to_learn_from(card, cycles)]
    assert texts[1].startswith("No clear leader in speed: no manager closes won deals 20% or more faster")


def test_latest_event_is_not_a_planned_activity(make_db):
    from tests.fixtures.scenarios import SCENARIOS

    # A meeting planned for June (the export was made before it; the load is later) has not
    # happened: the latest activity is the call of 1 February.
    activities = """
        activity_id,deal_id,owner_id,kind,direction,status,started_at,due_at
        call1,d1,u1,call,out,done,2026-02-01 10:00:00,
        meet1,d1,u1,meeting,,planned,2026-06-01 10:00:00,2026-06-01 10:00:00
    """
    con, _ = make_db({**SCENARIOS, "activities": activities})
    fresh = query(con, "metrics/data_freshness").set_index("table_name")
    assert fresh.loc["activities", "latest_at"] == pd.Timestamp("2026-02-01 10:00:00")


def test_deals_without_amounts_are_worth_an_unknown_sum(make_db):
    """A data set without amounts: money is "unknown", never 0 ("1542 open deals (0 USD)")."""
    from crmkit import metrics
    from tests.fixtures.scenarios import AS_OF, PERIOD_START, SCENARIOS

    lines = SCENARIOS["deals"].strip("\n").splitlines()
    header = lines[0].split(",")
    at = header.index("amount")
    blanked = [lines[0]] + [
        ",".join(v if i != at else "" for i, v in enumerate(line.split(","))) for line in lines[1:]
    ]
    con, _ = make_db({**SCENARIOS, "deals": "\n".join(blanked) + "\n"})
    window = {"as_of": AS_OF, "period_start": PERIOD_START}
    team = metrics.won_cycle(con, **window).query("level == 'team'").iloc[0]
    assert team["n"] > 0 and np.isnan(team["won_amount"])
    stale = metrics.stale_deals(con, **window, threshold_days=0)
    assert len(stale) > 0
    [found] = findings.stale(stale)
    assert f"{len(stale)} open deals (amount unknown)" in found.text
    wip = metrics.stage_durations(con, **window)
    assert wip.loc[wip["wip_now"] > 0, "wip_amount"].isna().all()


def test_a_finding_is_data_as_well_as_a_sentence():
    """report.findings shows the sentence and carries rank, rule, impact and the quoted figures
    (numpy numbers as plain numbers, a non-finite one as null) for the bundle to read."""
    import numpy as np

    from crmkit.findings import Finding, say
    from crmkit.report import FINDINGS_MIME, findings

    stale = Finding(
        1500.0,
        say(
            "finding_stale",
            "en",
            n=np.int64(3),
            amount="1 500 RUB",
            threshold=np.float64(30.0),
            top_owner="Анна",
            top_n=2,
            top_amount="1 000 RUB",
        ),  # fmt: skip
    )
    block = findings([stale, Finding(np.float64(np.nan), "a plain sentence")], "en")
    bundle = block._repr_mimebundle_()
    assert "<ol" in bundle["text/html"] and str(stale.text) in bundle["text/html"]
    first, second = bundle[FINDINGS_MIME]
    assert first["rank"] == 1 and first["rule"] == "finding_stale" and first["impact"] == 1500.0
    assert first["evidence"]["n"] == 3 and first["evidence"]["threshold"] == 30.0
    assert first["text"] == str(stale.text)
    assert second == {"rank": 2, "rule": "", "impact": None, "money": False, "text": "a plain sentence",
                      "evidence": {}}  # fmt: skip


def test_an_interval_that_spans_zero_is_called_inconclusive():
    """Revenue +17% (95% CI −5% to +45%) is no result: the finding says inconclusive; +17% (+3% to
    +31%) is one. The same for ROI: −275% to +1,144% spans zero."""
    import pandas as pd

    from crmkit.findings import adoption

    def effects(low, high):
        return pd.DataFrame([{"metric": "revenue", "segmented": 0.17, "segmented_low": low,
                              "segmented_high": high, "naive": 0.14}])  # fmt: skip

    def roi(low, high):
        return pd.DataFrame([{"roi": 5.08, "roi_low": low, "roi_high": high, "incremental_gross_profit": 1e6,
                              "total_cost": 1.6e5, "currency": "RUB", "payback_month": 4.0,
                              "share_paid_back": 0.8}])  # fmt: skip

    goals = pd.DataFrame(columns=["goal", "attainment"])
    wide = [f.text for f in adoption(effects(-0.05, 0.45), roi(-2.75, 11.44), goals)]
    assert "spans zero: inconclusive" in wide[0] and "ROI to date is inconclusive" in wide[1]
    assert [f.rule for f in adoption(effects(-0.05, 0.45), roi(-2.75, 11.44), goals)][:2] == [
        "finding_adoption_effect_inconclusive", "finding_roi_inconclusive"]  # fmt: skip
    narrow = [f.text for f in adoption(effects(0.03, 0.31), roi(0.5, 9.0), goals)]
    assert "inconclusive" not in " ".join(narrow) and "(95% CI +3% to +31%)" in narrow[0]
    russian = adoption(effects(-0.05, 0.45), roi(-2.75, 11.44), goals, "ru")
    assert "результат не определён" in russian[0].text and "ROI на сегодня не определён" in russian[1].text


def test_a_p_value_is_written_as_the_language_writes_a_decimal():
    """The advice on a manager's CRM events quotes its p-value: «p < 0,001» in a Russian report
    (it read "p < 0.001" there), 0.0234 to three places: 0.023 / 0,023."""
    from crmkit.findings import _p

    assert (_p(0.0004, "en"), _p(0.0004, "ru")) == ("p < 0.001", "p < 0,001")
    assert (_p(0.0234, "en"), _p(0.0234, "ru")) == ("p = 0.023", "p = 0,023")


def test_source_advice_cuts_the_weak_and_grows_the_strong():
    import pytest

    # all sources: 30% of mature leads won, 100 ₽ a won deal, so an average lead brings 30 ₽
    sources = pd.DataFrame([
        {"source": "—all—", "n": 200, "n_mature": 150, "mature_rate": 0.3, "mature_rate_low": 0.23,
         "mature_rate_high": 0.38, "avg_check": 100.0, "is_weak": False},
        # weak: 10% of 40 mature; at 30% its 50 leads would have brought (0.3 − 0.1) × 50 × 100 = 1 000 ₽ more
        {"source": "Авито", "n": 50, "n_mature": 40, "mature_rate": 0.1, "mature_rate_low": 0.04,
         "mature_rate_high": 0.23, "avg_check": 100.0, "is_weak": True},
        # strong: 50% (CI wholly above 30%), 200 ₽ a deal: a lead brings 0.5 × 200 = 100 ₽ against 30 ₽
        {"source": "Рекомендация", "n": 60, "n_mature": 40, "mature_rate": 0.5, "mature_rate_low": 0.35,
         "mature_rate_high": 0.65, "avg_check": 200.0, "is_weak": False},
        # neither: its interval holds 30%
        {"source": "Сайт", "n": 90, "n_mature": 70, "mature_rate": 0.32, "mature_rate_low": 0.22,
         "mature_rate_high": 0.44, "avg_check": 100.0, "is_weak": False},
    ])  # fmt: skip
    advice = findings.source_advice(sources, "RUB", "en")
    assert len(advice) == 2
    weak, strong = advice
    assert weak.impact == pytest.approx(1000) and "Cut or fix «Авито»" in weak.text and "RUB" in weak.text
    assert "1,000" in weak.text
    assert strong.impact == pytest.approx((100 - 30) * 60)  # per lead above average × its leads
    assert "Grow «Рекомендация»" in strong.text and "100" in strong.text and "30" in strong.text
