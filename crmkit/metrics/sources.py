"""METRICS.md §5, first half: lead sources — conversion of mature cohorts and at a fixed horizon
(Kaplan–Meier-style cumulative incidence, open leads censored), flags, who converts which source."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmkit import stats
from crmkit.db import query
from crmkit.metrics.core import Window, metric, window
from crmkit.metrics.duration import team_won_cycle

MIN_MATURE = 5  # a source needs this many mature leads before it can be called weak


def _leads(con, span: Window, pipeline, owner) -> pd.DataFrame:
    leads = query(con, "metrics/leads_by_source", **span.params(pipeline, owner))
    leads["is_closed_before_created"] = leads["is_closed_before_created"].fillna(False).astype(bool)
    return leads


def maturity_days(con, span: Window, pipeline=None) -> float:
    """A lead is mature once older than the 75th percentile of the won cycle: by then most
    of the leads that will be won have been (METRICS.md §5). 90 days if nothing was won."""
    p75 = team_won_cycle(con, span, pipeline).p75
    return float(np.ceil(p75)) if np.isfinite(p75) else 90.0


def _conversion(part: pd.DataFrame, maturity: float) -> dict:
    """Raw, mature-cohort and fixed-horizon conversion of a group of leads, with intervals."""
    won = part["outcome"] == "won"
    mature = part[part["age_days"] >= maturity]
    mature_won = int((mature["outcome"] == "won").sum())
    low, high = stats.wilson(mature_won, len(mature))
    # a close before creation is a data error for the audit: the lead counts, its duration does not
    timed = part[~part["is_closed_before_created"]]
    at_horizon = stats.cumulative_incidence(timed["days"], timed["outcome"], [maturity])["won"][0]
    amount = part.loc[won, "amount"]
    return {
        "n": len(part),
        "n_won": int(won.sum()),
        "won_amount": stats.money_total(amount),
        "avg_check": float(amount.mean()) if won.any() else np.nan,
        "raw_rate": won.mean() if len(part) else np.nan,
        "n_mature": len(mature),
        "n_mature_won": mature_won,
        "mature_rate": mature_won / len(mature) if len(mature) else np.nan,
        "mature_rate_low": low,
        "mature_rate_high": high,
        "horizon_rate": at_horizon[0],
        "horizon_rate_low": at_horizon[1],
        "horizon_rate_high": at_horizon[2],
    }


@metric(
    "Per lead source: leads, won, revenue, average check; lead-to-won of mature leads (older than the p75 "
    "won cycle, Wilson CI) and won by that horizon with open leads censored; weak when the upper bound is "
    "below the overall rate"
)
def source_conversion(con, *, as_of, period_start=None, pipeline=None, owner=None) -> pd.DataFrame:
    span = window(as_of, period_start)
    leads = _leads(con, span, pipeline, owner)
    maturity = maturity_days(con, span, pipeline)
    rows = [{"source": "—all—", **_conversion(leads, maturity)}]
    rows += [{"source": source, **_conversion(part, maturity)} for source, part in leads.groupby("source")]
    table = pd.DataFrame(rows)
    overall = table["mature_rate"].iloc[0]
    table["maturity_days"] = maturity
    table["is_weak"] = (
        (table.index > 0) & (table["n_mature"] >= MIN_MATURE) & (table["mature_rate_high"] < overall)
    )
    return table


@metric("Mature-lead conversion per source and manager (who converts which source), Wilson CI and n")
def source_manager_conversion(con, *, as_of, period_start=None, pipeline=None, owner=None) -> pd.DataFrame:
    span = window(as_of, period_start)
    leads = _leads(con, span, pipeline, owner)
    maturity = maturity_days(con, span, pipeline)
    rows = [
        {"source": source, "owner": name, **_conversion(part, maturity)}
        for (source, name), part in leads.groupby(["source", "owner"])
    ]
    return pd.DataFrame(rows)


@metric("New leads per source per month (cohort view)")
def source_leads_monthly(con, *, as_of, period_start=None, pipeline=None, owner=None) -> pd.DataFrame:
    span = window(as_of, period_start)
    leads = _leads(con, span, pipeline, owner)
    return (
        leads.groupby(["created_month", "source"])
        .size()
        .rename("n")
        .reset_index()
        .sort_values(["created_month", "source"], ignore_index=True)
    )
