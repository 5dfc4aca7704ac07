"""The sample is deterministic and its planted effects are found; real public data loads
losslessly and crmkit's numbers equal an independent pandas count."""

import numpy as np
import pandas as pd
import pytest

from crmkit import metrics, sample
from crmkit.db import connect
from crmkit.importers import load
from crmkit.paths import PROJECT_ROOT

MAPPINGS = PROJECT_ROOT / "examples" / "mappings"


def test_sample_is_deterministic_and_sized():
    first, second = sample.generate(500, seed=7), sample.generate(500, seed=7)
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name])
    assert abs(len(first["deals"]) - 500) <= 15


def test_sample_in_parts_is_one_account(tmp_path, monkeypatch):
    # Written in parts (memory flat at any size): up to PART_DEALS exactly the one-part sample;
    # beyond it each part continues the ids, the shared tables are written once and the plans
    # come from every part's wins. 1,000 deals in parts of 400: 3 parts of 334, 333, 333.
    one = tmp_path / "one"
    sample.write_sample(300, one, seed=5)
    same = sample.generate(300, seed=5)
    assert len(pd.read_csv(one / "activities.csv")) == len(same["activities"])
    monkeypatch.setattr(sample, "PART_DEALS", 400)
    counts = sample.write_sample(1000, tmp_path / "parts", seed=5)
    parts = [sample.generate(size, seed=5 + k) for k, size in enumerate((334, 333, 333))]
    for name in ("deals", "stage_changes", "activities"):
        assert counts[name] == sum(len(part[name]) for part in parts)
    assert counts["users"] == len(parts[0]["users"]) and counts["stages"] == len(parts[0]["stages"])
    con = connect(tmp_path / "crm.duckdb")
    results = load(con, [tmp_path / "parts"])
    for r in results:  # nothing lost: every row read is loaded or rejected
        assert r.rows_read == r.rows_loaded + r.rows_rejected
    # each part repeats one deal row on purpose (the planted defect): three rejects, no other
    assert con.execute("select count(*) from rejects").fetchone()[0] == 3 * sample.DEFECTS["duplicated_ids"]
    assert con.execute("select count(*) from deals").fetchone()[0] == counts["deals"] - 3
    # the plans are set from the three parts' wins added up (a manager's month: all parts' sales),
    # not from one part's
    plans = pd.read_csv(tmp_path / "parts" / "plans.csv")
    won = pd.concat(sample.won_per_month(part["deals"]) for part in parts).groupby(level=[0, 1]).sum()
    expected = won.groupby("owner_id").mean()["revenue"].sum() * 1.1
    team = plans[plans["owner_id"].isna() & (plans["metric"] == "revenue")]["target"]
    assert (team == round(expected, 0)).all()
    first = parts[0]["plans"]
    assert team.iloc[0] != first[first["owner_id"].isna() & (first["metric"] == "revenue")]["target"].iloc[0]


def test_planted_slow_manager_and_stale_deals_are_found(sample_db):
    con = connect(sample_db, read_only=True)
    cycle = metrics.won_cycle(con, as_of="2026-11-01")
    owners = cycle[(cycle["level"] == "owner") & (cycle["n"] >= 20)]
    slowest = owners.sort_values("median_days").iloc[-1]
    team = cycle.loc[cycle["level"] == "team", "median_days"].iloc[0]
    assert slowest["name"] == sample.PLANTED["slow_manager"]
    assert slowest["median_days_low"] > team  # the whole interval above the team median
    stale = metrics.stale_by_owner(con, as_of="2026-11-01")
    assert stale.iloc[0]["owner"] == sample.PLANTED["slow_manager"]  # most money at stake


def test_sample_loads_losslessly(sample_db):
    con = connect(sample_db, read_only=True)
    # the one planted repeated row is the only reject
    assert con.execute("select count(*) from rejects").fetchone()[0] == sample.DEFECTS["duplicated_ids"]
    # key uniqueness and one synthetic history row per deal without history
    assert con.execute("select count(*) - count(distinct deal_id) from deals").fetchone()[0] == 0
    assert (
        con.execute("""select count(*) from deals where not exists
        (select 1 from stage_changes s where s.deal_id = deals.deal_id)""").fetchone()[0]
        == 0
    )


def test_maven_crm_win_cycle_matches_pandas(shared_data, tmp_path):
    con = connect(tmp_path / "maven.duckdb")
    results = load(con, [shared_data / "maven_crm"], mapping_file=MAPPINGS / "maven_crm.yml")
    deals = [r for r in results if r.table == "deals"][0]
    assert deals.rows_read == 8800 == deals.rows_loaded + deals.rows_rejected
    raw = pd.read_csv(
        shared_data / "maven_crm" / "sales_pipeline.csv", parse_dates=["engage_date", "close_date"]
    )
    won = raw[raw["deal_stage"] == "Won"]
    cycle = (won["close_date"] - won["engage_date"]).dt.days
    table = metrics.won_cycle(con, as_of="2018-01-01", period_start="2016-01-01")
    team = table[table["level"] == "team"].iloc[0]
    assert team["n"] == len(won) == 4238
    assert team["median_days"] == pytest.approx(cycle.median()) == 57
    per_agent = cycle.groupby(won["sales_agent"]).median()
    for row in table[table["level"] == "owner"].itertuples():
        assert row.median_days == pytest.approx(per_agent[row.name])


