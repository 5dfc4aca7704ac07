"""What a report notebook shows besides charts: the header (parameters, data freshness, data
quality), tables, findings and the glossary, as HTML. CRM text is always escaped."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import HTML

from crmkit import __version__, charts, localize, metrics
from crmkit.db import connect, pin, query
from crmkit.findings import Finding, main_currency  # noqa: F401 (notebooks call report.main_currency)
from crmkit.i18n import GLOSSARY, LABELS, TERMS, scoped_title, t
from crmkit.inert import css_string
from crmkit.metrics.core import account_time_zone, data_end
from crmkit.stats import SMALL_N


@dataclass
class Context:
    """An open report: the read-only connection, its window, the language."""

    con: object
    span: metrics.Window
    lang: str
    pipeline: str | None
    owner: str | None
    report: str = ""  # set by `header`, read by `about`
    said_lacking: dict = field(default_factory=dict)  # what the data lacks -> the section that said it
    params: dict = field(default_factory=dict)

    @cached_property
    def lacks(self) -> frozenset[str]:
        """What the account has none of, that some sections need: "stage_history" (no real stage
        change: Maven's, Olist's, a plain deals export) and "activities"."""
        history, activities, clients = self.con.execute(
            "select exists (select 1 from main.stage_changes where not is_synthetic), "
            "exists (select 1 from main.activities), "
            "exists (select 1 from main.deals where nullif(trim(client), '') is not null)"
        ).fetchone()
        found = (("stage_history", history), ("activities", activities), ("clients", clients))
        return frozenset(need for need, has in found if not has)

    @cached_property
    def freshness(self) -> pd.DataFrame:
        """Rows per table, the latest event and the last load: read once per report."""
        return query(self.con, "metrics/data_freshness")

    @cached_property
    def zone(self) -> str:
        return account_time_zone(self.con)

    @property
    def filters(self) -> dict:
        return {
            "as_of": self.span.as_of,
            "period_start": self.span.period_start,
            "pipeline": self.pipeline,
            "owner": self.owner,
        }

    @property
    def team_filters(self) -> dict:
        """The filters without the owner: the whole team, the yardstick a manager is read against."""
        return {**self.filters, "owner": None}

    def focus_deals(self, deals: pd.DataFrame) -> pd.DataFrame:
        """A table of deals narrowed to the chosen manager's (if one is)."""
        return deals[deals["owner"] == self.owner].reset_index(drop=True) if self.owner else deals

    def focus(self, table: pd.DataFrame) -> pd.DataFrame:
        """A per-manager table narrowed to the team row and the chosen manager (if one is)."""
        if not self.owner or "level" not in table:
            return table
        keep = (table["level"] == "team") | (table["name"] == self.owner)
        return table[keep].reset_index(drop=True)


def open_report(
    db_path: str,
    *,
    as_of: str,
    period_start: str = "",
    pipeline: str = "",
    owner: str = "",
    lang: str = "en",
    whole_history: bool = False,
) -> Context:
    """Open the database read-only, read the window, switch charts to offline rendering. With no
    period_start the window is the 12 months before as_of, or with `whole_history` everything
    the data holds."""
    if lang not in ("en", "ru"):
        lang = "en"
    charts.enable_offline(lang)
    con = connect(db_path, read_only=True)
    if not as_of:  # default: just after the latest event in the data
        end = data_end(con)
        as_of = end if end is not None else pd.Timestamp.now()
    if not period_start and whole_history:
        first = query(con, "metrics/data_span")["first_at"].iloc[0]
        period_start = pd.Timestamp(first).to_period("M").start_time if pd.notna(first) else ""
    span = metrics.window(as_of, period_start or None)
    pin(con, span.as_of)  # every metric of the report sees the data at this one moment
    return Context(con, span, lang, pipeline or None, owner or None)


def _esc(value) -> str:
    return html.escape("" if value is None else str(value))


