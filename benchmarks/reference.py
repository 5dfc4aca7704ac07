"""The yardsticks: the core metrics as an analyst would write them without crmkit,
once in plain DuckDB SQL and once in idiomatic pandas, over the same database, as_of and window
(the twelve months before as_of; the weekly ones the eight weeks before it).

They compute the plain figure only: no intervals, no censoring, no as-of history (a deal's status
is its stored one), no currency check, one grouping. crmkit computes more; the benchmark prints
how much more time that costs (`bench_scale.py`). Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import duckdb
import pandas as pd

WEEKS = 8


def _bounds(as_of: str) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp]:
    end = pd.Timestamp(as_of)
    return end, end - pd.DateOffset(months=12), end.to_period("W").start_time - pd.Timedelta(weeks=WEEKS - 1)


# Plain DuckDB: one statement per metric, the result fetched as a DataFrame.
DUCKDB = {
    "stage durations": """
        with visits as (
            select c.deal_id, c.pipeline_id, c.stage_id, c.entered_at,
                   lead(c.entered_at) over (partition by c.deal_id order by c.entered_at) as exited_at
            from stage_changes as c where c.entered_at < $as_of
        )
        select pipeline_id, stage_id, count(*) as n,
               median(date_diff('second', entered_at, exited_at) / 86400.0) as median_days,
               avg(date_diff('second', entered_at, exited_at) / 86400.0) as mean_days,
               quantile_cont(date_diff('second', entered_at, exited_at) / 86400.0, [0.1, 0.9]) as p10_p90
        from visits
        where entered_at >= $start and exited_at is not null and exited_at < $as_of
        group by all order by all""",
    "stage conversion": """
        with reached as (
            select d.deal_id, d.pipeline_id, max(s.position) as furthest
            from deals as d
            join stage_changes as c using (deal_id)
            join stages as s on s.pipeline_id = c.pipeline_id and s.stage_id = c.stage_id
            where d.created_at >= $start and d.created_at < $as_of and c.entered_at < $as_of
              and s.kind = 'open'
            group by all
        )
        select r.pipeline_id, s.position, count(*) filter (where r.furthest >= s.position) as reached,
               count(*) filter (where r.furthest > s.position) as went_on
        from reached as r join stages as s on s.pipeline_id = r.pipeline_id and s.kind = 'open'
        group by all order by all""",
    "won cycle": """
        select pipeline_id, owner_id, count(*) as n,
               median(date_diff('second', created_at, closed_at) / 86400.0) as median_days,
               avg(date_diff('second', created_at, closed_at) / 86400.0) as mean_days,
               quantile_cont(date_diff('second', created_at, closed_at) / 86400.0, [0.25, 0.75]) as quartiles
        from deals
        where status = 'won' and closed_at >= $start and closed_at < $as_of
        group by grouping sets ((pipeline_id), (owner_id)) order by all""",
    "stale deals per owner": """
        with yardstick as (
            select median(date_diff('second', created_at, closed_at) / 86400.0) as days
            from deals where status = 'won' and closed_at >= $start and closed_at < $as_of
        )
        select owner_id, count(*) as n_stale, sum(amount) as stale_amount
        from deals, yardstick
        where status = 'open' and created_at < $as_of
          and date_diff('second', created_at, $as_of) / 86400.0 > yardstick.days
        group by all order by stale_amount desc""",
    "weekly KPI": """
        with weeks as (
            select * from range($week_start, $as_of, interval 7 day) as t(week)
        ),
        created as (
            select date_trunc('week', created_at) as week, count(*) as new_deals from deals
            where created_at >= $week_start and created_at < $as_of group by all
        ),
        won as (
            select date_trunc('week', closed_at) as week, count(*) as won, sum(amount) as won_amount
            from deals where status = 'won' and closed_at >= $week_start and closed_at < $as_of group by all
        ),
        acts as (
            select date_trunc('week', started_at) as week, count(*) filter (where kind = 'call') as calls,
                   count(*) filter (where kind = 'meeting') as meetings
            from activities
            where status = 'done' and started_at >= $week_start and started_at < $as_of group by all
        )
        select * from weeks left join created using (week) left join won using (week)
        left join acts using (week) order by week""",
    "missed calls": """
        select owner_id, count(*) as inbound, count(*) filter (where status = 'missed') as missed,
               count(*) filter (where status = 'missed') / count(*) as missed_share
        from activities
        where kind = 'call' and (direction = 'in' or status = 'missed')
          and started_at >= $week_start and started_at < $as_of
        group by all order by all""",
    "manager daily": """
        select owner_id, started_at::date as day,
               count(*) filter (where kind = 'call' and status = 'done') as calls,
               count(*) filter (where kind = 'meeting' and status = 'done') as meetings,
               count(*) filter (where status = 'missed') as missed
        from activities
        where started_at >= $as_of::timestamp - interval 7 day and started_at < $as_of
        group by all order by all""",
}


def duckdb_reference(con: duckdb.DuckDBPyConnection, name: str, as_of: str) -> pd.DataFrame:
    end, start, week_start = _bounds(as_of)
    params = {"as_of": end, "start": start, "week_start": week_start}
    text = DUCKDB[name]
    return con.execute(text, {k: v for k, v in params.items() if f"${k}" in text}).df()


def pandas_frames(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """The tables the pandas references read, as an analyst would hold them (read once, untimed)."""
    return {
        "deals": con.execute(
            "select deal_id, pipeline_id, owner_id, status, amount::double as amount, created_at, closed_at "
            "from deals"
        ).df(),
        "changes": con.execute("select deal_id, pipeline_id, stage_id, entered_at from stage_changes").df(),
        "stages": con.execute("select pipeline_id, stage_id, position, kind from stages").df(),
        "activities": con.execute(
            "select owner_id, kind, direction, status, started_at from activities"
        ).df(),
    }


def _days(later: pd.Series, earlier: pd.Series) -> pd.Series:
    return (later - earlier).dt.total_seconds() / 86400


def pandas_reference(frames: dict[str, pd.DataFrame], name: str, as_of: str) -> pd.DataFrame:
    end, start, week_start = _bounds(as_of)
    deals, changes, stages, acts = (frames[k] for k in ("deals", "changes", "stages", "activities"))
    if name == "stage durations":
        visits = changes[changes["entered_at"] < end].sort_values(["deal_id", "entered_at"])
        visits = visits.assign(exited_at=visits.groupby("deal_id")["entered_at"].shift(-1))
        visits = visits[(visits["entered_at"] >= start) & (visits["exited_at"] < end)]
        visits = visits.assign(days=_days(visits["exited_at"], visits["entered_at"]))
        return visits.groupby(["pipeline_id", "stage_id"])["days"].describe(percentiles=[0.1, 0.5, 0.9])
    if name == "stage conversion":
        cohort = deals[(deals["created_at"] >= start) & (deals["created_at"] < end)]
        moves = changes[changes["entered_at"] < end].merge(stages[stages["kind"] == "open"])
        moves = moves[moves["deal_id"].isin(cohort["deal_id"])]
        furthest = moves.groupby(["deal_id", "pipeline_id"])["position"].max()
        furthest = furthest.reset_index().merge(stages[stages["kind"] == "open"], on="pipeline_id")
        return (
            furthest.assign(
                reached=furthest["position_x"] >= furthest["position_y"],
                went_on=furthest["position_x"] > furthest["position_y"],
            )
            .groupby(["pipeline_id", "position_y"])[["reached", "went_on"]]
            .sum()
        )
    won = deals[(deals["status"] == "won") & (deals["closed_at"] >= start) & (deals["closed_at"] < end)]
    cycle = won.assign(days=_days(won["closed_at"], won["created_at"]))
    if name == "won cycle":
        groups = ("pipeline_id", "owner_id")
        return pd.concat([cycle.groupby(key)["days"].describe() for key in groups], keys=groups)
    if name == "stale deals per owner":
        open_deals = deals[(deals["status"] == "open") & (deals["created_at"] < end)]
        age = _days(pd.Series(end, index=open_deals.index), open_deals["created_at"])
        stale = open_deals[age > cycle["days"].median()]
        return stale.groupby("owner_id")["amount"].agg(["size", "sum"]).sort_values("sum", ascending=False)
    if name == "weekly KPI":

        def weekly(frame, column):
            part = frame[(frame[column] >= week_start) & (frame[column] < end)]
            return part.groupby(part[column].dt.to_period("W").dt.start_time)

        done = acts[acts["status"] == "done"]
        return pd.concat(
            {
                "new_deals": weekly(deals, "created_at").size(),
                "won": weekly(won, "closed_at").size(),
                "won_amount": weekly(won, "closed_at")["amount"].sum(),
                "calls": weekly(done[done["kind"] == "call"], "started_at").size(),
                "meetings": weekly(done[done["kind"] == "meeting"], "started_at").size(),
            },
            axis=1,
        )
    if name == "missed calls":
        calls = acts[
            (acts["kind"] == "call")
            & ((acts["direction"] == "in") | (acts["status"] == "missed"))
            & (acts["started_at"] >= week_start)
            & (acts["started_at"] < end)
        ]
        out = calls.groupby("owner_id")["status"].agg(inbound="size", missed=lambda s: (s == "missed").sum())
        return out.assign(missed_share=out["missed"] / out["inbound"])
    if name == "manager daily":
        week = acts[(acts["started_at"] >= end - pd.Timedelta(days=7)) & (acts["started_at"] < end)]
        week = week.assign(
            day=week["started_at"].dt.normalize(),
            calls=(week["kind"] == "call") & (week["status"] == "done"),
            meetings=(week["kind"] == "meeting") & (week["status"] == "done"),
            missed=week["status"] == "missed",
        )
        return week.groupby(["owner_id", "day"])[["calls", "meetings", "missed"]].sum()
    raise KeyError(name)


# Which crmkit metric computes (more than) each reference.
CRMKIT = {
    "stage durations": "stage_durations",
    "stage conversion": "stage_conversion",
    "won cycle": "won_cycle",
    "stale deals per owner": "stale_by_owner",
    "weekly KPI": "weekly_kpi",
    "missed calls": "missed_calls",
    "manager daily": "manager_daily",
}

assert set(CRMKIT) == set(DUCKDB)
