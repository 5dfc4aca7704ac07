"""METRICS.md §7: the data audit every report rests on — checks with counts and examples, the
loads, coverage by month, and a trust verdict per family of metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmkit.db import query
from crmkit.metrics.core import metric, window

BULK_THRESHOLD = 20  # stage moves by one user within one minute that make a bulk edit
GOOD, USABLE = 0.9, 0.6  # trust: share of the basis that supports a metric family


@metric(
    "Data audit: every check of METRICS.md §7 with its count, share (of deals, or of rows read) and ids",
    whole_account=True,
)
def data_audit(
    con, *, as_of, period_start=None, pipeline=None, owner=None, bulk_threshold: int = BULK_THRESHOLD
) -> pd.DataFrame:
    span = window(as_of, period_start)
    checks = query(
        con, "metrics/audit_checks", as_of=span.as_of.to_pydatetime(), bulk_threshold=int(bulk_threshold)
    )
    # a count of problems, not a sample size: not called `n`, so tables do not grey it out
    checks = checks.rename(columns={"n": "found"})
    checks["share"] = checks["found"] / checks["basis"].where(checks["basis"] > 0)
    checks["examples"] = [
        ", ".join(map(str, ids)) if isinstance(ids, list | np.ndarray) else "" for ids in checks["examples"]
    ]
    return checks.drop(columns="basis")


@metric(
    "Deals created and won, stage moves and activities per month: gaps in what was recorded",
    whole_account=True,
)
def coverage_by_month(con, *, as_of, period_start=None, pipeline=None, owner=None) -> pd.DataFrame:
    return query(con, "metrics/coverage_by_month", as_of=window(as_of, period_start).as_of.to_pydatetime())


@metric(
    "The loads, newest first: rows read = loaded + rejected, and the most common reason for rejects",
    whole_account=True,
)
def load_history(con, *, as_of=None, period_start=None, pipeline=None, owner=None) -> pd.DataFrame:
    return query(con, "metrics/load_history")


@metric(
    "Trust per metric family: what share of the data supports it (history, losses, amounts, "
    "activities, sources) and a verdict",
    whole_account=True,
)
def data_trust(con, *, as_of, period_start=None, pipeline=None, owner=None) -> pd.DataFrame:
    span = window(as_of, period_start)
    facts = query(con, "metrics/trust_facts", as_of=span.as_of.to_pydatetime()).iloc[0]
    coverage = coverage_by_month(con, as_of=as_of, period_start=period_start)
    crm_months = coverage[coverage["deals_created"] > 0]
    rows = [
        ("durations", facts["with_history"], facts["crm_deals"]),
        ("win_rates", facts["closed_with_losses_recorded"], facts["closed"]),
        ("amounts", facts["won_with_amount"], facts["won"]),
        ("activity", int((crm_months["activities"] > 0).sum()), len(crm_months)),
        ("sources", facts["with_source"], facts["crm_deals"]),
    ]
    table = pd.DataFrame(rows, columns=["family", "supported", "basis"])
    table["share"] = table["supported"] / table["basis"].where(table["basis"] > 0)
    table["verdict"] = np.select(
        [table["share"] >= GOOD, table["share"] >= USABLE], ["good", "usable"], "weak"
    )
    return table
