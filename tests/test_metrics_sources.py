"""METRICS.md §5: lead sources and the forecast, on hand-built data with hand-computed numbers."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from crmkit import findings, metrics
from tests.fixtures.scenarios import AS_OF, PERIOD_START, SCENARIOS

W = {"as_of": AS_OF, "period_start": PERIOD_START}


@pytest.fixture
def con(make_db):
    return make_db(SCENARIOS)[0]


def test_stage_win_probability_from_history(con):
    outlook = metrics.forecast(con, **W, sims=2000)
    deals = outlook.attrs["deals"]
    # pre-sale stages of Main: the last two open ones, B and C. Open there at as_of: only d3 (in B
    # for 19 days). B's closed history: d1 won, d2 lost -> 1/2, Wilson(1, 2)
    assert deals["deal_id"].tolist() == ["d3"]
    row = deals.iloc[0]
    assert (row.n, row.p_win) == (2, 0.5)
    assert (row.p_win_low, row.p_win_high) == pytest.approx((0.0945, 0.9055), abs=1e-4)
    # no visit to B but d3's own lasted 19 days, and d3 was followed for none of the 30 days ahead:
    # its chance is unknown, and so is the forecast's money — not 0
    assert np.isnan(row.p_in_horizon) and np.isnan(row.expected_revenue)
    team = outlook.set_index("level").loc["team"]
    assert (team.n_deals, team.n_unknown) == (1, 1) and np.isnan(team.p50)


def _visits(rows, at="2026-03-01"):
    """Visits to one stage: (days before `at` it was entered, stay, status, days from entry to close)."""
    at = pd.Timestamp(at)
    frame = [
        {"deal_id": f"v{i}", "entered_at": at - pd.Timedelta(days=entered), "stay_days": stay,
         "status": status,
         "closed_at": at - pd.Timedelta(days=entered - close) if close is not None else pd.NaT}
        for i, (entered, stay, status, close) in enumerate(rows, 1)
    ]  # fmt: skip
    return pd.DataFrame(frame)


# v1 won 6 days after entering (stayed 5), v2 won after 12 (stayed 10), v3 lost after 8, v4 lost
# after 2, v5 still in the stage after 20 days, v6 left it after 12 and is still open after 40
HISTORY = _visits([(60, 5, "won", 6), (50, 10, "won", 12), (45, 8, "lost", 8), (44, 2, "lost", 2),
                   (20, 20, "open", None), (40, 12, "open", None)])  # fmt: skip


def test_the_chance_is_aalen_johansen_over_the_visits_that_waited_as_long():
    """A deal that has waited 4 days: alike are v1, v2, v3, v5, v6 (stays of 4 or more), their
    times from day 4 on — v1 won at 2, v3 lost at 4, v2 won at 8, v5 open at 16, v6 open at 36.
    At 2: 5 at risk, a win: F = 1/5 = 0.2, S = 0.8. At 4: 4 at risk, a loss: S = 0.8 · 3/4 = 0.6.
    At 8: 3 at risk, a win: F = 0.2 + 0.6/3 = 0.4. So 0.2 within 5 days, 0.4 within 10, 0.4 at
    all. The closed deals alone (v1, v2, v3) would have said 1/3 within 5 and 2/3 within 10."""
    from crmkit.metrics.forecasts import StageHistory

    history = StageHistory(HISTORY, pd.Timestamp("2026-03-01"), pd.Timestamp("2025-03-01"))
    assert (history.n_won, history.n_lost) == (2, 2)
    within, error, ever, alike = history.chance(4.0, 5)
    assert (within, ever, alike) == (pytest.approx(0.2), pytest.approx(0.4), 5) and error > 0
    assert history.chance(4.0, 10)[0] == pytest.approx(0.4)
    # waited 15: only v5 stayed as long, followed 5 days more: 10 days ahead are unknown
    assert np.isnan(history.chance(15.0, 10)[0]) and np.isnan(history.chance(25.0, 5)[0])
    # seen on 20 January: v5 and v6 had not begun (9 and 20 January), v2 and v3 were still open (they
    # closed on the 22nd and 23rd); v1 had won (6 January), v4 lost (the 18th): cut, not reread
    earlier = StageHistory(HISTORY, pd.Timestamp("2026-01-20"), pd.Timestamp("2025-01-20"))
    assert (earlier.n_won, earlier.n_lost, len(earlier.stay)) == (1, 1, 4)


def test_the_chances_are_read_for_groups_of_waits():
    from crmkit.metrics import forecasts
    from crmkit.metrics.forecasts import StageHistory

    history = StageHistory(HISTORY, pd.Timestamp("2026-03-01"), pd.Timestamp("2025-03-01"))
    found = history.chances(np.array([4.2, 4.9, 0.5, 18.0]), 5)
    # 4.2 and 4.9 fall on day 4 and are read at their median 4.55: the same alike visits as at 4
    assert found["group"].tolist()[:2] == [found["group"][0]] * 2
    assert found["p_in_horizon"].tolist()[:2] == pytest.approx([0.2, 0.2])
    assert np.isnan(found["p_in_horizon"][3])
    many = history.chances(np.arange(100.0) / 5, 5)  # 20 distinct days: one group each
    assert many["group"].nunique() == 20 <= forecasts.BUCKETS


def test_each_simulation_draws_the_stages_chance_once():
    """20 deals of 1 each at a chance of 0.5 known to ±0.1: each simulation draws the chance once
    for all of them, so the total varies as 20·0.25 + 20²·0.01 = 9 (sd 3), not as the binomial's
    5 (sd 2.24) — the band keeps the estimate's own uncertainty at any number of deals."""
    from crmkit.metrics.forecasts import _beta_draws, _wins

    rng = np.random.default_rng(5)
    drawn = _beta_draws(np.array([0.5]), np.array([0.1]), rng.random((40_000, 1)))
    assert drawn.mean() == pytest.approx(0.5, abs=0.003) and drawn.std() == pytest.approx(0.1, abs=0.003)
    totals = _wins(np.repeat(drawn, 20, axis=1), rng).sum(axis=1)
    assert totals.std() == pytest.approx(3.0, abs=0.1)
    # known exactly (no error): the binomial, Binomial(20, ½): P10 / P50 / P90 = 7 / 10 / 13
    exact = _wins(np.full((20_000, 20), 0.5), rng).sum(axis=1)
    assert np.percentile(exact, [10, 50, 90]).tolist() == binom.ppf([0.1, 0.5, 0.9], 20, 0.5).tolist()


