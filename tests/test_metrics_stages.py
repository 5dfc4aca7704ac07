"""METRICS.md §2 on the hand-built scenarios (tests/fixtures/scenarios.py), as_of 2026-03-01,
window from 2025-12-01. Every expected number is worked out in the comments."""

import pytest

from crmkit import metrics
from tests.fixtures.scenarios import AS_OF, PERIOD_START, SCENARIOS

W = {"as_of": AS_OF, "period_start": PERIOD_START}


@pytest.fixture
def con(make_db):
    return make_db(SCENARIOS)[0]


def stage(table, name):
    return table[table["stage"] == name].iloc[0]


def test_stage_durations_and_identity(con):
    table = metrics.stage_durations(con, **W)
    a, b, c = (
        stage(table, "Первичный контакт"),
        stage(table, "Переговоры"),
        stage(table, "Коммерческое предложение"),
    )
    # A: finished stays d1 2, d2 1, d3 9, d4 2, d5 30, d9 1, d10 3; d8 still there (14 days)
    assert (a.n, a.n_finished) == (8, 7)
    assert a.median_days == 2.0 and a.mean_days == pytest.approx(48 / 7)
    # KM: S = 6/8 after day 1, 6/8·4/6 = 0.5 after day 2 (not below one half), 0.375 after day 3
    assert a.km_median_days == 3.0
    # ends: advanced d1 d2 d3 d4 d5; lost d10; moved d9; still here d8
    assert (a.advanced, a.lost, a.regressed, a.moved, a.still_here) == (5, 1, 0, 1, 1)
    # B: d1 3, d2 2 then again 3 (re-entry, lost after it), d3 still there 19 days
    assert (b.n, b.median_days, b.advanced, b.lost, b.still_here) == (4, 3.0, 2, 1, 1)
    # C: d1 5 (won next), d2 1 (back to B: a regression), d4 18 (skipped B to get here)
    assert (c.n, c.median_days, c.advanced, c.regressed) == (3, 5.0, 2, 1)
    for row in table.itertuples():  # the identity, for every stage
        assert row.n == row.advanced + row.lost + row.regressed + row.moved + row.still_here
    # share of cycle time in pipeline Main: A 48 + 14 = 62, B 8 + 19 = 27, C 24 -> 62 / 113
    assert a.share_of_cycle == pytest.approx(62 / 113)
    assert (a.wip_now, b.wip_now, c.wip_now) == (1, 1, 0)  # d8 in A, d3 in B at as_of
    assert a.exits_per_week == pytest.approx(7 / (90 / 7))  # 7 finished stays over 90 days


def test_manager_stage_durations(con):
    table = metrics.manager_stage_durations(con, **W)
    c = table[table["stage"] == "Коммерческое предложение"].set_index("owner")
    # team C stays 5, 1, 18 -> median 5; Анна d1 5, d2 1 -> 3; Борис d4 18
    assert c.loc["Анна", "median_days"] == 3.0 and c.loc["Борис", "median_days"] == 18.0
    assert c.loc["Борис", "ratio_to_team"] == pytest.approx(18 / 5)


def test_whatif_littles_law(con):
    table = metrics.whatif_stage(con, **W, stage="Коммерческое предложение", reduction=0.5)
    row = table.iloc[0]
    # won deals of Main with history: d1 10 d (C 5), d4 20 d (C 18), d5 30 d (C 0); d6 has none
    assert row.n == 3
    assert row.cycle_days == pytest.approx(20.0) and row.stage_days == pytest.approx(23 / 3)
    assert row.new_cycle_days == pytest.approx(20 - 23 / 6)
    assert row.throughput_change == pytest.approx(20 / (20 - 23 / 6) - 1)
    assert row.throughput_change_low <= row.throughput_change <= row.throughput_change_high


def test_whatif_matches_the_worked_example():
    # METRICS.md: halving a 14-day stage in a 40-day cycle gives 33 days, ~21% more throughput
    new, gain = metrics.stages.littles_law(40.0, 14.0, 0.5)
    assert new == 33.0 and gain == pytest.approx(0.2121, abs=1e-4)


def test_stage_flow_counts_open_visits_at_week_start(con):
    flow = metrics.stage_flow(con, **W)
    # Monday 2026-02-16: d3 in A since 02-01 (B from 02-10: so B), d8 entered A on 02-15
    week = flow[flow["week_start"] == "2026-02-16"].set_index("stage")["wip"]
    assert week.to_dict() == {"Первичный контакт": 1, "Переговоры": 1}


def test_sample_bottleneck_and_slow_manager_are_named(sample_db):
    from crmkit import findings, sample
    from crmkit.db import connect

    con = connect(sample_db, read_only=True)
    stages = metrics.stage_durations(con, as_of="2026-11-01")
    main = stages[stages["pipeline"] == "Основная воронка"]
    assert main.sort_values("share_of_cycle").iloc[-1]["stage"] == sample.PLANTED["bottleneck_stage"]
    texts = [f.text for f in findings.bottlenecks(stages, metrics.stage_flow(con, as_of="2026-11-01"))]
    assert any(text.startswith(f"«{sample.PLANTED['bottleneck_stage']}»") for text in texts)
    slow = findings.slow_stage_owners(metrics.manager_stage_durations(con, as_of="2026-11-01"))
    assert [f.text.split(" is slow")[0] for f in slow] == [sample.PLANTED["slow_manager"]]


def test_an_interval_too_small_a_sample_cannot_give_reads_as_a_dash():
    """A finding over one stay has no interval: the report says "—", never "nan"."""
    from crmkit.i18n import t

    values = dict(stage="A", pipeline="P", share=0.5, median=12.0, n=1, wip=0, amount="0", trend="")
    text = t("finding_bottleneck", "en", low=float("nan"), high=float("nan"), **values)
    assert "(95% CI —–—, n=1)" in text and "nan" not in text
    assert "(95% CI 3–20, n=1)" in t("finding_bottleneck", "en", low=3.0, high=20.0, **values)