def header(ctx: Context, report: str, params: dict) -> HTML:
    """The first screen: title, what the report answers, one line of when (in the account's
    time zone) and the data-quality note. The parameters and row counts are kept for `about`,
    at the end of the report."""
    lang = ctx.lang
    charts.SECTION["unsupported"] = False
    ctx.report, ctx.params = report, params
    zone = ctx.zone
    latest = _local(ctx.freshness["latest_at"].max(), zone)
    stamp = t(
        "stamp",
        lang,
        # dates in a sentence as the language writes them: «1 ноября 2025 г.», "November 1, 2025"
        start=localize.day(ctx.span.period_start, lang, "long"),
        end=localize.day_before(ctx.span.as_of, lang, "long"),
        latest=f"{localize.day(latest, lang, 'long')} {latest:%H:%M}" if pd.notna(latest) else "—",
        zone=zone,
    )
    title = scoped_title(t("report_" + report, lang), ctx.owner, ctx.pipeline)
    note = quality_note(ctx.con, ctx.freshness, ctx.span.as_of, lang)
    return HTML(
        f'<div class="crmkit-header">{page_stamp(title, stamp)}<h1>{_esc(title)}</h1>'
        f"<p>{_esc(t('intro_' + report, lang))}</p>"
        f'<p class="crmkit-stamp-line">{_esc(stamp)}</p>'
        f'<p class="crmkit-quality">{_esc(note)}</p></div>'
    )


def page_stamp(title: str, stamp: str) -> str:
    """The report's title and its window on every printed page (CSS page margin boxes, which
    browsers print instead of their own date-and-path header)."""
    small = "font-size: 8pt; color: #777;"
    return (
        f"<style>@page {{ @top-left {{ content: {css_string(title)}; {small} }}"
        f" @top-right {{ content: {css_string(stamp)}; {small} }}"
        f" @bottom-right {{ content: counter(page) ' / ' counter(pages); {small} }} }}</style>"
    )


def _local(value, zone: str):
    """A UTC timestamp from the database as the account's wall-clock time."""
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).tz_localize("UTC").tz_convert(zone).tz_localize(None)


def quality_note(con, freshness: pd.DataFrame, as_of: pd.Timestamp, lang: str) -> str:
    """What the whole account's data supports: stage history, dates, rejects, and money (which
    currencies were priced): the same note on every report and in the bundle's data box."""
    counts = {row.table_name: row.n_rows for row in freshness.itertuples()}
    q = query(con, "metrics/history_coverage").iloc[0]
    note = t(
        "quality_note",
        lang,
        n=q.n_deals,
        history=q.n_with_history,
        share=q.n_with_history / max(q.n_deals, 1),
        no_created=q.n_without_created,
        before=q.n_closed_before_created,
        rejects=counts.get("rejects", 0),
    )
    money = query(con, "metrics/money_coverage", as_of=as_of.to_pydatetime()).iloc[0]
    if money.n_currencies > 1 or money.n_priced < money.n_with_amount:
        note += " " + t(
            "money_note",
            lang,
            currency=money.reporting_currency,
            priced=money.n_priced,
            n=money.n_with_amount,
            share=money.n_priced / max(money.n_with_amount, 1),
            rate_date=f"{money.latest_rate_date:%Y-%m-%d}" if pd.notna(money.latest_rate_date) else "—",
            unpriced=money.unpriced or "—",
        )
    return note