def test_olist_source_counts_and_censoring(shared_data, tmp_path):
    con = connect(tmp_path / "olist.duckdb")
    results = load(con, [shared_data / "olist_funnel"], mapping_file=MAPPINGS / "olist_funnel.yml")
    for r in results:
        assert r.rows_read == r.rows_loaded + r.rows_rejected
    organic = con.execute("""select count(*), count(*) filter (status = 'won') from deals
                             where source = 'organic search'""").fetchone()
    assert organic == (2296, 271)
    # the deal won before its first contact is left out of durations, not negative
    ttc = metrics.time_to_close(con, as_of="2019-01-01", period_start="2017-01-01")
    team = ttc[ttc["level"] == "team"].iloc[0]
    assert team["n"] == 8000 - 1 and team["n_open"] == 8000 - 842
    assert np.isnan(team["median_days"])  # most leads never close: the median is not reached


def test_maven_win_rates_per_agent_and_manager_match_pandas(shared_data, tmp_path):
    con = connect(tmp_path / "maven.duckdb")
    load(con, [shared_data / "maven_crm"], mapping_file=MAPPINGS / "maven_crm.yml")
    raw = pd.read_csv(
        shared_data / "maven_crm" / "sales_pipeline.csv", parse_dates=["engage_date", "close_date"]
    )
    teams = pd.read_csv(shared_data / "maven_crm" / "sales_teams.csv")
    raw = raw.merge(teams, on="sales_agent", how="left")
    closed = raw[raw["deal_stage"].isin(["Won", "Lost"])]
    window = {"as_of": "2018-01-01", "period_start": "2016-01-01"}
    for by, column in (("owner", "sales_agent"), ("team", "manager")):
        expected = closed.groupby(column)["deal_stage"].apply(lambda s: (s == "Won").mean())
        got = metrics.win_rates(con, **window, by=by).set_index("name")
        got = got[got["level"] != "team"]["win_rate"]
        pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False)
    won = raw[raw["deal_stage"] == "Won"]
    expected = (won["close_date"] - won["engage_date"]).dt.days.groupby(won["manager"]).median()
    cycle = metrics.won_cycle(con, **window)
    got = cycle[cycle["level"] == "group"].set_index("name")["median_days"]
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index().astype(float), check_names=False)


def test_salesforce_zero_length_stages_break_nothing(shared_data, tmp_path):
    """Salesforce's demo export: every history row at one instant (zero-length stays), closed at
    creation. Loaded by the Salesforce importer, it runs through every metric."""
    con = connect(tmp_path / "sf.duckdb")
    results = {r.table: r for r in load(con, [shared_data / "salesforce_sample"])}  # auto-detected
    assert (results["deals"].rows_read, results["deals"].rows_loaded) == (31, 31)
    history = results["stage_changes"]  # 62 saves, 31 of them repeat the stage before
    assert (history.rows_read, history.rows_loaded, history.rows_rejected) == (62, 31, 31)
    window = {"as_of": "2021-01-01", "period_start": "2010-01-01"}
    stages_table = metrics.stage_durations(con, **window)
    assert len(stages_table) and (stages_table["median_days"].dropna() == 0).all()  # all stays zero-length
    for name in (
        "stage_conversion",
        "stage_flow",
        "manager_stage_durations",
        "manager_scorecard",
        "won_cycle",
        "time_to_close",
        "stale_deals",
        "stuck_deals",
        "whatif_stage",
        "data_audit",
    ):
        metrics.compute(name, con, **window)  # runs, whatever the degenerate history


def test_audit_finds_the_planted_defects(sample_db):
    con = connect(sample_db, read_only=True)
    checks = metrics.data_audit(con, as_of="2026-11-01").set_index("check_name")["found"]
    for check, count in sample.DEFECTS.items():
        assert checks[check] == count, check
    assert (
        checks["no_history"]
        == con.execute("select count(*) from deals where created_at is null").fetchone()[0]
    )
    trust = metrics.data_trust(con, as_of="2026-11-01").set_index("family")
    assert trust.loc["durations", "share"] == 1.0  # every CRM deal has stage history in the sample


def test_audit_examples_are_the_first_ids_in_order(sample_db):
    """Example ids are stable from run to run: the first five in id order, never an arbitrary
    five (skips, regressions and bulk moves used to come in hash order)."""
    con = connect(sample_db, read_only=True)
    audit = metrics.data_audit(con, as_of="2026-11-01").set_index("check_name")
    for check in ("stage_skips", "regressions", "bulk_moves", "no_history"):
        shown = audit.loc[check, "examples"].split(", ")
        assert len(shown) == 5 and shown == sorted(shown), check