def test_the_band_is_calibrated_on_past_misses_by_hand():
    from crmkit.metrics.forecasts import conformal_scale, miss_in_band_widths

    # P10 / P50 / P90 = 80 / 100 / 130: an outcome of 145 is (145 − 100) / 30 = 1.5 half-widths
    # above, 90 is (100 − 90) / 20 = 0.5 below; a miss no band of no width holds is infinite
    scores = miss_in_band_widths([145, 90, 100, 120], [80, 80, 80, 100], [100, 100, 100, 100],
                                 [130, 130, 130, 100])  # fmt: skip
    assert scores.tolist() == [1.5, 0.5, 0.0, np.inf]
    # the 80% conformal quantile of n misses is the ⌈(n + 1)·0.8⌉-th smallest: of 5, the 5th
    assert conformal_scale([0.2, 1.5, 0.5, 0.9, 3.0]) == 3.0
    assert conformal_scale([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]) == 0.8  # ⌈10·0.8⌉ = 8th
    assert np.isnan(conformal_scale([0.2, 0.4, np.nan]))  # too few to learn from


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
    # every date calibrated on at least 4 earlier forecasts; an 80% band should hold about 8 of 10
    # (Binomial(10, 0.8): 6 or fewer in 12% of samples, 10 in 11%); on the sample it holds 10
    assert backtest["covered"].notna().all() and (backtest["calibrated_on"] >= 4).all()
    assert 7 <= backtest["covered"].sum()
    # the P50 against the outcome, summed over the 10 dates: one account's months swing about 15%,
    # so their sum about ±5%; within 12% (the bias over many accounts is in docs/CALIBRATION.md)
    assert abs(backtest["p50"].sum() / backtest["actual"].sum() - 1) < 0.12


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
    wins = _wins(np.broadcast_to(chances, (1001, len(chances))), np.random.default_rng(3))
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
    assert table["actual"].tolist() == [0.0]
    # no earlier forecast to calibrate on, and d3's chance unknown: the backtest judges nothing
    assert table["covered"].isna().all() and table["calibrated_on"].tolist() == [0]


def test_an_account_without_amounts_forecasts_an_unknown_sum_and_judges_nothing(tmp_path):
    """A sample of 400 deals without a single amount: the forecast is not "0 won (P10 0 – P90 0)"
    and the backtest does not claim "inside P10–P90 at 6 of 6 past dates" — both say they cannot."""
    from crmkit import sample
    from crmkit.db import connect
    from crmkit.importers import load

    tables = sample.generate(400)
    tables["deals"]["amount"] = np.nan
    sample.write(tables, tmp_path / "csv")
    con = connect(tmp_path / "crm.duckdb")
    load(con, [tmp_path / "csv"])
    outlook = metrics.forecast(con, as_of="2026-11-01", sims=500)
    team = outlook.set_index("level").loc["team"]
    assert team.n_deals > 0 and team.n_unpriced == team.n_deals
    assert np.isnan(team.p10) and np.isnan(team.p50) and np.isnan(team.p90)
    said = findings.forecast_summary(outlook, "RUB")[0].text
    assert said.startswith("No revenue forecast:") and f"without an amount: {int(team.n_deals)}" in said
    backtest = metrics.forecast_backtest(con, as_of="2026-11-01", sims=200)
    assert backtest["covered"].isna().all()
    assert "no past date could be judged" in findings.backtest_coverage(backtest, "RUB")[0].text
