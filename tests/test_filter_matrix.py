"""Every metric under every filter, against an answer known by construction.

A pipeline filter must give exactly what the same metric gives, unfiltered, on an account that
holds only that pipeline (its stages, deals, their history and activities); an owner filter what it
gives on an account of that owner alone (their deals with their history, their activities, their
plans, no other user). Both are run under a window that is not the default one (as_of in the
middle of a day, period_start set) and in the account's time zone, so the window and the zone are
exercised under each filter too. The sample is the fixture: two pipelines, eleven users, planted
defects, 800 deals.

What the owner filter deliberately does not narrow is listed in TEAM_YARDSTICKS: a manager is
measured against the team (the team's median stay, the team's median won cycle as the stale
threshold, the team's stage history as the forecast's base rates), so those columns are the team's
under an owner filter and the manager's own on the one-owner account.
"""

from __future__ import annotations

import inspect

import pandas as pd
import pytest

from crmkit import metrics, sample
from crmkit.db import connect
from crmkit.errors import CrmkitError
from crmkit.importers import load

AS_OF, PERIOD_START, ZONE = "2026-09-15 10:00:00", "2026-03-01", "Europe/Moscow"
# «Основная воронка» (with the sales before the CRM) and «Повторные продажи»
PIPELINE_IDS = ("7001001", "7001002")
OWNER_ID = "1001"  # Иван Петров: moves only his own deals, no one else moves his (checked below)

WHOLE_ACCOUNT = {"coverage_by_month", "data_audit", "data_trust", "data_freshness", "load_history"}
WHOLE_ACCOUNT |= {"stage_intervals"}
SCOPED = sorted(name for name in metrics.REGISTRY if name not in WHOLE_ACCOUNT)

# column → why it is the team's under an owner filter
TEAM_YARDSTICKS = {
    "manager_stage_durations": {"team_median_days", "ratio_to_team"},  # the team's median stay
    # a client's history is the team's: a purchase is repeat whoever of the team sold it first
    "repeat_business": {"n_repeat", "repeat_share", "repeat_share_low", "repeat_share_high", "repeat_revenue",
                        "repeat_revenue_share", "n_clients_followed", "n_returned", "return_rate",
                        "return_rate_low", "return_rate_high"},
    # a manager's reasons against the rest of the team's, tested within the whole team's family
    "loss_reasons_by_owner": {"team_share", "p", "q", "is_different"},
    "stale_deals": {"threshold_days"},  # the team's median won cycle
    "source_conversion": {"maturity_days", "n_mature", "n_mature_won", "mature_rate", "mature_rate_low",
                          "mature_rate_high", "horizon_rate", "horizon_rate_low", "horizon_rate_high",
                          "is_weak"},  # the team's won-cycle P75 as maturity
    "source_manager_conversion": {"maturity_days", "n_mature", "n_mature_won", "mature_rate",
                                  "mature_rate_low", "mature_rate_high", "horizon_rate", "horizon_rate_low",
                                  "horizon_rate_high", "is_weak"},
    # the team's stage history gives the win rates and times: only the deals forecast are the owner's
    # (and the calibration, learnt from forecasts made with it; the deals the history can follow)
    "forecast": {"weighted_pipeline", "mean", "p10", "p50", "p90", "band_scale", "calibrated_on",
                 "n_unknown"},
    "forecast_backtest": {"weighted_pipeline", "mean", "p10", "p50", "p90", "error", "covered", "band_scale",
                          "calibrated_on", "n_unknown", "actual"},
    "forecast_deals": {"n", "p_win", "p_win_low", "p_win_high", "p_win_now", "p_in_horizon",
                       "expected_revenue", "median_days_to_win"},
}  # fmt: skip