def about(ctx: Context) -> HTML:
    """ "About this report", at its end: the parameters it was run with (the database by its
    file name: no local path leaves the machine) and what the data held, in the account's time."""
    charts.SECTION["unsupported"] = False
    lang = ctx.lang
    fresh, zone = ctx.freshness, ctx.zone
    loaded, latest = _local(fresh["last_loaded_at"].iloc[0], zone), _local(fresh["latest_at"].max(), zone)
    params = {k: (Path(v).name if k == "db" and v else v) for k, v in getattr(ctx, "params", {}).items()}
    shown = {
        t(f"param_{k}", lang) if f"param_{k}" in LABELS else k: v for k, v in params.items() if k != "lang"
    }
    shown[t("window", lang)] = f"{ctx.span.period_start:%Y-%m-%d} … {ctx.span.as_of:%Y-%m-%d}"
    shown.setdefault(t("time_zone", lang), zone)
    stamped = {
        t("loaded_at", lang): f"{loaded:%Y-%m-%d %H:%M}" if loaded is not None else "—",
        t("latest_event", lang): f"{latest:%Y-%m-%d %H:%M}" if latest is not None else "—",
        **{t(f"table_{row.table_name}", lang): localize.number(row.n_rows, ",@row", lang)
           for row in fresh.itertuples()},
    }  # fmt: skip
    return HTML(
        f'<div class="crmkit-about"><h2>{_esc(t("about_report", lang))}</h2>'
        f'<div class="crmkit-stamp">{_pairs(t("parameters", lang), shown)}'
        f"{_pairs(t('data', lang), stamped)}</div></div>"
    )


def _pairs(caption: str, pairs: dict) -> str:
    rows = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in pairs.items())
    return f"<table><caption>{_esc(caption)}</caption>{rows}</table>"


def section(ctx: Context, key: str, *, needs: str | None = None, **values) -> HTML:
    """A section heading and its explanation, in the report's language; the values (stage names,
    say) are CRM text and the whole is escaped, as everything put into a report is. A section that
    `needs` what the account lacks (`Context.lacks`) says so in one line, what export would give
    it, and its charts and tables are not shown (until the next section)."""
    unsupported = needs is not None and needs in ctx.lacks
    charts.SECTION["unsupported"] = unsupported
    heading = f"<h2>{_esc(t(key, ctx.lang))}</h2>"
    if unsupported:  # said in full once, then pointed back to
        title = t(key, ctx.lang)
        first = ctx.said_lacking.setdefault(needs, title)
        line = t("needs_" + needs, ctx.lang) if first == title else t("needs_again", ctx.lang, first=first)
        return HTML(f"{heading}<p class='crmkit-needs'>{_esc(line)}</p>")
    return HTML(f"{heading}<p>{_esc(t(key + '_text', ctx.lang, **values))}</p>")


FINDINGS_MIME = "application/vnd.crmkit.findings+json"


class FindingsBlock(HTML):
    """The findings as the reader sees them (HTML) and as data (FINDINGS_MIME: rank, rule,
    impact, text, evidence) in the same notebook output, so the audit bundle merges every report's
    findings without reading them back out of the HTML."""

    def __init__(self, html: str, items: list[Finding]):
        super().__init__(html)
        self.items = [f.as_data(rank) for rank, f in enumerate(items, 1)]

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self.data, FINDINGS_MIME: self.items}


def findings(items: list[Finding], lang: str, *, heading: str = "findings") -> FindingsBlock:
    """The ranked findings (or, with heading="advice", the advice block) with their evidence."""
    if not items:
        return FindingsBlock(f"<h2>{_esc(t(heading, lang))}</h2><p>{_esc(t('no_findings', lang))}</p>", [])
    rows = "".join(f"<li>{_esc(f.text)}</li>" for f in items)
    return FindingsBlock(f'<h2>{_esc(t(heading, lang))}</h2><ol class="crmkit-findings">{rows}</ol>', items)


_NUM = ' class="num"'  # a numeric column: its header aligned with its figures


# Values a metric writes into a text column for a row of its own: shown in the reader's language.
MARKERS = {"—all—": "marker_all", "—weighted—": "marker_weighted"}


