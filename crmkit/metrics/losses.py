"""METRICS.md §8: why deals are lost — lost deals and money lost by reason, by the stage they were
lost from, by manager and by source; the share of closed deals lost per month; the reasons a
manager meets more or less often than the rest of the team beyond noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import fisher_exact

from crmkit import stats
from crmkit.db import query
from crmkit.metrics.core import metric, owner_names, window

FDR = 0.05  # the false-discovery rate of the manager × reason differences
BY = ("reason", "stage", "owner", "source")


def _lost(con, as_of, period_start, pipeline, owner) -> pd.DataFrame:
    span = window(as_of, period_start)
    return query(con, "metrics/lost_deals", **span.params(pipeline, owner))


def _top(values: pd.Series) -> tuple[object, int]:
    counts = values.dropna().value_counts()
    return (counts.index[0], int(counts.iloc[0])) if len(counts) else (None, 0)


@metric(
    "Lost deals by reason, stage lost from, manager or source (by=): count, share of all losses (Wilson CI), "
    "money lost (known amounts; n_priced of n), and the most common reason (or stage, for reasons)"
)
def losses_by(
    con, *, as_of, period_start=None, pipeline=None, owner=None, by: str = "reason"
) -> pd.DataFrame:
    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}, not {by!r}")
    lost = _lost(con, as_of, period_start, pipeline, owner)
    total = len(lost)
    other = "stage" if by == "reason" else "reason"
    rows = []
    # a missing value (no reason given, history without the loss) is a group of its own, shown last
    for value, part in lost.groupby(lost[by].fillna("\x00"), sort=False):
        low, high = stats.wilson(len(part), total)
        top, top_n = _top(part[other])
        rows.append({
            by: None if value == "\x00" else value, "n": len(part), "share": len(part) / total,
            "share_low": low, "share_high": high, "amount_lost": stats.money_total(part["amount"]),
            "n_priced": int(part["amount"].notna().sum()), "currency": _top(part["currency"])[0],
            f"top_{other}": top, f"top_{other}_n": top_n,
        })  # fmt: skip
    columns = [by, "n", "share", "share_low", "share_high", "amount_lost", "n_priced", "currency",
               f"top_{other}",
               f"top_{other}_n"]  # fmt: skip
    table = pd.DataFrame(rows, columns=columns)
    order = table[by].isna(), -table["n"], table[by].fillna("").astype(str)
    return table.iloc[np.lexsort(order[::-1])].reset_index(drop=True) if len(table) else table


@metric("Per month: deals closed, lost, the share lost (Wilson CI) and the most common loss reason")
def loss_rate_by_month(con, *, as_of, period_start=None, pipeline=None, owner=None) -> pd.DataFrame:
    span = window(as_of, period_start)
    closed = query(con, "metrics/closed_deals", **span.params(pipeline, owner))
    lost = _lost(con, as_of, period_start, pipeline, owner)
    closed["month"] = closed["closed_at"].dt.to_period("M").dt.to_timestamp()
    lost["month"] = lost["closed_at"].dt.to_period("M").dt.to_timestamp()
    rows = []
    for month, part in closed.groupby("month"):
        n_lost = int((part["status"] == "lost").sum())
        low, high = stats.wilson(n_lost, len(part))
        top, top_n = _top(lost.loc[lost["month"] == month, "reason"])
        rows.append({"month": month, "n": len(part), "n_lost": n_lost, "loss_rate": n_lost / len(part),
                     "loss_rate_low": low, "loss_rate_high": high, "top_reason": top,
                     "top_reason_n": top_n})  # fmt: skip
    return pd.DataFrame(
        rows,
        columns=[
            "month",
            "n",
            "n_lost",
            "loss_rate",
            "loss_rate_low",
            "loss_rate_high",
            "top_reason",
            "top_reason_n",
        ],
    )


@metric(
    "Manager × loss reason: the manager's share of their losses for the reason against the rest of the "
    "team's; "
    "differs when Fisher's exact test passes Benjamini–Hochberg at 5% over every manager and reason"
)
def loss_reasons_by_owner(con, *, as_of, period_start=None, pipeline=None, owner=None) -> pd.DataFrame:
    lost = _lost(con, as_of, period_start, pipeline, None)  # the team is the comparison
    given = lost.dropna(subset=["reason"])
    rows = []
    for (manager, reason), n in given.groupby(["owner", "reason"]).size().items():
        mine = given["owner"] == manager
        n_mine, n_rest = int(mine.sum()), int((~mine).sum())
        n_rest_reason = int(((given["reason"] == reason) & ~mine).sum())
        p = fisher_exact([[n, n_mine - n], [n_rest_reason, n_rest - n_rest_reason]])[1] if n_rest else np.nan
        low, high = stats.wilson(int(n), n_mine)
        rows.append({"owner": manager, "reason": reason, "n": int(n), "n_owner_lost": n_mine,
                     "share": n / n_mine,
                     "share_low": low, "share_high": high,
                     "team_share": n_rest_reason / n_rest if n_rest else np.nan, "p": p})  # fmt: skip
    table = pd.DataFrame(
        rows,
        columns=[
            "owner",
            "reason",
            "n",
            "n_owner_lost",
            "share",
            "share_low",
            "share_high",
            "team_share",
            "p",
        ],
    )
    table["is_different"], table["q"] = stats.false_discovery(table["p"], FDR)
    if owner:  # one manager's page: that manager's rows, tested within the whole family
        table = table[table["owner"].isin(owner_names(con, owner))]
    return table.sort_values(["owner", "n"], ascending=[True, False], ignore_index=True)
