"""METRICS.md §3: funnels and manager KPIs — conversion, win rates, the scorecard."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmkit import stats, workdays
from crmkit.db import query
from crmkit.errors import CrmkitError
from crmkit.metrics.core import Window, account_time_zone, metric, window


def _conversion_rows(counts: pd.DataFrame) -> pd.DataFrame:
    """Add conversion = advanced / (advanced + lost) with its Wilson interval."""
    out = counts.copy()
    out["n"] = out["advanced"] + out["lost"]
    bounds = [stats.wilson(a, n) for a, n in zip(out["advanced"], out["n"], strict=True)]
    out["conversion"] = np.where(out["n"] > 0, out["advanced"] / out["n"].where(out["n"] > 0), np.nan)
    out["conversion_low"] = [b[0] for b in bounds]
    out["conversion_high"] = [b[1] for b in bounds]
    return out


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
    # the team's rows, then each owner's: counted in SQL (a million deals' rows stay in DuckDB)
    table = _conversion_rows(query(con, f"metrics/{view}_funnel", **span.params(pipeline, owner)))
    table["conversion_shrunk"] = _shrink(table)
    return table


def _shrink(table: pd.DataFrame) -> pd.Series:
    """Empirical-Bayes (beta-binomial) conversion per manager and stage: shrunk toward the team
    rate by a prior whose strength is estimated from how much managers differ (method of
    moments), so one lucky deal does not top a ranking. Team rows keep their raw rate."""
    shrunk = table["conversion"].copy()
    for _, part in table[table["level"] == "owner"].groupby(["pipeline", "stage"]):
        part = part[part["n"] > 0]
        shrunk.loc[part.index] = stats.shrunk_rates(part["advanced"].to_numpy(), part["n"].to_numpy())
    return shrunk


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
        by_amount = stats.money_total(pd.concat([won["amount"], lost["amount"]]))
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
                # nothing won is a known 0; won deals whose amounts are all unknown are unknown
                "won_amount": stats.money_total(won["amount"]) if len(won) else 0.0,
                "lost_amount": stats.money_total(lost["amount"]) if len(lost) else 0.0,
                "win_rate_amount": stats.money_total(won["amount"]) / by_amount if by_amount else np.nan,
            }
        )
    table = pd.DataFrame(rows)
    groups_only = table["level"] != "team"
    table["win_rate_shrunk"] = table["win_rate"]
    table.loc[groups_only, "win_rate_shrunk"] = stats.shrunk_rates(
        table.loc[groups_only, "n_won"].to_numpy(float), table.loc[groups_only, "n"].to_numpy(float)
    )
    table["rank"] = table.loc[groups_only, "win_rate_shrunk"].rank(ascending=False, method="min")
    return table


@metric(
    "Manager scorecard for the window: deals in work, open pipeline, new leads, won count/sum, average "
    "and median check, win rate by count and amount, lead-to-won, median won cycle, calls/emails/"
    "meetings, action-to-result ratios, plan fulfilment and pace; ranked with small-n shrinkage"
)
def manager_scorecard(
    con, *, as_of, period_start=None, pipeline=None, owner=None, time_zone: str = ""
) -> pd.DataFrame:
    span = window(as_of, period_start)
    zone = account_time_zone(con, time_zone)
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
    rows = [_scorecard_row(None, open_deals, won, cohort, acts.sum(numeric_only=True), targets, span, zone)]
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
                zone,
            )
        )
    table = pd.DataFrame(rows)
    # win rates and the ranking come from win_rates: one definition
    table = table.merge(rates.drop(columns="level"), on="name", how="left")
    for column in ("n", "n_won", "n_lost"):
        table[column] = table[column].fillna(0).astype(int)
    for column in ("won_amount", "lost_amount"):  # a manager who closed nothing: a known 0
        table[column] = table[column].where(table["n"] > 0, 0.0)
    return table


def _scorecard_row(name, open_deals, won, cohort, acts, targets, span: Window, zone: str) -> dict:
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
        "open_pipeline": stats.money_total(open_deals["amount"]),
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
    row.update(plan_fulfilment(targets, name, float(amounts.sum()), n_won, span, zone))
    return row


def plan_fulfilment(targets: pd.DataFrame, owner, revenue: float, won: int, span: Window, zone: str) -> dict:
    """Actual / target over the plan periods overlapping the window, and the pace: actual ÷
    working days elapsed × working days planned (the account country's working days)."""
    mine = targets[targets["owner"].isna()] if owner is None else targets[targets["owner"] == owner]
    out = {}
    for metric_name, actual in (("revenue", revenue), ("won_deals", won)):
        rows = mine[mine["metric"] == metric_name]
        target = float(rows["target"].sum())
        starts = rows["period_start"].to_numpy("datetime64[D]")
        ends = rows["period_end"].to_numpy("datetime64[D]") + np.timedelta64(1, "D")
        begin = np.maximum(starts, np.datetime64(span.period_start.date()))
        until = np.minimum(ends, np.datetime64(span.as_of.date()))
        elapsed = workdays.count(begin, np.maximum(until, begin), zone).sum()
        planned = workdays.count(begin, ends, zone).sum()
        out[f"plan_{metric_name}"] = target if len(rows) else np.nan
        out[f"plan_{metric_name}_done"] = actual / target if target else np.nan
        out[f"plan_{metric_name}_pace"] = (
            actual / elapsed * planned / target if target and elapsed else np.nan
        )
    return out
