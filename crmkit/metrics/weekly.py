"""METRICS.md §4: the weekly KPI table — weeks run Monday–Sunday in the account's time zone;
leads, client base, refusals, sales, CRM events, calls, proposals, payments, meetings, what is
due the next working day, lead response time, lead balance, and flags that separate real changes
from noise.

A count is compared with what its past says it should be: the team's with its mean over the
`BASELINE` weeks before, a manager's with their share of those weeks' team counts times this
week's (_changes). Weekly counts vary more than Poisson allows, so the noise
is negative binomial, its overdispersion estimated from those baseline weeks (pooled over the
managers), and the baseline mean's own uncertainty widens it. Every manager × block × week tested
in a table is one family: a flag is a Benjamini–Hochberg discovery at a false discovery rate of
`FDR`, so at most that share of the flags are expected to be chance."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmkit import stats, workdays
from crmkit.db import query
from crmkit.errors import CrmkitError
from crmkit.metrics.core import account_time_zone, metric, window

BASELINE = 8  # weeks a count is compared with: its series' mean over the weeks before
FDR = 0.05  # of the flags a table raises, the share expected to be chance
COUNTS = (
    "leads",
    "new_clients",
    "refusals",
    "sales",
    "crm_events",
    "activities",
    "calls_in",
    "calls_out",
    "calls_missed",
    "proposals",
    "payments",
    "meetings_held",
    "due_next_day",
)


def _local_monday(as_of, time_zone: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """as_of in local time, and the Monday 00:00 of the week it falls in."""
    local = pd.Timestamp(as_of).tz_localize("UTC").tz_convert(time_zone).tz_localize(None)
    return local, (local - pd.Timedelta(days=local.weekday())).normalize()


def weeks_before(as_of, weeks: int, time_zone: str) -> pd.DatetimeIndex:
    """Mondays (local) of the last `weeks` full weeks before as_of."""
    _, this_monday = _local_monday(as_of, time_zone)
    return pd.date_range(end=this_monday - pd.Timedelta(days=7), periods=int(weeks), freq="7D")


def running_week(as_of, time_zone: str) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The week as_of falls in, as (its Monday, as_of) in local time, when as_of is past that
    Monday's start: its days are in no full week (a month's last days, as of the 1st)."""
    local, monday = _local_monday(as_of, time_zone)
    return (monday, local) if local > monday else None


