"""The metric registry and the window every metric reads: [period_start, as_of)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from crmkit.db import query
from crmkit.errors import CrmkitError

REGISTRY: dict[str, tuple[Callable, str]] = {}


SCOPE_FILTERS = ("pipeline", "owner")


def metric(description: str, *, whole_account: bool = False):
    """Register a metric table under its function name, with a one-line description. A table of
    the whole account (`whole_account`: the audit, the loads) cannot be narrowed to a pipeline or
    an owner: given one, it refuses it rather than quietly ignore it. Any other refuses a filter
    that names nothing in the account."""

    def register(func):
        @functools.wraps(func)
        def checked(con, **kwargs):
            narrowed = [f for f in SCOPE_FILTERS if kwargs.get(f)]
            if whole_account and narrowed:
                raise CrmkitError(
                    f"{func.__name__} covers the whole account: it cannot be narrowed to one "
                    f"{narrowed[0]}; leave out --{narrowed[0]}"
                )
            if narrowed:
                check_scope(con, kwargs.get("pipeline"), kwargs.get("owner"))
            return func(con, **kwargs)

        REGISTRY[func.__name__] = (checked, description)
        return checked

    return register


def owner_names(con, owner: str) -> set[str]:
    """The names an owner filter means, as tables show owners (the user's name, else the id):
    for a table computed over the whole team and then narrowed to one manager's rows."""
    return {
        name
        for (name,) in con.execute(
            "select coalesce(users.name, named.owner_id) from owners_named(?) as named "
            "left join main.users as users on users.user_id = named.owner_id",
            [owner],
        ).fetchall()
    }


def check_scope(con, pipeline=None, owner=None) -> None:
    """A filter that names no pipeline or no owner of the account is a typo, not an empty
    report: refuse it, listing what there is."""
    if pipeline and not con.execute("select 1 from pipelines_named(?)", [pipeline]).fetchone():
        names = [row[0] for row in con.execute("select name from main.pipelines order by name").fetchall()]
        raise CrmkitError(f"no pipeline named {pipeline!r}; the pipelines are: {', '.join(names) or 'none'}")
    if owner and not con.execute(
        "select 1 from owners_named(?) as named where named.owner_id in "
        "(select owner_id from main.deals union select owner_id from main.activities "
        "union select user_id from main.users)",
        [owner],
    ).fetchone():
        raise CrmkitError(
            f"no owner named {owner!r} among the users, deals and activities; "
            "give a manager's name as in the CRM, or their id"
        )


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


def account_time_zone(con, time_zone: str | None = "") -> str:
    """The account's zone, in which days and weeks are cut: the one given, else the last load's,
    else UTC."""
    if time_zone:
        return time_zone
    zone = con.execute("select time_zone from main.loads order by loaded_at desc limit 1").fetchone()
    return zone[0] if zone else "UTC"


def group_rows(frame: pd.DataFrame, by: list[str], summarise: Callable) -> pd.DataFrame:
    """One row for everybody ("team") and one per value of each column in `by`."""
    values = frame.drop(columns=by)  # the groups' text columns are not copied into every part
    rows = [{"level": "team", "name": "—", **summarise(values)}]
    for column in by:
        for name, part in values.groupby(frame[column], sort=True):
            rows.append({"level": column, "name": name, **summarise(part)})
    return pd.DataFrame(rows)


def data_end(con) -> pd.Timestamp | None:
    """The moment just after the data: midnight after its latest event (data_freshness.sql), a
    report's default as_of and the end of what a backtest can judge; None when nothing is dated."""
    latest = query(con, "metrics/data_freshness")["latest_at"].max()
    return (pd.Timestamp(latest) + pd.Timedelta(days=1)).normalize() if pd.notna(latest) else None


@metric("Rows per table, latest event times and the last load time", whole_account=True)
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
