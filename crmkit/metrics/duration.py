"""METRICS.md §1: pipeline duration — won cycle, time to close with censoring, stale and
stuck deals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmkit import stats
from crmkit.db import query
from crmkit.metrics.core import Window, group_rows, metric, window

HORIZONS = (30, 60, 90)
FALLBACK_STALE_DAYS = 30.0


@metric(
    "Won cycle (created → won), days, per pipeline, sales team and owner: mean, median with 95% CI, quartiles"
)
def won_cycle(con, *, as_of, period_start=None, pipeline=None, owner=None) -> pd.DataFrame:
    won = _won(con, window(as_of, period_start), pipeline, owner)

    def summarise(part):
        cycles = _measured_cycles(part)
        q = stats.sample_quantiles(cycles)
        return {
            "n": q.n,
            "mean_days": cycles.mean() if q.n else np.nan,
            **q.columns("days"),
            "n_excluded": int(part["excluded_reason"].notna().sum()),
            "won_amount": stats.money_total(part["amount"]),
        }

    return group_rows(won.rename(columns={"team": "group"}), ["pipeline", "group", "owner"], summarise)


def _won(con, span: Window, pipeline, owner) -> pd.DataFrame:
    columns = ("pipeline", "team", "owner", "amount", "cycle_days", "excluded_reason")  # not titles
    return query(con, "metrics/won_deals", **span.params(pipeline, owner), columns=columns)


def _measured_cycles(won: pd.DataFrame) -> pd.Series:
    """The won cycles that can be measured (not those without a creation date or closed before it)."""
    return won.loc[won["excluded_reason"].isna(), "cycle_days"]


def team_won_cycle(con, span: Window, pipeline=None) -> stats.Quantiles:
    """won_cycle's team row (owner filter ignored: a team yardstick), without the other rows."""
    return stats.sample_quantiles(_measured_cycles(_won(con, span, pipeline, None)))


@metric(
    "Time to close of the deals created in the window, Kaplan–Meier (open deals censored), "
    "with the share won/lost by day 30/60/90"
)
def time_to_close(con, *, as_of, period_start=None, pipeline=None, owner=None) -> pd.DataFrame:
    span = window(as_of, period_start)
    cohort = _cohort(con, span, pipeline, owner)

    def summarise(part):
        q = stats.survival_quantiles(part["days"], part["outcome"] != "open")
        incidence = stats.cumulative_incidence(part["days"], part["outcome"], HORIZONS)
        row = {"n": q.n, "n_closed": q.n_events, "n_open": q.n - q.n_events, **q.columns("days")}
        for horizon, (share, low, high) in zip(HORIZONS, incidence["won"], strict=True):
            row.update(
                {f"won_by_{horizon}": share, f"won_by_{horizon}_low": low, f"won_by_{horizon}_high": high}
            )
        return row

    return group_rows(cohort, ["pipeline", "owner"], summarise)


@metric("Kaplan–Meier curve of the window's cohort: share still open by day, with 95% band")
def time_to_close_curve(con, *, as_of, period_start=None, pipeline=None, owner=None) -> pd.DataFrame:
    span = window(as_of, period_start)
    cohort = _cohort(con, span, pipeline, owner)
    curve = stats.survival_curve(cohort["days"], cohort["outcome"] != "open")
    frame = pd.DataFrame(curve)
    frame["n_at_start"] = len(cohort)
    return frame


def _cohort(con, span: Window, pipeline, owner) -> pd.DataFrame:
    cohort = query(con, "metrics/deal_lifetimes", **span.params(pipeline, owner))
    # A close before creation is a data error (the audit lists it), not a negative duration.
    return cohort[~cohort["is_closed_before_created"].fillna(False).astype(bool)]


@metric("Open deals older than a threshold (default: the median won cycle), oldest first")
def stale_deals(
    con, *, as_of, period_start=None, pipeline=None, owner=None, threshold_days: float | None = None
) -> pd.DataFrame:
    span = window(as_of, period_start)
    if threshold_days is None:
        threshold_days = stale_threshold(con, span, pipeline, owner)
    open_deals = query(con, "metrics/open_deals", **span.params(pipeline, owner))
    stale = open_deals[open_deals["age_days"] > threshold_days].copy()
    stale["threshold_days"] = threshold_days
    columns = [
        "deal_id",
        "title",
        "owner",
        "pipeline",
        "stage",
        "age_days",
        "days_in_stage",
        "amount",
        "currency",
        "threshold_days",
    ]
    out = stale.sort_values(["age_days", "deal_id"], ascending=[False, True])[columns].reset_index(drop=True)
    out.attrs["threshold_days"] = threshold_days  # known even when no deal is stale
    return out


def stale_threshold(con, span: Window, pipeline=None, owner=None) -> float:
    """The team's median won cycle over the window (owner filter ignored: a team yardstick);
    30 days when nothing was won in the window, so the list is never empty by construction."""
    median = team_won_cycle(con, span, pipeline).median
    return float(median) if np.isfinite(median) else FALLBACK_STALE_DAYS


@metric("Open deals in a stage longer than that stage's historical 90th percentile stay")
def stuck_deals(con, *, as_of, period_start=None, pipeline=None, owner=None) -> pd.DataFrame:
    span = window(as_of, period_start)
    open_deals = query(con, "metrics/open_deals", **span.params(pipeline, owner))
    yardstick = query(con, "metrics/stage_stay_quantiles", **span.params())
    merged = open_deals.merge(yardstick, on=["pipeline_id", "stage_id"], how="inner")
    stuck = merged[merged["days_in_stage"] > merged["p90_days"]].copy()
    columns = [
        "deal_id",
        "title",
        "owner",
        "pipeline",
        "stage",
        "days_in_stage",
        "p90_days",
        "n_stays",
        "age_days",
        "amount",
        "currency",
    ]
    return stuck.sort_values(["days_in_stage", "deal_id"], ascending=[False, True])[columns].reset_index(
        drop=True
    )


@metric("Stale deals per owner: count and amount at stake")
def stale_by_owner(
    con, *, as_of, period_start=None, pipeline=None, owner=None, threshold_days: float | None = None
) -> pd.DataFrame:
    stale = stale_deals(
        con,
        as_of=as_of,
        period_start=period_start,
        pipeline=pipeline,
        owner=owner,
        threshold_days=threshold_days,
    )
    span = window(as_of, period_start)
    open_deals = query(con, "metrics/open_deals", **span.params(pipeline, owner))
    totals = open_deals.groupby("owner").agg(n_open=("deal_id", "size"))
    per_owner = stale.groupby("owner").agg(
        n_stale=("deal_id", "size"), stale_amount=("amount", stats.money_total)
    )
    out = totals.join(per_owner, how="left").fillna({"n_stale": 0}).reset_index()
    out["n_stale"] = out["n_stale"].astype(int)
    out["stale_share"] = out["n_stale"] / out["n_open"]
    bounds = [stats.wilson(s, n) for s, n in zip(out["n_stale"], out["n_open"], strict=True)]
    out["stale_share_low"] = [b[0] for b in bounds]
    out["stale_share_high"] = [b[1] for b in bounds]
    return out.sort_values(["stale_amount", "owner"], ascending=[False, True]).reset_index(drop=True)


@metric(
    "Every stage visit at as_of: entered, exited (empty while current), days, next stage, "
    "regression, skip, pipeline move, visit number — the view all stage metrics read",
    whole_account=True,
)
def stage_intervals(con, *, as_of, period_start=None, pipeline=None, owner=None) -> pd.DataFrame:
    return query(con, "metrics/stage_intervals", as_of=window(as_of, period_start).as_of.to_pydatetime())
