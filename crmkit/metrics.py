"""Metric tables: `f(con, *, as_of, period_start, pipeline, owner, ...) -> DataFrame`.

The notebooks and `crmkit metrics` call these same functions. Every table shows `n`, and an
interval wherever it shows a median or a rate: column `X` has its 95% interval in `X_low` and
`X_high`. `as_of` is the moment the data is seen from
(events strictly before it count); the window is [period_start, as_of), by default the 12
months before as_of. Definitions: METRICS.md.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmkit import stats
from crmkit.db import query
from crmkit.errors import CrmkitError

REGISTRY: dict[str, tuple[Callable, str]] = {}
HORIZONS = (30, 60, 90)


def metric(description: str):
    """Register a metric table under its function name, with a one-line description."""

    def register(func):
        REGISTRY[func.__name__] = (func, description)
        return func

    return register


@dataclass(frozen=True)
class Window:
    as_of: pd.Timestamp
    period_start: pd.Timestamp

    def params(self, pipeline=None, owner=None) -> dict:
        return {
            "as_of": self.as_of.to_pydatetime(),
            "period_start": self.period_start.to_pydatetime(),
            "pipeline": pipeline or None,
            "owner": owner or None,
        }


def window(as_of, period_start=None, months: int = 12) -> Window:
    """Read `as_of` and `period_start` (default: `months` months before as_of)."""
    try:
        end = pd.Timestamp(as_of)
        start = pd.Timestamp(period_start) if period_start else end - pd.DateOffset(months=months)
    except (ValueError, TypeError) as exc:
        raise CrmkitError(f"cannot read a date from {as_of!r} / {period_start!r}: {exc}") from exc
    if start >= end:
        raise CrmkitError(f"period_start {start:%Y-%m-%d} must be before as_of {end:%Y-%m-%d}")
    return Window(end, start)


def _group_rows(frame: pd.DataFrame, by: list[str], summarise: Callable) -> pd.DataFrame:
    """One row for everybody ("team") and one per value of each column in `by`."""
    rows = [{"level": "team", "name": "—", **summarise(frame)}]
    for column in by:
        for name, part in frame.groupby(column, sort=True):
            rows.append({"level": column, "name": name, **summarise(part)})
    return pd.DataFrame(rows)


@metric(
    "Won cycle (created → won), days, per pipeline, sales team and owner: mean, median with 95% CI, quartiles"
)
def won_cycle(con, *, as_of, period_start=None, pipeline=None, owner=None) -> pd.DataFrame:
    span = window(as_of, period_start)
    won = query(con, "metrics/won_deals", **span.params(pipeline, owner))

    def summarise(part):
        usable = part[part["excluded_reason"].isna()]
        q = stats.sample_quantiles(usable["cycle_days"])
        return {
            "n": q.n,
            "mean_days": usable["cycle_days"].mean() if q.n else np.nan,
            **q.columns("days"),
            "n_excluded": int(part["excluded_reason"].notna().sum()),
            "won_amount": float(part["amount"].sum()),
        }

    return _group_rows(won.assign(group=won["team"]), ["pipeline", "group", "owner"], summarise)


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

    return _group_rows(cohort, ["pipeline", "owner"], summarise)


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
    """The team's median won cycle over the window (owner filter ignored: a team yardstick)."""
    team = won_cycle(con, as_of=span.as_of, period_start=span.period_start, pipeline=pipeline)
    median = team.loc[team["level"] == "team", "median_days"].iloc[0]
    return float(median) if np.isfinite(median) else 30.0


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
    per_owner = stale.groupby("owner").agg(n_stale=("deal_id", "size"), stale_amount=("amount", "sum"))
    out = totals.join(per_owner, how="left").fillna({"n_stale": 0, "stale_amount": 0}).reset_index()
    out["n_stale"] = out["n_stale"].astype(int)
    out["stale_share"] = out["n_stale"] / out["n_open"]
    bounds = [stats.wilson(s, n) for s, n in zip(out["n_stale"], out["n_open"], strict=True)]
    out["stale_share_low"] = [b[0] for b in bounds]
    out["stale_share_high"] = [b[1] for b in bounds]
    return out.sort_values(["stale_amount", "owner"], ascending=[False, True]).reset_index(drop=True)