@pytest.fixture(scope="module")
def accounts(tmp_path_factory):
    """The full account and the two accounts whose unfiltered answers are the filtered ones."""
    tables = sample.generate(800)
    deals, changes, acts = tables["deals"], tables["stage_changes"], tables["activities"]
    as_text = {name: frame.astype({c: str for c in frame.columns if c.endswith("_id") or c == "changed_by"})
               for name, frame in tables.items()}  # fmt: skip
    deals, changes, acts = as_text["deals"], as_text["stage_changes"], as_text["activities"]

    # the premises that make the constructed answers the right ones
    assert changes.groupby("deal_id")["pipeline_id"].nunique().max() == 1, "a deal moved pipelines"
    owners = changes.merge(deals[["deal_id", "owner_id"]], on="deal_id")
    foreign = owners[owners["changed_by"] != owners["owner_id"]]
    assert OWNER_ID not in set(foreign["owner_id"]) | set(foreign["changed_by"])
    on_deals = acts.merge(deals[["deal_id", "owner_id"]], on="deal_id", suffixes=("", "_deal"))
    assert (on_deals["owner_id"] == on_deals["owner_id_deal"]).all()

    of_owner = set(deals.loc[deals["owner_id"] == OWNER_ID, "deal_id"])
    def pipeline_only(pipeline_id):
        in_pipeline = set(deals.loc[deals["pipeline_id"] == pipeline_id, "deal_id"])
        return {
            **as_text,
            "pipelines": as_text["pipelines"].query("pipeline_id == @pipeline_id"),
            "stages": as_text["stages"].query("pipeline_id == @pipeline_id"),
            "deals": deals[deals["deal_id"].isin(in_pipeline)],
            "stage_changes": changes[changes["deal_id"].isin(in_pipeline)],
            "activities": acts[acts["deal_id"].isin(in_pipeline)],  # a call about no deal: in no pipeline
            "plans": as_text["plans"].iloc[0:0],  # plans are not per pipeline
        }

    owner_only = {
        **as_text,
        "users": as_text["users"].query("user_id == @OWNER_ID"),
        "deals": deals[deals["deal_id"].isin(of_owner)],
        "stage_changes": changes[changes["deal_id"].isin(of_owner)],
        "activities": acts[acts["owner_id"] == OWNER_ID],
        "plans": as_text["plans"].query("owner_id == @OWNER_ID"),
    }
    built = {}
    accounts = {"full": as_text, "owner": owner_only} | {pid: pipeline_only(pid) for pid in PIPELINE_IDS}
    for name, content in accounts.items():
        folder = tmp_path_factory.mktemp(name)
        sample.write(content, folder)
        con = connect(folder / "crm.duckdb")
        load(con, [folder], time_zone=ZONE)
        built[name] = (con, str(folder / "adoption.yml"))
    full = built["full"][0]
    def name_of(table, key, value):
        return full.execute(f"select name from {table} where {key} = ?", [value]).fetchone()[0]

    named = {pid: ("pipeline", name_of("pipelines", "pipeline_id", pid)) for pid in PIPELINE_IDS}
    named["owner"] = ("owner", name_of("users", "user_id", OWNER_ID))
    return built, named


def _run(name, con, adoption, **filters):
    accepted = inspect.signature(metrics.REGISTRY[name][0]).parameters
    options = {"adoption": adoption} if "adoption" in accepted else {}
    if "time_zone" in accepted:
        options["time_zone"] = ZONE
    try:
        table = metrics.compute(name, con, as_of=AS_OF, period_start=PERIOD_START, **options, **filters)
    except CrmkitError as refusal:  # e.g. no sales before the adoption in this pipeline: say so alike
        return pd.DataFrame({"refused": [str(refusal)]})
    return table.reset_index(drop=True)


@pytest.mark.parametrize("account", [*PIPELINE_IDS, "owner"])
@pytest.mark.parametrize("name", SCOPED)
def test_a_filtered_metric_is_the_metric_of_the_filtered_account(accounts, name, account):
    built, filters = accounts
    full, full_adoption = built["full"]
    alone, alone_adoption = built[account]
    kind, value = filters[account]
    filtered = _run(name, full, full_adoption, **{kind: value})
    expected = _run(name, alone, alone_adoption)
    if kind == "owner":
        skip = TEAM_YARDSTICKS.get(name, set()) & set(expected.columns)
        filtered, expected = filtered.drop(columns=list(skip)), expected.drop(columns=list(skip))
        if name == "forecast_deals":  # ordered by p_in_horizon, a team yardstick
            filtered, expected = (t.sort_values("deal_id", ignore_index=True) for t in (filtered, expected))
    pd.testing.assert_frame_equal(filtered, expected, check_dtype=False, obj=f"{name}({kind}=…)")


def test_the_filters_narrow_something(accounts):
    """The construction is not vacuous: each filter leaves out deals the full account has."""
    built, filters = accounts
    full = built["full"][0]
    everyone = _run("won_cycle", full, "")
    for kind, value in filters.values():
        narrowed = _run("won_cycle", full, "", **{kind: value})
        assert 0 < narrowed.loc[0, "n"] < everyone.loc[0, "n"], value
    # and the adoption comparison really ran on the pipeline with the sales before the CRM
    assert "refused" not in _run("adoption_roi", full, built["full"][1], pipeline=filters["7001001"][1])
