"""METRICS.md §5: lead sources and the forecast, on hand-built data with hand-computed numbers."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from crmkit import findings, metrics
from crmkit.metrics.forecasts import StageHistory, simulate_revenue
from tests.fixtures.scenarios import AS_OF, PERIOD_START, SCENARIOS

W = {"as_of": AS_OF, "period_start": PERIOD_START}


@pytest.fixture
def con(make_db):
    return make_db(SCENARIOS)[0]


def test_stage_win_probability_from_history(con):
    deals = metrics.forecast_deals(con, **W, sims=2000)
    # pre-sale stages of Main: the last two open ones, B and C. Open there at as_of: only d3 (in B
    # for 19 days). B's closed history: d1 won, d2 lost -> 1/2, Wilson(1, 2)
    assert deals["deal_id"].tolist() == ["d3"]
    row = deals.iloc[0]
    assert (row.n, row.p_win) == (2, 0.5)
    assert (row.p_win_low, row.p_win_high) == pytest.approx((0.0945, 0.9055), abs=1e-4)
    # no deal in that history stayed in B 19 days or more: the uniform prior, and no way to close won
    assert row.p_win_now == 0.5 and row.expected_revenue == 0.0


def test_waiting_updates_the_win_chance_and_timing():
    # won stays 1, 5, 10 (closing 2, 6, 12 days after entering); lost stays 2, 8. A deal that has
    # waited 4 days is like the won stays 5 and 10 and the lost stay 8: p ~ Beta(2 + 1, 1 + 1),
    # mean 0.6; its winners close after 6 − 4 = 2 or 12 − 4 = 8 more days, only 2 is within 5.
    revenue, p_now = simulate_revenue(
        [100.0], [4.0], [1, 5, 10], [2, 6, 12], [2, 8], horizon=5, sims=40_000, rng=np.random.default_rng(1)
    )
    assert p_now[0] == pytest.approx(0.6)
    assert (revenue[:, 0] > 0).mean() == pytest.approx(0.6 * 0.5, abs=0.01)


def test_timely_counts_each_deals_alike_won_deals_exactly():
    # 60 won deals (whole-day stays and closes, so waits and limits fall on them exactly too) and
    # 400 deals waiting 0 to 40 days, some the same wait, some longer than any stay: each count
    # equals counting that deal's alike won deals (stay >= wait) that closed within wait + horizon
    rng = np.random.default_rng(3)
    stays = rng.integers(0, 30, 60).astype(float)
    closes = stays + rng.integers(0, 40, 60)
    history = StageHistory(stays, closes, [])
    waited = np.concatenate([rng.integers(0, 41, 300).astype(float), rng.uniform(0, 35, 100)])
    for horizon in (0, 7.5, 30):
        expected = [int(((stays >= w) & (closes <= w + horizon)).sum()) for w in waited]
        assert history.timely(waited, horizon).tolist() == expected
    assert 0 in expected and max(expected) > 20  # deals with none and with many


def test_the_exact_chance_is_the_two_step_draw():
    # the chance of closing won within the horizon is computed, not sampled: it must equal drawing
    # "won?" from the Beta mean, then a won deal alike's time to close, within Monte Carlo error.
    # waited 4, horizon 5: alike won stays 5, 10, 12 (closing 6, 12, 7): timely 6 and 7 (<= 9),
    # 2 of 3; lost stay 8 alike: p = (3 + 1) / (3 + 1 + 2) = 2/3; chance 2/3 × 2/3 = 4/9
    history = StageHistory([1, 5, 10, 12], [2, 6, 12, 7], [2, 8])
    p_now, chance = history.chances(np.array([4.0]), 5)
    assert (p_now[0], chance[0]) == pytest.approx((2 / 3, 4 / 9))
    rng = np.random.default_rng(4)
    n = 200_000
    won = rng.random(n) < p_now[0]
    close = np.array([6.0, 12, 7])[rng.integers(0, 3, n)]
    two_step = (won & (close - 4 <= 5)).mean()
    assert abs(two_step - 4 / 9) < 4 * np.sqrt(4 / 9 * 5 / 9 / n)  # 4 standard errors


def test_simulation_matches_the_binomial():
    # 20 deals of 1 each, a stage won and lost a million times each (p = 0.5 to 3 decimals), every
    # close immediate: revenue within the horizon is Binomial(20, 0.5)
    n = 1_000_000
    revenue, _ = simulate_revenue(
        np.ones(20),
        np.zeros(20),
        np.zeros(n),
        np.zeros(n),
        np.zeros(n),
        horizon=30,
        sims=20_000,
        rng=np.random.default_rng(2),
    )
    total = revenue.sum(axis=1)
    assert (
        np.percentile(total, [10, 50, 90]).tolist() == binom.ppf([0.1, 0.5, 0.9], 20, 0.5).tolist()
    )  # 7 10 13
    assert total.mean() == pytest.approx(10, abs=0.1)


def test_young_source_is_not_weak(make_db):
    extra_deals = "".join(
        f"y{i},P,A,young lead,10,RUB,u1,Новый канал,2026-02-2{i} 00:00:00,,\n" for i in range(6)
    )
    extra_changes = "".join(f"y{i},P,A,2026-02-2{i} 00:00:00,u1\n" for i in range(6))
    tables = dict(
        SCENARIOS,
        deals=SCENARIOS["deals"].rstrip() + "\n" + _indent(extra_deals),
        stage_changes=SCENARIOS["stage_changes"].rstrip() + "\n" + _indent(extra_changes),
    )
    con, _ = make_db(tables)
    sources = metrics.source_conversion(con, **W).set_index("source")
    # maturity: the p75 of the won cycles 5 10 20 20 30 = 20 days; the new leads are 4–9 days old
    assert sources.loc["Новый канал", "maturity_days"] == 20.0
    assert (sources.loc["Новый канал", "n"], sources.loc["Новый канал", "n_mature"]) == (6, 0)
    assert not sources.loc["Новый канал", "is_weak"]
    texts = [f.text for f in findings.weak_sources(sources.reset_index())]
    assert any("«Новый канал» is too young to judge" in text for text in texts)
    # Авито: d3 (open, 28 days old) and d4 (won): both mature, 1 of 2
    assert (sources.loc["Авито", "n_mature"], sources.loc["Авито", "mature_rate"]) == (2, 0.5)


def _indent(text: str) -> str:
    return "".join("        " + line + "\n" for line in text.splitlines())


def test_sample_weak_source_is_flagged_and_backtest_covers(sample_db):
    from crmkit import sample
    from crmkit.db import connect

    con = connect(sample_db, read_only=True)
    sources = metrics.source_conversion(con, as_of="2026-11-01").set_index("source")
    assert sources.loc[sample.PLANTED["weak_source"], "is_weak"]
    assert sources["mature_rate"].idxmin() == sample.PLANTED["weak_source"]
    backtest = metrics.forecast_backtest(con, as_of="2026-11-01", dates=10, sims=2000)
    # an 80% range should cover about 8 of 10; on the sample it covers 8 (README states it)
    assert backtest["covered"].sum() >= 7


def test_a_backtest_past_the_data_keeps_to_the_dates_it_can_judge(sample_db):
    """The sample's last event is on 2026-10-31. A report for November (as_of 2026-12-01) would
    have forecast 2026-11-01 too, whose 30 days lie after the data: "actual" 0, a miss that never
    happened. Its dates end at 2026-10-01 instead, and its table is the one of as_of 2026-11-01
    (each window a year long): the same dates, forecasts and outcomes."""
    from crmkit.db import connect

    con = connect(sample_db, read_only=True)
    past = metrics.forecast_backtest(con, as_of="2026-12-01", sims=200)
    assert list(past["forecast_at"]) == list(pd.date_range("2026-05-01", "2026-10-01", freq="MS"))
    known = metrics.forecast_backtest(con, as_of="2026-11-01", sims=200)
    pd.testing.assert_frame_equal(past, known)


def test_olist_sources_match_counts_and_show_censoring(shared_data, tmp_path):
    from crmkit.db import connect, query
    from crmkit.importers import load
    from crmkit.paths import PROJECT_ROOT

    con = connect(tmp_path / "olist.duckdb")
    load(
        con, [shared_data / "olist_funnel"], mapping_file=PROJECT_ROOT / "examples/mappings/olist_funnel.yml"
    )
    final = metrics.source_conversion(con, as_of="2019-01-01", period_start="2017-01-01").set_index("source")
    assert (final.loc["organic search", "n"], final.loc["organic search", "n_won"]) == (2296, 271)
    raw = pd.read_csv(shared_data / "olist_funnel" / "olist_marketing_qualified_leads_dataset.csv")
    assert final.loc["—all—", "n"] == len(raw)
    # the deal won before its first contact counts as a won lead, but not as a duration: the
    # data-quality note (and the audit) lists it
    assert query(con, "metrics/history_coverage")["n_closed_before_created"].iloc[0] == 1
    ttc = metrics.time_to_close(con, as_of="2019-01-01", period_start="2017-01-01")
    assert ttc.loc[ttc["level"] == "team", "n"].iloc[0] == len(raw) - 1
    # seen from June 2018, May's leads are young: fewer mature leads than leads, and the naive
    # won-so-far rate falls below the rate of mature leads
    early = metrics.source_conversion(con, as_of="2018-06-01", period_start="2017-01-01").set_index("source")
    overall = early.loc["—all—"]
    assert overall["n_mature"] < overall["n"]
    assert overall["raw_rate"] < overall["mature_rate"]


def test_source_leads_monthly_counts_the_cohort_by_month(con):
    """Created in the window: January — Авито d4; Сайт d1 d2 d5 d6 d7 d9 d10 (7); February —
    Авито d3; Сайт d8."""
    table = metrics.source_leads_monthly(con, **W)
    got = {(f"{r.created_month:%Y-%m}", r.source): r.n for r in table.itertuples()}
    assert got == {
        ("2026-01", "Авито"): 1,
        ("2026-01", "Сайт"): 7,
        ("2026-02", "Авито"): 1,
        ("2026-02", "Сайт"): 1,
    }


def test_source_manager_conversion_by_source_and_manager(con):
    """Maturity 20 days (the p75 of the won cycles 5 10 20 20 30). Сайт × Анна: d1 won, d2 lost,
    d6 won (0), d9 won (900): n 4, won 3, 1,000 won, all mature. Сайт × Борис: d5 won, d7 won (its
    close date is wrong, not its status), d8 open and 14 days old (not mature): n 3, won 2,
    mature 2 of 2. Авито × Анна: d3 open, 28 days old: mature, 0 of 1."""
    table = metrics.source_manager_conversion(con, **W).set_index(["source", "owner"])
    anna = table.loc[("Сайт", "Анна")]
    assert (anna.n, anna.n_won, anna.won_amount, anna.n_mature, anna.n_mature_won) == (4, 3, 1000.0, 4, 3)
    boris = table.loc[("Сайт", "Борис")]
    assert (boris.n, boris.n_won, boris.n_mature, boris.mature_rate) == (3, 2, 2, 1.0)
    avito = table.loc[("Авито", "Анна")]
    assert (avito.n, avito.n_mature, avito.mature_rate) == (1, 1, 0.0)
    assert len(table) == 5  # and Авито × Борис (d4), Сайт × Иван (d10)


def test_the_forecast_is_seeded_and_the_same_in_chunks(sample_db, monkeypatch):
    """Drawn a few deals at a time (as at a million deals) or all at once, the totals are the same
    distribution: P10 / P50 / P90 agree within their Monte Carlo error (a few per cent of the spread
    at 4,000 draws); the same seed gives the same numbers; per-deal chances do not depend on it."""
    from crmkit.db import connect
    from crmkit.metrics import forecasts

    con = connect(sample_db, read_only=True)
    whole = metrics.forecast(con, as_of="2026-11-01").set_index("name")
    again = metrics.forecast(con, as_of="2026-11-01").set_index("name")
    pd.testing.assert_frame_equal(whole, again)
    monkeypatch.setattr(forecasts, "CELLS_PER_CHUNK", 4000 * 7)  # seven deals per draw
    chunked = metrics.forecast(con, as_of="2026-11-01").set_index("name")
    team, team_chunked = whole.loc["—"], chunked.loc["—"]
    spread = team.p90 - team.p10
    assert spread > 0 and team.n_deals == team_chunked.n_deals > 20
    for q in ("p10", "p50", "p90", "mean"):
        assert abs(team[q] - team_chunked[q]) < 0.05 * spread, q
    assert team.weighted_pipeline == team_chunked.weighted_pipeline


def test_simulated_wins_keep_certain_and_impossible_deals_exact():
    from crmkit.metrics.forecasts import _wins

    # 1,000 certain deals, 1,000 impossible ones, one at 1/2 and one at 1/4, over 1,001 simulations
    # (2,002,002 cells: not a whole number of the generator's four-cell words)
    chances = np.r_[np.ones(1000), np.zeros(1000), 0.5, 0.25]
    wins = _wins(chances, 1001, np.random.default_rng(3))
    assert wins.shape == (1001, 2002)
    # certain and impossible stay so in every cell: a 16-bit draw against 65,535 would miss
    # 1,001,000 / 65,536 ≈ 15 of the certain cells
    assert wins[:, :1000].all() and not wins[:, 1000:2000].any()
    # the others win at their rate: standard errors √(0.25/1001) = 0.016 and √(0.1875/1001) = 0.014,
    # so 4 of them are 0.063 and 0.055
    assert abs(wins[:, 2000].mean() - 0.5) < 0.063
    assert abs(wins[:, 2001].mean() - 0.25) < 0.055


def test_a_backtest_at_as_of_itself_with_no_horizon_forecasts_nothing_closed(con):
    # as_of 2026-03-01 is a month start: with a zero horizon the one backtest date is as_of itself,
    # and nothing can close within zero days of it (the outcome was read from that very day once)
    table = metrics.compute("forecast_backtest", con, **W, horizon=0, dates=1)
    assert list(table["forecast_at"]) == [pd.Timestamp(AS_OF)]
    assert table["actual"].tolist() == [0.0] and table["p90"].tolist() == [0.0]