# --- §2 Stage bottlenecks -------------------------------------------------------------------

OUTCOMES = ("advanced", "lost", "regressed", "moved", "still_here")


def _stage_visits(con, span: Window, pipeline, owner) -> pd.DataFrame:
    return query(con, "metrics/stage_visits", **span.params(pipeline, owner))


@metric(
    "Per open stage: visits, finished-stay median/mean/p90 with CI, Kaplan–Meier median with current "
    "stays censored, WIP now, exits per week, share of cycle time, and entered = advanced + lost + "
    "regressed + moved + still here"
)
def stage_durations(con, *, as_of, period_start=None, pipeline=None, owner=None) -> pd.DataFrame:
    span = window(as_of, period_start)
    visits = _stage_visits(con, span, pipeline, owner)
    open_now = query(con, "metrics/open_deals", **span.params(pipeline, owner))
    wip = open_now.groupby(["pipeline", "stage"]).agg(
        size=("deal_id", "size"), sum=("amount", "sum"), currency=("currency", "first")
    )
    weeks = (span.as_of - span.period_start) / pd.Timedelta(days=7)
    rows = []
    for (pipe, position, stage), part in visits.groupby(["pipeline", "position", "stage"], sort=True):
        finished = part.loc[~part["is_current"], "days"]
        q = stats.sample_quantiles(finished)
        km = stats.survival_quantiles(part["days"], ~part["is_current"])
        outcomes = part["outcome"].value_counts()
        spread = np.percentile(finished, [10, 90]) if len(finished) else (np.nan, np.nan)
        now = (
            wip.loc[(pipe, stage)] if (pipe, stage) in wip.index else {"size": 0, "sum": 0.0, "currency": ""}
        )
        rows.append(
            {
                "pipeline": pipe,
                "position": position,
                "stage": stage,
                "n": len(part),
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
                "days_total": float(part["days"].sum()),
                **{outcome: int(outcomes.get(outcome, 0)) for outcome in OUTCOMES},
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
    visits = _stage_visits(con, span, pipeline, None)  # the team's yardstick, then the owner
    finished = visits[~visits["is_current"]]
    open_now = query(con, "metrics/open_deals", **span.params(pipeline, None))
    wip = open_now.groupby(["pipeline", "stage", "owner"])["amount"].sum()
    rows = []
    for (pipe, position, stage), part in finished.groupby(["pipeline", "position", "stage"], sort=True):
        team = stats.sample_quantiles(part["days"])
        for name, mine in part.groupby("owner", sort=True):
            if owner and name != owner:
                continue
            q = stats.sample_quantiles(mine["days"])
            rows.append(
                {
                    "pipeline": pipe,
                    "position": position,
                    "stage": stage,
                    "owner": name,
                    "n": q.n,
                    **q.columns("days"),
                    "team_median_days": team.median,
                    "ratio_to_team": q.median / team.median if team.median else np.nan,
                    "wip_amount": float(wip.get((pipe, stage, name), 0.0)),
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
    won = query(con, "metrics/won_deals", **span.params(pipeline, owner))
    won = won[won["excluded_reason"].isna()]
    # every stay of those deals, whenever it began; deals without real history are left out:
    # their stage times are unknown, not zero
    visits = query(con, "metrics/stage_visits", **window(as_of, "1900-01-01").params(pipeline, owner))
    # each won deal counts in the pipeline it was won in, with its stays in that pipeline's stages
    won_in = won.set_index("deal_id")["pipeline"]
    visits = visits[visits["deal_id"].map(won_in) == visits["pipeline"]]
    rng = np.random.default_rng(seed)
    rows = []
    for pipe, part in visits.groupby("pipeline", sort=True):
        per_deal = part.pivot_table(index="deal_id", columns="stage", values="days", aggfunc="sum")
        per_deal = per_deal.fillna(0.0)
        cycle = won.set_index("deal_id").loc[per_deal.index, "cycle_days"].to_numpy()
        picks = rng.integers(0, len(cycle), (resamples, len(cycle)))
        for name in per_deal.columns:
            if stage and name != stage:
                continue
            in_stage = per_deal[name].to_numpy()
            new_cycle, gain = _little(cycle.mean(), in_stage.mean(), reduction)
            boot_new, boot_gain = _little(cycle[picks].mean(axis=1), in_stage[picks].mean(axis=1), reduction)
            rows.append(
                {
                    "pipeline": pipe,
                    "stage": name,
                    "reduction": reduction,
                    "n": len(cycle),
                    "cycle_days": cycle.mean(),
                    "stage_days": in_stage.mean(),
                    "new_cycle_days": new_cycle,
                    "new_cycle_days_low": np.percentile(boot_new, 2.5),
                    "new_cycle_days_high": np.percentile(boot_new, 97.5),
                    "throughput_change": gain,
                    "throughput_change_low": np.percentile(boot_gain, 2.5),
                    "throughput_change_high": np.percentile(boot_gain, 97.5),
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


def _little(cycle, stage_days, reduction):
    """Little's law at constant WIP: the new cycle, and throughput's relative change."""
    new_cycle = cycle - reduction * stage_days
    return new_cycle, cycle / new_cycle - 1


@metric("Stuck deals per stage: count and amount (stays above the stage's p90)")
def stuck_by_stage(con, *, as_of, period_start=None, pipeline=None, owner=None) -> pd.DataFrame:
    stuck = stuck_deals(con, as_of=as_of, period_start=period_start, pipeline=pipeline, owner=owner)
    return (
        stuck.groupby(["pipeline", "stage"])
        .agg(n_stuck=("deal_id", "size"), stuck_amount=("amount", "sum"), p90_days=("p90_days", "first"))
        .reset_index()
        .sort_values("stuck_amount", ascending=False, ignore_index=True)
    )


# --- §3 Funnels and manager KPIs ---------------------------------------------------------


def _conversion_rows(counts: pd.DataFrame) -> pd.DataFrame:
    """Add conversion = advanced / (advanced + lost) with its Wilson interval."""
    out = counts.copy()
    out["n"] = out["advanced"] + out["lost"]
    bounds = [stats.wilson(a, n) for a, n in zip(out["advanced"], out["n"], strict=True)]
    out["conversion"] = np.where(out["n"] > 0, out["advanced"] / out["n"].where(out["n"] > 0), np.nan)
    out["conversion_low"] = [b[0] for b in bounds]
    out["conversion_high"] = [b[1] for b in bounds]
    return out


def _cohort_funnel(deals: pd.DataFrame, stage_list: pd.DataFrame) -> pd.DataFrame:
    """Per open stage: reached (passed or stopped there), advanced, lost, still there, moved."""
    rows = []
    for stage in stage_list.itertuples():
        part = deals[deals["pipeline_id"] == stage.pipeline_id]
        won = part["outcome"] == "won"
        reached = won | (part["furthest_position"] >= stage.position)
        stopped = ~won & (part["furthest_position"] == stage.position)
        rows.append(
            {
                "pipeline": stage.pipeline,
                "position": stage.position,
                "stage": stage.stage,
                "reached": int(reached.sum()),
                "advanced": int((reached & ~stopped).sum()),
                "lost": int((stopped & (part["outcome"] == "lost")).sum()),
                "still_here": int((stopped & (part["outcome"] == "still_here")).sum()),
                "moved": int((stopped & (part["outcome"] == "moved")).sum()),
            }
        )
    return pd.DataFrame(rows)


def _period_funnel(visits: pd.DataFrame) -> pd.DataFrame:
    """Per open stage: how the visits that ended in the window ended, and who is there now."""
    grouped = (
        visits.groupby(["pipeline", "position", "stage"])["outcome"].value_counts().unstack(fill_value=0)
    )
    out = grouped.reindex(columns=list(OUTCOMES), fill_value=0).reset_index()
    out["reached"] = out[list(OUTCOMES)].sum(axis=1)
    return out[
        ["pipeline", "position", "stage", "reached", "advanced", "lost", "still_here", "moved", "regressed"]
    ]


def _open_stage_list(con, pipeline=None) -> pd.DataFrame:
    stages = con.execute(
        "select s.pipeline_id, p.name as pipeline, s.stage_id, s.name as stage, s.position "
        "from stages s join pipelines p using (pipeline_id) where s.kind = 'open' order by 1, s.position"
    ).df()
    if pipeline:
        stages = stages[(stages["pipeline"] == pipeline) | (stages["pipeline_id"] == pipeline)]
    return stages


@metric(
    "Stage-to-stage conversion advanced / (advanced + lost), Wilson 95% CI, per manager and team; "
    "deals still at a stage apart; view=cohort (created in the window) or period (visits ended in it)"
)
def stage_conversion(
    con, *, as_of, period_start=None, pipeline=None, owner=None, view: str = "cohort"
) -> pd.DataFrame:
    span = window(as_of, period_start)
    if view not in ("cohort", "period"):
        raise CrmkitError(f"view is cohort or period, not {view!r}")
    if view == "cohort":
        deals = query(con, "metrics/deal_funnel", **span.params(pipeline, owner))
        stage_list = _open_stage_list(con, pipeline)

        def funnel(part):
            return _cohort_funnel(part, stage_list)
    else:
        visits = query(con, "metrics/stage_visits", **window(as_of, "1900-01-01").params(pipeline, owner))
        ended_in_window = visits["is_current"] | (visits["exited_at"] >= span.period_start)
        deals = visits[ended_in_window]
        funnel = _period_funnel
    parts = [funnel(deals).assign(level="team", name="—")]
    for name, part in deals.groupby("owner", sort=True):
        parts.append(funnel(part).assign(level="owner", name=name))
    table = _conversion_rows(pd.concat(parts, ignore_index=True))
    table["conversion_shrunk"] = _shrink(table)
    return table


def _shrink(table: pd.DataFrame) -> pd.Series:
    """Empirical-Bayes (beta-binomial) conversion per manager and stage: shrunk toward the team
    rate by a prior whose strength is estimated from how much managers differ (method of
    moments), so one lucky deal does not top a ranking. Team rows keep their raw rate."""
    shrunk = table["conversion"].copy()
    for _, part in table[table["level"] == "owner"].groupby(["pipeline", "stage"]):
        part = part[part["n"] > 0]
        shrunk.loc[part.index] = _shrunk_rates(part["advanced"].to_numpy(), part["n"].to_numpy())
    return shrunk


def _shrunk_rates(successes: np.ndarray, trials: np.ndarray) -> np.ndarray:
    """Each group's rate pulled toward the pooled rate by the estimated prior strength, capped
    at the median group size: a typical manager's own record keeps at least half the weight
    (the moment estimate alone pools everyone fully whenever the spread looks like chance,
    which leaves nothing to rank)."""
    mean = successes.sum() / trials.sum() if trials.sum() else np.nan
    strength = min(_prior_strength(successes, trials), float(np.median(trials)) if len(trials) else 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (successes + strength * mean) / (trials + strength)


def _prior_strength(successes: np.ndarray, trials: np.ndarray) -> float:
    """Beta prior strength a + b from the spread of the groups' rates beyond binomial noise;
    large (strong pooling) when the groups differ no more than chance would make them."""
    if len(trials) < 2 or trials.sum() == 0:
        return 0.0
    mean = successes.sum() / trials.sum()
    rates = successes / trials
    weights = trials / trials.sum()
    observed = float(np.sum(weights * (rates - mean) ** 2))
    noise = float(np.sum(weights * mean * (1 - mean) / trials))
    between = observed - noise
    if mean in (0.0, 1.0):
        return 0.0
    if between <= 0:
        return np.inf  # no difference beyond chance between the groups: pool fully
    return max(mean * (1 - mean) / between - 1, 0.0)


@metric(
    "Win rate won / (won + lost) of the deals closed in the window, by count (Wilson 95% CI) and by "
    "amount, per owner (by=owner) or team (by=team), with the rate shrunk toward the whole team's"
)
def win_rates(con, *, as_of, period_start=None, pipeline=None, owner=None, by: str = "owner") -> pd.DataFrame:
    if by not in ("owner", "team"):
        raise CrmkitError(f"by is owner or team, not {by!r}")
    span = window(as_of, period_start)
    closed = query(con, "metrics/closed_deals", **span.params(pipeline, owner))
    closed[by] = closed[by].fillna("—")
    groups = [("team", "—", closed)] + [
        ("owner" if by == "owner" else "group", name, part) for name, part in closed.groupby(by, sort=True)
    ]
    rows = []
    for level, name, part in groups:
        won, lost = part[part["status"] == "won"], part[part["status"] == "lost"]
        n = len(won) + len(lost)
        low, high = stats.wilson(len(won), n)
        by_amount = won["amount"].sum() + lost["amount"].sum()
        rows.append(
            {
                "level": level,
                "name": name,
                "n": n,
                "n_won": len(won),
                "n_lost": len(lost),
                "win_rate": len(won) / n if n else np.nan,
                "win_rate_low": low,
                "win_rate_high": high,
                "won_amount": float(won["amount"].sum()),
                "lost_amount": float(lost["amount"].sum()),
                "win_rate_amount": float(won["amount"].sum() / by_amount) if by_amount else np.nan,
            }
        )
    table = pd.DataFrame(rows)
    groups_only = table["level"] != "team"
    table["win_rate_shrunk"] = table["win_rate"]
    table.loc[groups_only, "win_rate_shrunk"] = _shrunk_rates(
        table.loc[groups_only, "n_won"].to_numpy(float), table.loc[groups_only, "n"].to_numpy(float)
    )
    table["rank"] = table.loc[groups_only, "win_rate_shrunk"].rank(ascending=False, method="min")
    return table


@metric(
    "Manager scorecard for the window: deals in work, open pipeline, new leads, won count/sum, average "
    "and median check, win rate by count and amount, lead-to-won, median won cycle, calls/emails/"
    "meetings, action-to-result ratios, plan fulfilment and pace; ranked with small-n shrinkage"
)
def manager_scorecard(con, *, as_of, period_start=None, pipeline=None, owner=None) -> pd.DataFrame:
    span = window(as_of, period_start)
    params = span.params(pipeline, owner)
    open_deals = query(con, "metrics/open_deals", **params)
    won = query(con, "metrics/won_deals", **params)
    cohort = query(con, "metrics/deal_lifetimes", **params)
    acts = query(con, "metrics/activity_counts", **params).set_index("owner")
    targets = query(con, "metrics/plan_targets", **params)
    rates = win_rates(con, as_of=as_of, period_start=period_start, pipeline=pipeline, owner=owner)
    names = sorted(
        set(open_deals["owner"]) | set(rates.loc[rates["level"] == "owner", "name"]) | set(cohort["owner"])
    )
    rows = [_scorecard_row(None, open_deals, won, cohort, acts.sum(numeric_only=True), targets, span)]
    for name in names:
        rows.append(
            _scorecard_row(
                name,
                open_deals[open_deals["owner"] == name],
                won[won["owner"] == name],
                cohort[cohort["owner"] == name],
                acts.loc[name] if name in acts.index else pd.Series(dtype=float),
                targets,
                span,
            )
        )
    table = pd.DataFrame(rows)
    # win rates and the ranking come from win_rates: one definition
    table = table.merge(rates.drop(columns="level"), on="name", how="left")
    for column in ("n", "n_won", "n_lost"):
        table[column] = table[column].fillna(0).astype(int)
    return table


def _scorecard_row(name, open_deals, won, cohort, acts, targets, span: Window) -> dict:
    """One manager's (or, with name None, the team's) counts, checks, cycle, activity and plan."""
    won_ok = won[won["excluded_reason"].isna()]
    amounts = won["amount"]
    cohort_won = int((cohort["outcome"] == "won").sum())
    lead_to_won = stats.wilson(cohort_won, len(cohort))
    calls, meetings = float(acts.get("calls", 0)), float(acts.get("meetings", 0))
    n_won = len(won)
    row = {
        "level": "team" if name is None else "owner",
        "name": name or "—",
        "deals_in_work": len(open_deals),
        "open_pipeline": float(open_deals["amount"].sum()),
        "new_leads": len(cohort),
        "avg_check": float(amounts.mean()) if n_won else np.nan,
        "median_check": float(amounts.median()) if n_won else np.nan,
        "lead_to_won": cohort_won / len(cohort) if len(cohort) else np.nan,
        "lead_to_won_low": lead_to_won[0],
        "lead_to_won_high": lead_to_won[1],
        "median_won_cycle": float(won_ok["cycle_days"].median()) if len(won_ok) else np.nan,
        "calls": int(calls),
        "emails": int(acts.get("emails", 0)),
        "meetings": int(meetings),
        "calls_per_meeting": calls / meetings if meetings else np.nan,
        "meetings_per_won": meetings / n_won if n_won else np.nan,
        "won_per_100_calls": 100 * n_won / calls if calls else np.nan,
    }
    row.update(_plan_fulfilment(targets, name, float(amounts.sum()), n_won, span))
    return row


def _plan_fulfilment(targets: pd.DataFrame, owner, revenue: float, won: int, span: Window) -> dict:
    """Actual / target over the plan periods overlapping the window, and the pace: actual ÷
    working days elapsed × working days planned (Monday–Friday; public holidays not known)."""
    mine = targets[targets["owner"].isna()] if owner is None else targets[targets["owner"] == owner]
    out = {}
    for metric_name, actual in (("revenue", revenue), ("won_deals", won)):
        rows = mine[mine["metric"] == metric_name]
        target = float(rows["target"].sum())
        starts = rows["period_start"].to_numpy("datetime64[D]")
        ends = rows["period_end"].to_numpy("datetime64[D]") + np.timedelta64(1, "D")
        begin = np.maximum(starts, np.datetime64(span.period_start.date()))
        until = np.minimum(ends, np.datetime64(span.as_of.date()))
        elapsed = np.busday_count(begin, np.maximum(until, begin)).sum()
        planned = np.busday_count(begin, ends).sum()
        out[f"plan_{metric_name}"] = target if len(rows) else np.nan
        out[f"plan_{metric_name}_done"] = actual / target if target else np.nan
        out[f"plan_{metric_name}_pace"] = (
            actual / elapsed * planned / target if target and elapsed else np.nan
        )
    return out


@metric("Rows per table, latest event times and the last load time")
def data_freshness(con, *, as_of=None, period_start=None, pipeline=None, owner=None) -> pd.DataFrame:
    return query(con, "metrics/data_freshness")


def compute(name: str, con, **kwargs) -> pd.DataFrame:
    """Run a registered metric by name (what `crmkit metrics NAME` does)."""
    if name not in REGISTRY:
        raise CrmkitError(
            f"unknown metric {name!r}; `crmkit metrics --list` shows them: {', '.join(sorted(REGISTRY))}"
        )
    func = REGISTRY[name][0]
    accepted = inspect.signature(func).parameters
    unknown = [key for key in kwargs if key not in accepted]
    if unknown:
        options = [p for p in accepted if p not in ("con", "as_of", "period_start", "pipeline", "owner")]
        raise CrmkitError(
            f"{name} has no option {unknown[0]!r}; its own options: {', '.join(options) or 'none'}"
        )
    return func(con, **kwargs)