def local_weeks_in_utc(mondays: pd.DatetimeIndex, zone: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The UTC instants the local weeks span: from mondays[0] 00:00 to the end of mondays[-1]'s."""
    start, end = mondays[0], mondays[-1] + pd.Timedelta(days=7)
    return tuple(t.tz_localize(zone).tz_convert("UTC").tz_localize(None) for t in (start, end))


def _weeks(con, as_of, weeks, pipeline, owner, time_zone, history: int = 1):
    """The account's zone, the Mondays of `weeks` weeks and `history` more before them (every
    shown week has its baseline), and the query parameters from the first of them on."""
    zone = account_time_zone(con, time_zone)
    mondays = weeks_before(as_of, weeks + history, zone)
    start, _ = local_weeks_in_utc(mondays, zone)  # up to as_of: what is due reaches past the weeks
    return zone, mondays, {**window(as_of, start).params(pipeline, owner), "time_zone": zone}


def _week_blocks(con, as_of, mondays, ends, params, pipeline, owner, zone):
    """The team's and each manager's blocks for the weeks of `mondays` (kpi_counts, from the
    first of them on), the client base counted at each week's end (`ends`, local)."""
    # due the next working day after each week: that day for each week (two weeks can share one,
    # after a long holiday: what is due then counts for both)
    next_days = [workdays.next_working_day(monday + pd.Timedelta(days=6), zone) for monday in mondays]
    counts = query(con, "metrics/kpi_counts", **params, due_days=next_days, due_weeks=list(mondays))
    # everyone on the team gets a row, even in a week when they did nothing
    members = [] if owner else con.execute(
        "select name from main.users where is_active and team is not null"
    ).df()["name"].tolist()  # fmt: skip
    # the client base: distinct clients with a deal created before each week's end
    scope = window(as_of).params(pipeline, owner)  # every deal in scope, whenever created
    week_ends = [pd.Timestamp(end).to_pydatetime() for end in ends]
    base = query(con, "metrics/kpi_client_base", **scope, time_zone=zone, week_ends=week_ends)
    client_base = dict(zip(mondays, base["client_base"], strict=True))
    return _blocks(counts, mondays, None, client_base=client_base), _blocks(counts, mondays, "owner", members)


def _blocks(counts: pd.DataFrame, mondays, group: str | None, members=(), client_base=None) -> pd.DataFrame:
    """Every KPI block per week (and per `group` value: owner) from kpi_counts, zeros where
    nothing happened; `client_base`: the team's client base per week (kpi_client_base.sql)."""
    rows = counts[counts["is_team"] == (group is None)].drop(columns="is_team")
    if group:
        names = sorted(set(rows["owner"]) | set(members))
        grid = pd.MultiIndex.from_product([mondays, names], names=["week", group])
        table = rows.set_index(["week", "owner"])
    else:
        grid = pd.Index(mondays, name="week")
        table = rows.drop(columns="owner").set_index("week")
    table = table.reindex(grid).fillna(0).astype(float)  # a week without activity is a row of zeros
    table["crm_events"] = table["activities"] + table["stage_moves"]
    table["missed_share"] = table["calls_missed"] / (table["calls_in"] + table["calls_missed"]).where(
        lambda n: n > 0
    )
    table["lead_balance"] = table["leads"] / (table["refusals"] + table["sales"]).where(lambda n: n > 0)
    table = table.reset_index()
    table["client_base"] = table["week"].map(client_base or {}) if not group else np.nan
    return table


def _changes(table: pd.DataFrame, group: str | None) -> pd.DataFrame:
    """For every count: what it was expected to be, the change from that, the overdispersion of
    the weeks it was learnt from, and the two-sided p-value of the count against it
    (stats.count_against_baseline). The team's count is expected at its mean over the BASELINE
    weeks before. A manager's at their share of those weeks' team counts, times this week's: a
    season or a campaign that moves the whole team moves the expectation with it, so what is left
    is the manager's own change. Weeks without a full baseline are not tested."""
    table = table.sort_values([*([group] if group else []), "week"]).reset_index(drop=True)
    weeks = table["week"].to_numpy()

    def before(values: pd.Series) -> np.ndarray:  # rows × BASELINE: the same series, 1 … B weeks back
        series = values.groupby(table[group]) if group else values
        return np.column_stack([series.shift(k).to_numpy(float) for k in range(1, BASELINE + 1)])

    for column in COUNTS:
        now, past = table[column].to_numpy(float), before(table[column])
        if group:
            totals = table.groupby("week")[column].transform("sum")
            past_totals = before(totals)
            with np.errstate(invalid="ignore", divide="ignore"):
                share = past.sum(axis=1) / past_totals.sum(axis=1)
            share = np.where(past_totals.sum(axis=1) > 0, share, 0.0)
            expected, fitted = totals.to_numpy(float) * share, past_totals * share[:, None]
        else:
            expected = past.mean(axis=1)
            fitted = np.repeat(expected[:, None], BASELINE, axis=1)
        expected = np.where(np.isnan(past).any(axis=1), np.nan, expected)  # no full baseline: untested
        phi = np.ones(len(table))
        for week in np.unique(weeks):
            rows = weeks == week
            phi[rows] = stats.pooled_dispersion(past[rows], fitted[rows])
        table[f"{column}_base"] = expected
        with np.errstate(invalid="ignore", divide="ignore"):
            table[f"{column}_change"] = np.where(expected > 0, now / expected - 1, np.nan)
        table[f"{column}_dispersion"] = phi
        p = stats.count_against_baseline(now, expected, BASELINE, phi)
        table[f"{column}_p"] = np.where(np.isnan(expected), np.nan, p)
    return table


def _discoveries(table: pd.DataFrame) -> pd.DataFrame:
    """Every count of every row tested as one family: `_q` (Benjamini–Hochberg) and `_sure`."""
    p = table[[f"{column}_p" for column in COUNTS]].to_numpy(float)
    found, q = stats.false_discovery(p.ravel(), FDR)
    for i, column in enumerate(COUNTS):
        table[f"{column}_q"] = q.reshape(p.shape)[:, i]
        table[f"{column}_sure"] = found.reshape(p.shape)[:, i]
    return table


@metric(
    "The weekly KPI table (Monday–Sunday, the account's time zone) for the team and each manager: "
    "every block of METRICS.md §4 with its change from its 8-week baseline and whether that is beyond "
    "noise at a 5% false discovery rate (options weeks, time_zone)"
)
def weekly_kpi(
    con, *, as_of, period_start=None, pipeline=None, owner=None, weeks: int = 8, time_zone: str = ""
) -> pd.DataFrame:
    zone, mondays, params = _weeks(con, as_of, int(weeks), pipeline, owner, time_zone, history=BASELINE)
    ends = mondays + pd.Timedelta(days=7)
    team, per_owner = _week_blocks(con, as_of, mondays, ends, params, pipeline, owner, zone)
    team = _changes(team, None).assign(level="team", name="—")
    per_owner = _changes(per_owner, "owner")
    per_owner = per_owner.assign(level="owner").rename(columns={"owner": "name"})
    table = pd.concat([team, per_owner], ignore_index=True)
    # the weeks before the first shown only fed its baselines
    table = _discoveries(table[table["week"] >= mondays[BASELINE]].reset_index(drop=True))
    table["time_zone"] = zone
    return table


@metric(
    "The week as_of falls in, counted up to as_of (a month's last days, as of the 1st): every block of "
    "the weekly KPI table for the team and each manager, shown apart from the full weeks and never "
    "compared with them (options time_zone)"
)
def partial_week(
    con, *, as_of, period_start=None, pipeline=None, owner=None, time_zone: str = ""
) -> pd.DataFrame:
    zone = account_time_zone(con, time_zone)
    running = running_week(as_of, zone)
    if running is None:  # as_of is a Monday's start: every day before it is in a full week
        columns = ["week", "week_end", "level", "name", *COUNTS, "client_base", "time_zone"]
        return pd.DataFrame(columns=columns)
    monday, until = running
    mondays = pd.DatetimeIndex([monday])
    start, _ = local_weeks_in_utc(mondays, zone)
    params = {**window(as_of, start).params(pipeline, owner), "time_zone": zone}
    team, per_owner = _week_blocks(con, as_of, mondays, [until], params, pipeline, owner, zone)
    team = team.assign(level="team", name="—")
    per_owner = per_owner.assign(level="owner").rename(columns={"owner": "name"})
    table = pd.concat([team, per_owner], ignore_index=True)
    table["week_end"] = until  # exclusive: the running week is counted up to as_of
    # what falls due after a week that is not over is not known yet (more may be planned)
    table["due_next_day"] = np.nan
    table["time_zone"] = zone
    return table


@metric(
    "Per manager and day of the last full week: calls and minutes, proposals and payments with "
    "sums, meetings held, tasks and meetings due the next working day (options time_zone)"
)
def manager_daily(
    con, *, as_of, period_start=None, pipeline=None, owner=None, time_zone: str = ""
) -> pd.DataFrame:
    zone, mondays, params = _weeks(con, as_of, 1, pipeline, owner, time_zone)
    days = pd.date_range(mondays[-1], periods=7, freq="D")
    next_days = [workdays.next_working_day(day, zone) for day in days]
    table = query(con, "metrics/kpi_daily", **params, days=list(days), due_days=next_days)
    counts = ["calls", "calls_missed", "proposals", "payments", "meetings_held", "due_next_day"]
    amounts = ["call_minutes", "proposals_amount", "payments_amount"]
    return table.astype({**dict.fromkeys(counts, int), **dict.fromkeys(amounts, float)}).assign(
        time_zone=zone
    )


@metric(
    "Lead balance per week: leads / (refusals + sales), with the clog / lead-shortage diagnosis "
    "(options weeks, tolerance, consecutive, time_zone)"
)
def lead_balance(
    con,
    *,
    as_of,
    period_start=None,
    pipeline=None,
    owner=None,
    weeks: int = 8,
    tolerance: float = 0.2,
    consecutive: int = 2,
    time_zone: str = "",
    kpi: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """`kpi`: the weekly_kpi table of the same options when the caller has it (not built twice)."""
    table = (
        kpi
        if kpi is not None
        else weekly_kpi(con, as_of=as_of, pipeline=pipeline, owner=owner, weeks=weeks, time_zone=time_zone)
    )
    team = table.loc[table["level"] == "team", ["week", "leads", "refusals", "sales", "lead_balance"]]
    team = team.reset_index(drop=True)
    # read from the counts, so a week of leads and no closes is a clog (its ratio is undefined)
    closes = team["refusals"] + team["sales"]
    team["state"] = np.select(
        [
            (team["leads"] == 0) & (closes == 0),
            team["leads"] > (1 + tolerance) * closes,
            team["leads"] < (1 - tolerance) * closes,
        ],
        ["no_flow", "clog", "shortage"],
        "balanced",
    )
    streak = (team["state"] != team["state"].shift()).cumsum()
    team["weeks_in_state"] = team.groupby(streak).cumcount() + 1
    # the state's weeks together: what a diagnosis of k weeks rests on, not its last week alone
    team["state_leads"] = team.groupby(streak)["leads"].cumsum()
    team["state_closes"] = team.assign(closes=closes).groupby(streak)["closes"].cumsum()
    team["state_balance"] = team["state_leads"] / team["state_closes"].where(lambda n: n > 0)
    team["diagnosis"] = np.where(
        team["state"].isin(["clog", "shortage"]) & (team["weeks_in_state"] >= consecutive), team["state"], ""
    )
    team["tolerance"] = tolerance
    return team


@metric(
    "Lead response time (created → first outbound call, e-mail or meeting), Kaplan–Meier with "
    "never-answered leads censored: median with CI and the shares within 15 minutes and 1 day, for "
    "the team, per manager and per source, over the leads created in the weeks the weekly table "
    "shows and the running week's days before as_of (options weeks, time_zone)"
)
def response_time(
    con, *, as_of, period_start=None, pipeline=None, owner=None, weeks: int = 8, time_zone: str = ""
) -> pd.DataFrame:
    zone = account_time_zone(con, time_zone)
    start, _ = local_weeks_in_utc(weeks_before(as_of, weeks, zone), zone)
    # the leads of the weeks shown and of the running week's days before as_of; answers are
    # followed up to as_of (a lead not yet answered is censored there)
    leads = query(con, "metrics/lead_response", **window(as_of, start).params(pipeline, owner))

    def summarise(part):
        q = stats.survival_quantiles(part["minutes"], part["is_answered"])
        curve = stats.survival_curve(part["minutes"], part["is_answered"])
        within = {f"within_{label}": _closed_by(curve, limit) for label, limit in (("15m", 15), ("1d", 1440))}
        return {
            "n": q.n,
            "n_answered": q.n_events,
            "n_never": q.n - q.n_events,
            "median_minutes": q.median,
            "median_minutes_low": q.median_low,
            "median_minutes_high": q.median_high,
            **within,
        }

    rows = [{"level": "team", "name": "—", **summarise(leads)}]
    for level, column in (("owner", "owner"), ("source", "source")):
        rows += [{"level": level, "name": name, **summarise(part)} for name, part in leads.groupby(column)]
    return pd.DataFrame(rows)


def _closed_by(curve: dict, limit: float) -> float:
    """1 − S(limit) from a Kaplan–Meier curve: the share answered within `limit` minutes."""
    at = np.searchsorted(curve["day"], limit, side="right") - 1
    return float(1 - curve["value"][max(at, 0)])


@metric(
    "Missed-call share of inbound calls per manager and per hour of day (local), Wilson CI "
    "(options weeks, time_zone)"
)
def missed_calls(
    con, *, as_of, period_start=None, pipeline=None, owner=None, weeks: int = 8, time_zone: str = ""
) -> pd.DataFrame:
    zone, mondays, params = _weeks(con, as_of, int(weeks), pipeline, owner, time_zone)
    # the weeks shown, and the running week's days up to as_of (a month's last days)
    running = running_week(as_of, zone)
    week_start, week_end = mondays[1], running[1] if running else mondays[-1] + pd.Timedelta(days=7)
    counts = query(con, "metrics/inbound_calls", **params, week_start=week_start, week_end=week_end)
    rows = []
    for level, column in (("team", None), ("owner", "owner"), ("hour", "hour")):
        part = counts[counts["level"] == level]  # the team's: one row, even without calls
        part = part.sort_values(column) if column else part
        for name, n, missed in zip(part[column] if column else ["—"], part["n"], part["missed"], strict=True):
            low, high = stats.wilson(int(missed), int(n))
            rows.append(
                {
                    "level": level,
                    "name": name,
                    "n": int(n),
                    "missed": int(missed),
                    "missed_share": missed / n if n else np.nan,
                    "missed_share_low": low,
                    "missed_share_high": high,
                }
            )
    return pd.DataFrame(rows)


@metric(
    "Activity flags for the last full week: managers whose activities fell from their own 8-week "
    "baseline, or lie far below the team median, beyond noise at a 5% false discovery rate over the "
    "managers (options drop, rate, weeks, time_zone)"
)
def activity_flags(
    con,
    *,
    as_of,
    period_start=None,
    pipeline=None,
    owner=None,
    drop: float = 0.3,
    rate: float = FDR,
    weeks: int = 2,
    time_zone: str = "",
    kpi: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Activities (calls, e-mails, meetings, tasks, proposals, payments), not stage moves, which
    follow the deals rather than the manager's effort. A fall is a drop of at least `drop` from the
    manager's baseline whose one-sided p-value (negative binomial, as in weekly_kpi) is a
    Benjamini–Hochberg discovery at `rate` among the managers; far below the median likewise,
    against the team median, with the managers' spread around it this week as the noise. `kpi`:
    the weekly_kpi table of the same options when the caller has it (not built twice)."""
    if not 0 < drop < 1:
        raise CrmkitError(f"drop is a share between 0 and 1, not {drop}")
    table = (
        kpi
        if kpi is not None
        else weekly_kpi(
            con, as_of=as_of, pipeline=pipeline, owner=owner, weeks=max(int(weeks), 1), time_zone=time_zone
        )
    )
    active = set(con.execute("select name from main.users where is_active").df()["name"])
    owners = table[(table["level"] == "owner") & table["name"].isin(active)]  # people who left: no flags
    last = owners[owners["week"] == owners["week"].max()].sort_values("name").reset_index(drop=True)
    now, base = last["activities"].to_numpy(float), last["activities_base"].to_numpy(float)
    phi = last["activities_dispersion"].to_numpy(float)
    p_fall = stats.count_against_baseline(now, base, BASELINE, phi, tail="lower")
    p_fall = np.where(np.isnan(base), np.nan, p_fall)
    change = np.where(base > 0, (now - base) / np.where(base > 0, base, 1), np.nan)
    # against the team: the median of this week, the managers' spread around it as the noise
    team_median = float(np.median(now)) if len(now) else np.nan
    spread = stats.pooled_dispersion(now[None, :])
    if team_median > 0:
        median = np.full(len(now), team_median)
        p_low = np.atleast_1d(stats.count_against_baseline(now, median, len(now), spread, tail="lower"))
    else:
        p_low = np.ones(len(now))
    falls, q_fall = stats.false_discovery(p_fall, rate)
    lows, q_low = stats.false_discovery(p_low, rate)
    ratio = now / team_median if team_median else np.full(len(now), np.nan)
    return pd.DataFrame(
        {
            "name": last["name"],
            "week": last["week"],
            "activities": now,
            "baseline": base,
            "change": change,
            "p_fall": p_fall,
            "q_fall": q_fall,
            "is_fall": falls & (change <= -drop),
            "team_median": team_median,
            "ratio_to_median": ratio,
            "p_low": p_low,
            "q_low": q_low,
            "is_low": lows & (ratio <= 1 - drop),
        }
    )
