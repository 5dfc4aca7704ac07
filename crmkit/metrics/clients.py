"""METRICS.md §9: repeat business, where the data names the client of each deal — the share of the
won deals and of the revenue in the window that came from clients who had bought before, and how
often a client buys again within a year of the first purchase."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmkit import stats
from crmkit.db import query
from crmkit.metrics.core import metric, owner_names, window

RETURN_WITHIN = pd.Timedelta(days=365)  # a client "returns" when it buys again within this


def _summary(won, mine: pd.DataFrame, firsts: pd.DataFrame, span, level: str, name: str) -> dict:
    """`mine`: the won deals counted (the team's, or one manager's); `firsts`: the first purchases
    whose clients' return is counted (every client's, or those the manager made)."""
    in_window = mine[(mine["closed_at"] >= span.period_start) & (mine["closed_at"] < span.as_of)]
    repeat = in_window["is_repeat"]
    low, high = stats.wilson(int(repeat.sum()), len(in_window))
    revenue = stats.money_total(in_window["amount"])
    repeat_revenue = stats.money_total(in_window.loc[repeat, "amount"])
    # clients followed a full year from their first purchase (so a recent client is not counted
    # as one who never came back): how many bought again within that year
    followed = firsts[firsts["first"] + RETURN_WITHIN <= span.as_of]
    returned = _returned(won, followed[["client", "first"]])
    r_low, r_high = stats.wilson(returned, len(followed))
    return {
        "level": level, "name": name, "n": len(in_window), "n_repeat": int(repeat.sum()),
        "repeat_share": repeat.mean() if len(in_window) else np.nan, "repeat_share_low": low,
        "repeat_share_high": high, "revenue": revenue, "repeat_revenue": repeat_revenue,
        "repeat_revenue_share": repeat_revenue / revenue
        if revenue and np.isfinite(repeat_revenue) else np.nan,
        "n_clients_followed": len(followed), "n_returned": returned,
        "return_rate": returned / len(followed) if len(followed) else np.nan,
        "return_rate_low": r_low, "return_rate_high": r_high,
    }  # fmt: skip


@metric(
    "Repeat business, where deals name their client: won deals in the window from clients who had "
    "won before (share, Wilson CI) and their share of the revenue; clients followed a year from their "
    "first purchase and the share that bought again within it (Wilson CI); for the team and per manager"
)
def repeat_business(con, *, as_of, period_start=None, pipeline=None, owner=None) -> pd.DataFrame:
    span = window(as_of, period_start)
    won = query(con, "metrics/won_by_client", **span.params(pipeline, None))
    # a client's purchase after its first is repeat business, whoever of the team made it
    won["is_repeat"] = won.groupby("client").cumcount() > 0
    # the rows come by client and close time: each client's first row is its first purchase
    firsts = won.groupby("client").head(1).rename(columns={"closed_at": "first"})
    rows = [_summary(won, won, firsts, span, "team", "—")] if not owner else []
    for name, part in won.groupby("owner"):
        # a manager's repeat sales are theirs (a client counts as returning whoever sold it
        # first); their return rate is of the clients whose first purchase they made
        rows.append(_summary(won, part, firsts[firsts["owner"] == name], span, "owner", name))
    table = pd.DataFrame(rows)
    if owner and len(table):
        table = table[table["name"].isin(owner_names(con, owner))].reset_index(drop=True)
        # the team of a manager's page is that manager (as in every other table)
        table = pd.concat([table.head(1).assign(level="team", name="—"), table], ignore_index=True)
    return table


def _returned(won: pd.DataFrame, followed: pd.DataFrame) -> int:
    """How many of the `followed` clients (client, first purchase) bought again within a year of it."""
    later = won[won["is_repeat"]].merge(followed, on="client")
    return int(later.loc[later["closed_at"] <= later["first"] + RETURN_WITHIN, "client"].nunique())
