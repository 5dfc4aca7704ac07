"""Working days in the account's country: Monday to Friday without its public holidays (the
`holidays` package), the country read from the account's time zone (tzdata's zone.tab:
Europe/Moscow → RU). A zone of no country (UTC) has weekends only. What is due "the next working
day" and a plan's pace are counted in these days."""

from __future__ import annotations

from functools import cache
from importlib import resources

import holidays
import numpy as np
import pandas as pd


@cache
def country_of(zone: str) -> str | None:
    """The ISO country code tzdata gives the zone (None for UTC and other non-geographic zones)."""
    table = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    for line in table.splitlines():
        fields = line.split("\t")
        if not line.startswith("#") and len(fields) >= 3 and fields[2] == zone:
            return fields[0]
    return None


@cache
def _calendar(country: str | None, first_year: int, last_year: int) -> np.busdaycalendar:
    days: list = []
    if country and country in holidays.list_supported_countries():
        days = list(holidays.country_holidays(country, years=range(first_year, last_year + 1)))
    return np.busdaycalendar(weekmask="1111100", holidays=np.array(days, dtype="datetime64[D]"))


def calendar(zone: str, start, end) -> np.busdaycalendar:
    """The working-day calendar of the zone's country covering [start, end] (a year either side)."""
    return _calendar(country_of(zone), pd.Timestamp(start).year - 1, pd.Timestamp(end).year + 1)


def next_working_day(day: pd.Timestamp, zone: str) -> pd.Timestamp:
    """The first working day after `day`. A day off is first rolled back to the working day before
    it, then moved one on: after a Sunday comes Monday (rolled forward, it came out as Tuesday)."""
    days = calendar(zone, day, day)
    return pd.Timestamp(np.busday_offset(np.datetime64(day.date()), 1, roll="backward", busdaycal=days))


def count(begin, end, zone: str) -> np.ndarray:
    """Working days in [begin, end) for arrays of datetime64[D]."""
    begin, end = np.asarray(begin, "datetime64[D]"), np.asarray(end, "datetime64[D]")
    if begin.size == 0:
        return np.zeros(0, dtype=int)
    return np.busday_count(begin, end, busdaycal=calendar(zone, begin.min(), end.max()))