def _fmt(value, kind: str, lang: str = "en") -> str:
    """A cell as the report's language writes it («1 234,5», «15,1 %»)."""
    if isinstance(value, float) and np.isinf(value):
        return "∞"  # e.g. a payback month not reached within the data
    if value is None or (isinstance(value, float) and not np.isfinite(value)) or value is pd.NA:
        return "—"
    if kind == "days":
        return localize.number(value, ",.1f", lang)
    if kind == "money":
        return localize.number(value, ",.0f", lang)
    if kind == "estimate":  # a forecast: three significant figures, not the rouble
        return localize.number(localize.significant(value), ",.0f", lang)
    if kind == "share":
        return localize.number(value, ".1%", lang)
    if kind == "int":
        return localize.number(int(value), ",", lang)
    if kind == "date":  # «19.10.2026» in Russian; ISO in English (no month/day ambiguity)
        return f"{pd.Timestamp(value):{'%d.%m.%Y' if lang == 'ru' else '%Y-%m-%d'}}"
    if kind == "month":  # "May 2024", «май 2024»: not "2024-05", which a narrow column breaks at the hyphen
        return localize.month(pd.Period(value, "M").to_timestamp(), lang)
    if kind == "p":
        return localize.p_value(value, lang)
    if kind == "check":  # a yes/no in any language
        return "✓" if value else "✗"
    if kind == "label":  # a code with a translated name (before / after, a metric's name)
        return value
    return str(value)


@charts.unless_unsupported
def table(
    frame: pd.DataFrame,
    columns: dict[str, str],
    lang: str,
    *,
    limit: int | None = None,
    highlight: dict[str, str] | None = None,
    sheet: str = "",
) -> HTML:
    """An HTML table of `columns` (column -> kind: text/id/days/money/share/int/date/month/check). A
    column `X` with `X_low` and `X_high` beside it shows its 95% interval under the value; rows resting on
    fewer than 5 cases are greyed; `highlight` colours columns ("higher" or "lower" is better)
    from red to green by rank among the managers' rows. Every value is escaped. A table cut at
    `limit` rows with a `sheet` (a label key naming it) carries every row as data
    (TABLE_MIME), for the audit's Excel workbook."""
    if frame.empty:  # a section the data cannot support says so in a line, not an empty grid
        return TableBlock(f'<p class="crmkit-empty">{_esc(t("no_data_table", lang))}</p>', None)
    shown = frame if limit is None else frame.head(limit)
    labels = LABELS
    shades = _shades(shown, highlight or {})
    classes = {column: _cell_class(kind, shown[column]) for column, kind in columns.items()}
    head = "".join(
        f"<th{'' if kind in _TEXT_KINDS else _NUM}>{_esc(t(c, lang) if c in labels else c)}</th>"
        for c, kind in columns.items()
    )
    body = []
    for index, row in shown.iterrows():
        small = "n" in row and pd.notna(row["n"]) and row["n"] < SMALL_N
        cells = []
        for column, kind in columns.items():
            shown = _fmt(row[column], kind, lang)
            if kind == "label" and shown in LABELS:
                shown = t(shown, lang)
            elif shown in MARKERS:  # a row the metric adds (all sources, the weighted total)
                shown = t(MARKERS[shown], lang)
            text = _esc(_level_label(row, column, lang) or shown)
            if f"{column}_low" in row and _fmt(row[column], kind, lang) != "—":
                text += f'<br><span class="ci">{_esc(_interval(row, column, kind, lang))}</span>'
            shade = shades.get((index, column))
            style = f' style="background:{shade}"' if shade else ""
            cells.append(f'<td class="{classes[column]}"{style}>{text}</td>')
        body.append(f'<tr class="{"small-n" if small else ""}">{"".join(cells)}</tr>')
    more, full = "", None
    if limit is not None and len(frame) > limit:
        more = more_rows(limit, len(frame), lang)
        if sheet:
            full = {"sheet": sheet, "headers": [t(c, lang) if c in labels else c for c in columns],
                    "kinds": list(columns.values()),
                    "rows": [[_cell_value(v) for v in row]  # in Python: a frame would make None NaN again
                             for row in frame[list(columns)].itertuples(index=False)]}  # fmt: skip
    has_ci = any(f"{c}_low" in frame for c in columns)
    # what the table shows: the interval sentence only under intervals, the greyed-rows one only beside n
    notes = (("table_note_ci", has_ci), ("table_note_n", "n" in frame))
    said = [t(key, lang) for key, shown in notes if shown]
    note = f"<p class='crmkit-more'>{' '.join(said)}</p>" if said else ""
    wide = " wide" if len(columns) >= WIDE_COLUMNS else ""
    page = f'<table class="crmkit-table{wide}"><thead><tr>{head}</tr></thead>'
    page += f"<tbody>{''.join(body)}</tbody></table>"
    return TableBlock(page + more + note, full)


