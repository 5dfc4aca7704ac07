"""A currency rates file the user gives (`crmkit load --rates rates.csv`): CSV with the columns
`currency`, `date` and `rate`, one unit of `currency` being worth `rate` units of the reporting
currency from `date` on (an empty date: whatever the date). The reporting currency is the one
listed at rate 1, e.g.

    currency,date,rate
    RUB,,1
    USD,2026-10-01,92.30
    USD,2026-11-01,93.10
    EUR,,100.5

Loaded like every file (typed, rejects with reasons, merged by currency and date, `loads`).
"""

from __future__ import annotations

from pathlib import Path

from crmkit.errors import CrmkitError
from crmkit.importers.base import Staged, quote_literal, stage_view
from crmkit.importers.files import read_text_table

COLUMNS = ("currency", "date", "rate")


def stage(con, path: Path) -> Staged:
    raw = read_text_table(con, path)
    lowered = {c.strip().lower(): c for c in raw.columns}
    missing = [c for c in COLUMNS if c not in lowered]
    if missing:
        raise CrmkitError(
            f"{raw.path.name}: a rates file needs the columns currency, date, rate; missing "
            f"{', '.join(missing)}; found: {', '.join(map(repr, raw.columns))}"
        )
    col = {c: raw.col(lowered[c]) for c in COLUMNS}
    reporting = [
        r[0]
        for r in con.execute(f"""
            select distinct upper(trim({col["currency"]})) from {raw.relation} as src
            where try_cast(replace(trim({col["rate"]}), ',', '.') as double) = 1""").fetchall()
    ]
    if len(reporting) != 1:
        raise CrmkitError(
            f"{raw.path.name}: list the reporting currency once at rate 1 (e.g. a row 'RUB,,1'); "
            f"found at rate 1: {', '.join(reporting) or 'none'}"
        )
    return stage_view(con, "currency_rates", raw, f"""
        select src._row, src._raw, upper(trim({col["currency"]})) as currency, {col["date"]} as valid_from,
               {col["rate"]} as rate, {quote_literal(reporting[0])} as reporting_currency
        from {raw.relation} as src""")  # fmt: skip
