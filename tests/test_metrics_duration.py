"""METRICS.md §1 and the interval view on the hand-built scenarios (tests/fixtures/scenarios.py).
Every expected number below was worked out by hand; the arithmetic is in the comments."""

import math

import pytest

from crmkit import metrics
from tests.fixtures.scenarios import AS_OF, PERIOD_START, SCENARIOS

W = {"as_of": AS_OF, "period_start": PERIOD_START}


@pytest.fixture
def con(make_db):
    con, results = make_db(SCENARIOS)
    assert all(r.rows_rejected == 0 for r in results)
    return con


def row(frame, level, name):
    return frame[(frame["level"] == level) & (frame["name"] == name)].iloc[0]


def test_won_cycle_team_owner_pipeline(con):
    table = metrics.won_cycle(con, **W)
    team = row(table, "team", "—")
    # won in window: d1 10, d4 20, d5 30, d6 20, d9 5 (d7 closed before created: excluded)
    assert (team.n, team.n_excluded) == (5, 1)
    assert team.mean_days == pytest.approx(17.0)  # 85 / 5
    assert team.median_days == pytest.approx(20.0)  # sample median of 5 10 20 20 30
    anna = row(table, "owner", "Анна")  # d1 10, d6 20, d9 5
    assert (anna.n, anna.median_days, anna.mean_days) == (3, 10.0, pytest.approx(35 / 3))
    boris = row(table, "owner", "Борис")  # d4 20, d5 30; d7 excluded
    assert (boris.n, boris.n_excluded, boris.median_days) == (2, 1, 25.0)  # (20 + 30) / 2
    assert row(table, "pipeline", "Other").n == 1  # d9 moved to pipeline Q and won there
    assert math.isnan(team.median_days_low)  # n = 5: too few for a 95% order-statistic interval


def test_time_to_close_censors_open_deals(con):
    table = metrics.time_to_close(con, **W)
    team = row(table, "team", "—")
    # cohort: 3L 5W 7L 10W 14c 20W 20W 28c 30W (d7 excluded: closed before created)
    assert (team.n, team.n_closed, team.n_open) == (9, 7, 2)
    # KM: 8/9, 7/9, 6/9, 5/9 after t=10; at 20, 4 at risk, 2 events -> 5/18 < 0.5
    assert team.median_days == pytest.approx(20.0)
    # won CIF: 8/9·1/8 + 6/9·1/6 + 5/9·2/4 + 5/18·1 = 7/9
    assert team.won_by_30 == pytest.approx(7 / 9)
    assert team.won_by_90 == pytest.approx(7 / 9)  # the last observation closed: nothing after


def test_curve_steps(con):
    curve = metrics.time_to_close_curve(con, **W)
    values = dict(zip(curve["day"], curve["value"], strict=True))
    assert values[0.0] == 1.0
    assert values[3.0] == pytest.approx(8 / 9)
    assert values[20.0] == pytest.approx(5 / 18)


def test_stale_and_stuck(con):
    stale = metrics.stale_deals(con, **W)
    # threshold = team median won cycle = 20; open at as_of: d3 age 28, d8 age 14
    assert stale["deal_id"].tolist() == ["d3"]
    assert stale["threshold_days"].iloc[0] == pytest.approx(20.0)
    assert stale["days_in_stage"].iloc[0] == pytest.approx(19.0)  # in B since 02-10
    stuck = metrics.stuck_deals(con, **W)
    # B: finished stays 3, 2, 3 -> p90 3 < 19 (d3 stuck); A: [1,1,2,2,3,30] -> p90 16.5 > 14 (d8 not)
    assert stuck["deal_id"].tolist() == ["d3"]
    assert stuck["p90_days"].iloc[0] == pytest.approx(3.0)
    assert stuck["n_stays"].iloc[0] == 3


def test_intervals_mark_regression_skip_move_and_reentry(con):
    iv = metrics.stage_intervals(con, as_of=AS_OF)
    by = {(r.deal_id, r.stage_id, r.visit_number): r for r in iv.itertuples()}
    assert by[("d2", "C", 1)].is_regression and not by[("d2", "B", 1)].is_regression
    assert by[("d2", "B", 2)].days == pytest.approx(3.0)  # re-entry: second visit of B
    assert by[("d4", "A", 1)].is_skip  # A -> C
    assert by[("d9", "A", 1)].is_pipeline_move
    assert by[("d3", "B", 1)].is_current and math.isclose(by[("d3", "B", 1)].days, 19.0)
    assert by[("d6", "W", 1)].is_synthetic  # no history: one flagged row
    # at most one current visit per deal; exited_at >= entered_at everywhere
    assert iv.groupby("deal_id")["is_current"].sum().max() == 1
    assert (iv["exited_at"].dropna() >= iv.loc[iv["exited_at"].notna(), "entered_at"]).all()


def test_deals_at_reconstructs_the_past(con):
    import pandas as pd

    def state(as_of, deal):
        frame = con.execute("select * from deals_at(?) where deal_id = ?", [pd.Timestamp(as_of), deal]).df()
        return frame.iloc[0] if len(frame) else None

    assert (state("2026-01-07", "d2").stage_id, state("2026-01-07", "d2").status) == ("B", "open")
    assert state("2026-03-01", "d8").status == "open"
    later = state("2026-03-20", "d8")
    assert (later.status, str(later.closed_at)) == ("won", "2026-03-10 00:00:00")
    assert state("2025-12-31", "d1") is None  # not created yet


def test_as_of_is_required_and_checked(con):
    from crmkit.errors import CrmkitError

    with pytest.raises(CrmkitError, match="before as_of"):
        metrics.won_cycle(con, as_of="2026-01-01", period_start="2026-02-01")
    with pytest.raises(CrmkitError, match="unknown metric"):
        metrics.compute("nope", con, as_of=AS_OF)


def test_stuck_by_stage_sums_the_stuck_deals_per_stage(con):
    """One stuck deal (d3, 300, in «Переговоры» of Main beyond the stage's p90 of 3 days): one row."""
    table = metrics.stuck_by_stage(con, **W)
    assert table.to_dict("records") == [
        {"pipeline": "Main", "stage": "Переговоры", "n_stuck": 1, "stuck_amount": 300.0, "p90_days": 3.0}
    ]