def _interval(row: pd.Series, column: str, kind: str, lang: str) -> str:
    """The 95% interval of `column` (its `_low` and `_high`) under its value; a bound the sample is
    too small to give is left open: a median of 9 stays reads "≤ 39.9" (below it with 95%
    confidence), not "—–39.9"."""
    low, high = (_fmt(row[f"{column}_{end}"], kind, lang) for end in ("low", "high"))
    if low == "—" and high == "—":
        return "—"
    if low == "—":
        return f"≤\u00a0{high}"
    if high == "—":
        return f"≥\u00a0{low}"
    return f"{low}–{high}"


def _cell_class(kind: str, values: pd.Series) -> str:
    """A column's cells: numbers set right; ids and months unbroken; a text column of short words
    (names) unbroken too (a manager's name broken in two doubled every row of the daily table),
    while longer text (deal titles) may wrap."""
    if kind in ("id", "month"):
        return kind
    if kind == "text" and values.astype(str).str.len().max() <= SHORT_TEXT:
        return "short"
    return "" if kind in _TEXT_KINDS else "num"


TABLE_MIME = "application/vnd.crmkit.table+json"
_TEXT_KINDS = ("text", "label", "month", "id")  # set left, as words are; the others are numbers
SHORT_TEXT = 20  # characters: a text column no longer than this is kept on one line
WIDE_COLUMNS = 9  # from this many columns a table prints a step smaller (print.css)


class TableBlock(HTML):
    """A table as the reader sees it and, when cut short, every row as data (TABLE_MIME)."""

    def __init__(self, html: str, full: dict | None):
        super().__init__(html)
        self.full = full

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self.data, **({TABLE_MIME: self.full} if self.full else {})}


def more_rows(shown: int, total: int, lang: str, sheet: tuple[int, str] | None = None) -> str:
    """The note under a table cut short; in the audit, where the full list is (sheet number, name)."""
    if sheet is None:
        return f"<p class='crmkit-more'>{_esc(t('more_rows', lang, shown=shown, total=total))}</p>"
    text = t("more_rows_sheet", lang, shown=shown, total=total, number=sheet[0], name=sheet[1])
    return f"<p class='crmkit-more'>{_esc(text)}</p>"


def _cell_value(value):
    """A cell for the workbook: numbers and dates as such, anything else as text; an unknown
    value (None, NaN, NA, NaT, an infinite float) is an empty cell, never the text "nan"."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, np.integer | np.floating | np.bool_):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def _level_label(row: pd.Series, column: str, lang: str) -> str | None:
    """Per-level tables (team / pipeline / owner rows): those words, and the team's name, in `lang`."""
    if "level" not in row:
        return None
    if column == "level":
        return (
            t(row["level"], lang)
            if row["level"] in ("team", "owner", "pipeline", "group", "source")
            else None
        )
    if column == "name" and row["level"] == "team":
        return t("team", lang)
    return None


_SCALE = ["#f4c7c3", "#f9e0c7", "#f5f5f5", "#d9ead3", "#b7dcae"]  # worst … best


def _shades(frame: pd.DataFrame, highlight: dict[str, str]) -> dict:
    """Cell colours by each highlighted column's rank among the managers' rows."""
    rows = frame[frame["level"] == "owner"] if "level" in frame else frame
    shades = {}
    if len(rows) < 3:  # a rank among one or two is no comparison
        return shades
    for column, better in highlight.items():
        values = rows[column].astype(float)
        ranks = values.rank(pct=True, ascending=(better == "higher"))
        for index, rank in ranks.dropna().items():
            shades[(index, column)] = _SCALE[min(int(rank * len(_SCALE) - 1e-9), len(_SCALE) - 1)]
    return shades


