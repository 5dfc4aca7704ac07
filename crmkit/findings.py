"""Findings: rules over metric tables that produce ranked, evidence-backed statements.

Each rule returns Finding(impact, text) or nothing; the text carries its evidence (n, interval).
Impact is the money (or deals) at stake, used only to order the list.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmkit.i18n import t
from crmkit.stats import SMALL_N


@dataclass(frozen=True)
class Finding:
    impact: float
    text: str


def money(amount: float, currency: str) -> str:
    return f"{amount:,.0f} {currency}".replace(",", "\u202f")


SLOWER_BY = 0.2  # a difference worth a manager's attention, not only a detectable one


def slow_owners(won_cycle: pd.DataFrame, lang: str = "en") -> list[Finding]:
    """Managers whose median won cycle is at least 20% above the team's, with the whole 95%
    interval above the team median (so the gap is both material and not chance)."""
    team = won_cycle.loc[won_cycle["level"] == "team", "median_days"].iloc[0]
    owners = won_cycle[(won_cycle["level"] == "owner") & (won_cycle["n"] >= SMALL_N)]
    slow = owners[(owners["median_days_low"] > team) & (owners["median_days"] >= team * (1 + SLOWER_BY))]
    return [
        Finding(
            row.won_amount * (row.median_days / team - 1),
            t(
                "finding_slow_owner",
                lang,
                owner=row.name,
                median=row.median_days,
                low=row.median_days_low,
                high=row.median_days_high,
                n=int(row.n),
                team=team,
                excess=row.median_days / team - 1,
            ),
        )
        for row in slow.itertuples()
    ]


def stale(stale_deals: pd.DataFrame, lang: str = "en") -> list[Finding]:
    if stale_deals.empty:
        return []
    currency = stale_deals["currency"].mode().iloc[0]
    per_owner = (
        stale_deals.groupby("owner")["amount"].agg(["size", "sum"]).sort_values("sum", ascending=False)
    )
    top = per_owner.iloc[0]
    total = float(stale_deals["amount"].sum())
    return [
        Finding(
            total,
            t(
                "finding_stale",
                lang,
                n=len(stale_deals),
                amount=money(total, currency),
                threshold=stale_deals["threshold_days"].iloc[0],
                top_owner=per_owner.index[0],
                top_n=int(top["size"]),
                top_amount=money(top["sum"], currency),
            ),
        )
    ]


def stuck(stuck_deals: pd.DataFrame, lang: str = "en") -> list[Finding]:
    if stuck_deals.empty:
        return []
    by_stage = stuck_deals["stage"].value_counts()
    return [
        Finding(
            float(stuck_deals["amount"].sum()),
            t(
                "finding_stuck",
                lang,
                n=len(stuck_deals),
                stage=by_stage.index[0],
                stage_n=int(by_stage.iloc[0]),
            ),
        )
    ]


def censoring_gap(won_cycle: pd.DataFrame, time_to_close: pd.DataFrame, lang: str = "en") -> list[Finding]:
    """When the won-only cycle and the all-deals picture tell different stories, say so."""
    won = won_cycle.loc[won_cycle["level"] == "team", "median_days"].iloc[0]
    team = time_to_close[time_to_close["level"] == "team"].iloc[0]
    if not (np.isfinite(won) and np.isfinite(team["median_days"]) and np.isfinite(team["won_by_90"])):
        return []
    return [
        Finding(0.0, t("finding_censoring", lang, won=won, km=team["median_days"], won90=team["won_by_90"]))
    ]


def ranked(*groups: list[Finding]) -> list[Finding]:
    return sorted((f for group in groups for f in group), key=lambda f: -f.impact)
