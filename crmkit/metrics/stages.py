"""METRICS.md §2: stage bottlenecks — time per stage, WIP and flow, the visit identity,
managers × stages, the Little's-law what-if."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmkit import stats
from crmkit.db import query
from crmkit.errors import CrmkitError
from crmkit.metrics.core import metric, window
from crmkit.metrics.duration import stuck_deals

OUTCOMES = ("advanced", "lost", "regressed", "moved", "still_here")


@metric(
    "Per open stage: visits, finished-stay median/mean/p90 with CI, Kaplan–Meier median with current "
    "stays censored, WIP now, exits per week, share of cycle time, and entered = advanced + lost + "
    "regressed + moved + still here"
)
def stage_durations(con, *, as_of, period_start=None, pipeline=None, owner=None) -> pd.DataFrame:
    span = window(as_of, period_start)
    stays = query(con, "metrics/stage_stays", **span.params(pipeline, owner))
    open_now = query(con, "metrics/open_deals", **span.params(pipeline, owner))
    wip = open_now.groupby(["pipeline", "stage"]).agg(
        size=("deal_id", "size"), sum=("amount", stats.money_total), currency=("currency", "first")
    )
    weeks = (span.as_of - span.period_start) / pd.Timedelta(days=7)
    rows = []
    for stay in stays.itertuples(index=False):
        finished, current = stay.finished_days, stay.current_days
        days = np.concatenate([finished, current])
        closed = np.arange(len(days)) < len(finished)
        q = stats.sample_quantiles(finished)
        km = stats.survival_quantiles(days, closed)
        spread = np.percentile(finished, [10, 90]) if len(finished) else (np.nan, np.nan)
        key = (stay.pipeline, stay.stage)
        now = wip.loc[key] if key in wip.index else {"size": 0, "sum": 0.0, "currency": ""}
        rows.append(
            {
                "pipeline": stay.pipeline,
                "position": stay.position,
                "stage": stay.stage,
                "n": len(days),
                "n_finished": len(finished),
                **q.columns("days"),
                "mean_days": finished.mean() if len(finished) else np.nan,
                "p10_days": spread[0],
                "p90_days": spread[1],
                "km_median_days": km.median,
                "km_median_days_low": km.median_low,
                "km_median_days_high": km.median_high,
                "wip_now": int(now["size"]),
                "wip_amount": float(now["sum"]),
                "currency": now["currency"],
                "exits_per_week": len(finished) / weeks,
                "days_total": float(days.sum()),
                **{outcome: int(getattr(stay, outcome)) for outcome in OUTCOMES},
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["share_of_cycle"] = table["days_total"] / table.groupby("pipeline")["days_total"].transform("sum")
    return table


@metric("Work in progress per open stage at the start of each week of the window (cumulative flow)")
def stage_flow(con, *, as_of, period_start=None, pipeline=None, owner=None) -> pd.DataFrame:
    span = window(as_of, period_start)
    return query(con, "metrics/stage_wip_weekly", **span.params(pipeline, owner))


@metric("Median finished stay per manager and open stage, with CI and n (the manager × stage heatmap)")
def manager_stage_durations(con, *, as_of, period_start=None, pipeline=None, owner=None) -> pd.DataFrame:
    span = window(as_of, period_start)
    stays = query(con, "metrics/manager_stage_stays", **span.params(pipeline, None))  # the team's yardstick
    open_now = query(con, "metrics/open_deals", **span.params(pipeline, None))
    wip = open_now.groupby(["pipeline", "stage", "owner"])["amount"].sum(min_count=1)
    rows, yardstick = [], None
    for stay in stays.itertuples(index=False):  # each stage's team row comes before its owners'
        if stay.is_team:
            yardstick = stats.sample_quantiles(stay.finished_days)
            continue
        if owner and stay.owner != owner:
            continue
        q = stats.sample_quantiles(stay.finished_days)
        rows.append(
            {
                "pipeline": stay.pipeline,
                "position": stay.position,
                "stage": stay.stage,
                "owner": stay.owner,
                "n": q.n,
                **q.columns("days"),
                "team_median_days": yardstick.median,
                "ratio_to_team": q.median / yardstick.median if yardstick.median else np.nan,
                "wip_amount": float(wip.get((stay.pipeline, stay.stage, stay.owner), 0.0)),
            }
        )
    return pd.DataFrame(rows)


@metric(
    "What-if: shorten one stage by a share; new cycle time and throughput at constant WIP by "
    "Little's law, with bootstrap 95% intervals"
)
def whatif_stage(
    con,
    *,
    as_of,
    period_start=None,
    pipeline=None,
    owner=None,
    stage=None,
    reduction: float = 0.5,
    resamples: int = 2000,
    seed: int = 1,
) -> pd.DataFrame:
    """Little's law: throughput = WIP / cycle time. Shortening stage s by x% cuts the mean cycle
    by x% of the mean time a won deal spends in s (re-visits included); with WIP held constant,
    throughput grows by old/new − 1. Assumes the other stages and the win rate stay as they are."""
    span = window(as_of, period_start)
    if not 0 <= reduction <= 1:
        raise CrmkitError(f"reduction is a share between 0 and 1, not {reduction}")
    # every stay of the won deals with real history, in the pipeline each was won in
    stays = query(con, "metrics/whatif_stays", **span.params(pipeline, owner))
    rng = np.random.default_rng(seed)
    rows = []
    for pipe, part in stays.groupby("pipeline", sort=True):
        per_deal = part.pivot_table(index="deal_number", columns="stage", values="days", aggfunc="sum")
        per_deal = per_deal.fillna(0.0)  # a stage a deal never entered: no days there
        names = [name for name in per_deal.columns if not stage or name == stage]
        if not names:
            continue
        cycle = part.groupby("deal_number")["cycle_days"].first().loc[per_deal.index].to_numpy()
        columns = np.column_stack([cycle, per_deal[names].to_numpy()])

        def new_cycle_and_gain(means):  # (..., 1 + stages) -> (..., 2 × stages)
            return np.concatenate(littles_law(means[..., :1], means[..., 1:], reduction), axis=-1)

        point = new_cycle_and_gain(columns.mean(axis=0))
        low, high = stats.interval_of_means(columns, new_cycle_and_gain, n_resamples=int(resamples), rng=rng)
        k = len(names)
        for j, name in enumerate(names):
            rows.append(
                {
                    "pipeline": pipe,
                    "stage": name,
                    "reduction": reduction,
                    "n": len(cycle),
                    "cycle_days": cycle.mean(),
                    "stage_days": columns[:, 1 + j].mean(),
                    "new_cycle_days": point[j],
                    "new_cycle_days_low": low[j],
                    "new_cycle_days_high": high[j],
                    "throughput_change": point[k + j],
                    "throughput_change_low": low[k + j],
                    "throughput_change_high": high[k + j],
                }
            )
    if stage and not rows:
        raise CrmkitError(f"no won deal with stage history passed stage {stage!r}")
    columns = [
        "pipeline",
        "stage",
        "reduction",
        "n",
        "cycle_days",
        "stage_days",
        "new_cycle_days",
        "new_cycle_days_low",
        "new_cycle_days_high",
        "throughput_change",
        "throughput_change_low",
        "throughput_change_high",
    ]
    return pd.DataFrame(rows, columns=columns).sort_values(
        "throughput_change", ascending=False, ignore_index=True
    )


def littles_law(cycle, stage_days, reduction):
    """Little's law at constant WIP: the new cycle, and throughput's relative change."""
    new_cycle = cycle - reduction * stage_days
    return new_cycle, cycle / new_cycle - 1


@metric("Stuck deals per stage: count and amount (stays above the stage's p90)")
def stuck_by_stage(con, *, as_of, period_start=None, pipeline=None, owner=None) -> pd.DataFrame:
    stuck = stuck_deals(con, as_of=as_of, period_start=period_start, pipeline=pipeline, owner=owner)
    return (
        stuck.groupby(["pipeline", "stage"])
        .agg(
            n_stuck=("deal_id", "size"),
            stuck_amount=("amount", stats.money_total),
            p90_days=("p90_days", "first"),
        )
        .reset_index()
        .sort_values("stuck_amount", ascending=False, ignore_index=True)
    )