# the section of docs/METRICS.md that defines each report's numbers
METRICS_SECTION = {"00": 7, "01": 1, "02": 2, "03": 3, "04": 6, "05": 4, "06": 5}


def losses(
    ctx: Context,
    by_reason: pd.DataFrame,
    by_stage: pd.DataFrame,
    months: pd.DataFrame,
    by_owner: pd.DataFrame,
) -> HTML:
    """Why deals are lost: by reason, by stage, by month and what sets managers apart — or, when no
    lost deal in the window names a reason, one line saying which export would give them."""
    lang = ctx.lang
    if by_reason["reason"].notna().sum() == 0:
        return HTML(f"<h2>{_esc(t('section_losses', lang))}</h2><p>{_esc(t('losses_none', lang))}</p>")
    money = {"n": "int", "share": "share", "amount_lost": "money", "n_priced": "int"}
    reasons = by_reason.assign(reason=by_reason["reason"].fillna(t("no_reason_given", lang)))
    parts = [
        section(ctx, "section_losses").data,
        table(reasons, {"reason": "text", **money, "top_stage": "text", "top_stage_n": "int"}, lang).data,
        table(by_stage.dropna(subset=["stage"]), {"stage": "text", **money, "top_reason": "text",
              "top_reason_n": "int"}, lang).data,
        section(ctx, "section_loss_months").data,
        table(months, {"month": "month", "n": "int", "n_lost": "int", "loss_rate": "share",
                       "top_reason": "text",
              "top_reason_n": "int"}, lang).data,
        section(ctx, "section_loss_owners").data,
        table(by_owner[by_owner["is_different"]], {"owner": "text", "reason": "text", "n": "int",
              "n_owner_lost": "int", "share": "share", "team_share": "share"}, lang).data,
    ]  # fmt: skip
    return HTML("".join(parts))


def glossary(report: str, lang: str) -> HTML:
    items = "".join(
        f"<dt>{_esc(TERMS[term] if lang == 'ru' else term)}</dt><dd>{_esc(ru if lang == 'ru' else en)}</dd>"
        for term, (en, ru) in GLOSSARY[report].items()
    )
    source = t("glossary_source", lang, section=METRICS_SECTION[report], version=__version__)
    return HTML(
        f'<h2>{t("glossary", lang)}</h2><dl class="crmkit-glossary">{items}</dl>'
        f'<p class="crmkit-source">{_esc(source)}</p>'
    )


@charts.unless_unsupported
def matrix(frame: pd.DataFrame, value: str, kind: str, lang: str) -> HTML:
    """A per-level stage table pivoted, one table per pipeline: a row per team/manager, a column
    per stage in funnel order, each cell the value with its 95% interval and n (n < 5 greyed)."""
    tables = []
    for pipeline, in_pipeline in frame.groupby("pipeline", sort=True):
        stages = in_pipeline.drop_duplicates("stage").sort_values("position")["stage"].tolist()
        head = f"<th>{t('name', lang)}</th>" + "".join(f"<th>{_esc(v)}</th>" for v in stages)
        body = []
        for name, part in in_pipeline.groupby("name", sort=False):
            cells = []
            for stage in stages:
                match = part[part["stage"] == stage]
                if match.empty or pd.isna(match.iloc[0][value]):
                    cells.append('<td class="num">—</td>')
                    continue
                row = match.iloc[0]
                small = " small-n" if row["n"] < SMALL_N else ""
                interval = _interval(row, value, kind, lang)
                cells.append(
                    f'<td class="num{small}">{_esc(_fmt(row[value], kind, lang))}<br>'
                    f'<span class="ci">{_esc(interval)} · n={int(row["n"])}</span></td>'
                )
            label = _level_label(part.iloc[0], "name", lang) or name
            body.append(f"<tr><td>{_esc(label)}</td>{''.join(cells)}</tr>")
        tables.append(
            f'<table class="crmkit-table"><caption>{_esc(pipeline)}</caption><thead><tr>{head}</tr>'
            f"</thead><tbody>{''.join(body)}</tbody></table>"
        )
    note = f"{t('table_note_ci', lang)} {t('table_note_n', lang)}"
    return HTML("".join(tables) + f"<p class='crmkit-more'>{note}</p>")


# The KPI blocks counted from activities, and from stage moves: an account without them has none
# to show (a row of zeros would say "nothing happened", not "not recorded").
ACTIVITY_BLOCKS = {
    "calls_in", "calls_out", "calls_missed", "missed_share", "call_minutes", "proposals",
    "proposals_amount", "payments", "payments_amount", "meetings_held", "due_next_day",
}  # fmt: skip


def supported_blocks(ctx: Context, blocks: dict[str, str]) -> dict[str, str]:
    """The KPI blocks the account can fill: without activities none of theirs, and CRM events
    (activities and stage moves) only when it has either."""
    dropped = set()
    if "activities" in ctx.lacks:
        dropped |= ACTIVITY_BLOCKS
        if "stage_history" in ctx.lacks:
            dropped.add("crm_events")
    return {block: kind for block, kind in blocks.items() if block not in dropped}


@charts.unless_unsupported
def kpi_weeks(
    kpi: pd.DataFrame, blocks: dict[str, str], lang: str, partial: pd.DataFrame | None = None
) -> HTML:
    """The team's KPI table as the seed has it: a row per block, a column per week; the running
    week (`partial`, counted up to as_of) last, marked as such and without changes."""
    team = kpi[kpi["level"] == "team"].sort_values("week")
    head = [t("block", lang)] + [localize.week(w, lang) for w in team["week"]]
    running = partial[partial["level"] == "team"] if partial is not None else pd.DataFrame()
    if len(running):
        last_day = running["week_end"].iloc[0] - pd.Timedelta(microseconds=1)
        head.append(t("partial_week", lang, start=localize.week(running["week"].iloc[0], lang),
                      end=localize.week(last_day, lang)))  # fmt: skip
        team = pd.concat([team, running], ignore_index=True)
    rows = [
        (t(block, lang), [_change_cell(row, block, kind, lang) for _, row in team.iterrows()])
        for block, kind in blocks.items()
    ]
    return _kpi_table(head, rows, lang, extra=t("partial_week_note", lang) if len(running) else "")


@charts.unless_unsupported
def kpi_managers(kpi: pd.DataFrame, blocks: dict[str, str], lang: str) -> HTML:
    """The last week per manager: a row per manager, a column per block, changes beneath."""
    owners = kpi[kpi["level"] == "owner"]
    last = owners[owners["week"] == owners["week"].max()].sort_values("name")
    head = [t("owner", lang)] + [t(block, lang) for block in blocks]
    rows = [
        (row["name"], [_change_cell(row, block, kind, lang) for block, kind in blocks.items()])
        for _, row in last.iterrows()
    ]
    return _kpi_table(head, rows, lang)


def _change_cell(row: pd.Series, block: str, kind: str, lang: str) -> str:
    """A value with its change from the week before beneath: coloured when beyond noise."""
    text = _esc(_fmt(row[block], kind, lang))
    change = row.get(f"{block}_change")
    if change is not None and np.isfinite(change):
        tone = ("up" if change > 0 else "down") if row.get(f"{block}_sure", False) else "noise"
        text += f'<br><span class="chg {tone}">{localize.number(change, "+.0%", lang)}</span>'
    return f'<td class="num">{text}</td>'


def _kpi_table(head: list[str], rows: list[tuple[str, list[str]]], lang: str, extra: str = "") -> HTML:
    header = "".join(f"<th{_NUM if i else ''}>{_esc(h)}</th>" for i, h in enumerate(head))
    body = "".join(f"<tr><td>{_esc(label)}</td>{''.join(cells)}</tr>" for label, cells in rows)
    return HTML(
        f'<table class="crmkit-table kpi"><thead><tr>{header}</tr></thead><tbody>{body}</tbody>'
        f"</table><p class='crmkit-more'>{_esc(' '.join(filter(None, [t('kpi_note', lang), extra])))}</p>"
    )
