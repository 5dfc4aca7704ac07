"""What a report notebook shows besides charts: the header (parameters, data freshness, data
quality), tables, findings and the glossary, as HTML. CRM text is always escaped."""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd
from IPython.display import HTML

from crmkit import charts, metrics
from crmkit.db import connect, query
from crmkit.findings import Finding
from crmkit.i18n import GLOSSARY, t
from crmkit.stats import SMALL_N


@dataclass
class Context:
    """An open report: the read-only connection, its window, the language."""

    con: object
    span: metrics.Window
    lang: str
    pipeline: str | None
    owner: str | None

    @property
    def filters(self) -> dict:
        return {
            "as_of": self.span.as_of,
            "period_start": self.span.period_start,
            "pipeline": self.pipeline,
            "owner": self.owner,
        }


def open_report(
    db_path: str, *, as_of: str, period_start: str = "", pipeline: str = "", owner: str = "", lang: str = "en"
) -> Context:
    """Open the database read-only, read the window, switch charts to offline rendering."""
    if lang not in ("en", "ru"):
        lang = "en"
    charts.enable_offline()
    con = connect(db_path, read_only=True)
    if not as_of:  # default: just after the latest event in the data
        latest = query(con, "metrics/data_freshness")["latest_at"].max()
        as_of = (
            (pd.Timestamp(latest) + pd.Timedelta(days=1)).normalize()
            if pd.notna(latest)
            else pd.Timestamp.now()
        )
    span = metrics.window(as_of, period_start or None)
    return Context(con, span, lang, pipeline or None, owner or None)


def _esc(value) -> str:
    return html.escape("" if value is None else str(value))


def header(ctx: Context, report: str, params: dict) -> HTML:
    """Title, introduction, parameters, data freshness and a data-quality note: the stamp."""
    lang = ctx.lang
    fresh = query(ctx.con, "metrics/data_freshness")
    counts = {row.table_name: row.n_rows for row in fresh.itertuples()}
    latest = fresh["latest_at"].max()
    loaded = fresh["last_loaded_at"].iloc[0]
    quality = query(ctx.con, "metrics/history_coverage")
    q = quality.iloc[0]
    shown = {**params, "window": f"{ctx.span.period_start:%Y-%m-%d} … {ctx.span.as_of:%Y-%m-%d}"}
    stamped = {
        t("loaded_at", lang): f"{loaded:%Y-%m-%d %H:%M} UTC" if pd.notna(loaded) else "—",
        t("latest_event", lang): f"{latest:%Y-%m-%d %H:%M} UTC" if pd.notna(latest) else "—",
        **{name: f"{n:,} {t('rows', lang)}" for name, n in counts.items()},
    }
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
    return HTML(
        f'<div class="crmkit-header"><h1>{t("report_" + report, lang)}</h1>'
        f"<p>{t('intro_' + report, lang)}</p>"
        f'<div class="crmkit-stamp">{_pairs(t("parameters", lang), shown)}'
        f"{_pairs(t('data', lang), stamped)}</div>"
        f'<p class="crmkit-quality">{_esc(note)}</p></div>'
    )


def _pairs(caption: str, pairs: dict) -> str:
    rows = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in pairs.items())
    return f"<table><caption>{_esc(caption)}</caption>{rows}</table>"


def section(ctx: Context, key: str, **values) -> HTML:
    """A section heading and its explanation, in the report's language."""
    return HTML(f"<h2>{t(key, ctx.lang)}</h2><p>{t(key + '_text', ctx.lang, **values)}</p>")


def findings(items: list[Finding], lang: str) -> HTML:
    if not items:
        return HTML(f"<h2>{t('findings', lang)}</h2><p>{t('no_findings', lang)}</p>")
    rows = "".join(f"<li>{_esc(f.text)}</li>" for f in items)
    return HTML(f'<h2>{t("findings", lang)}</h2><ol class="crmkit-findings">{rows}</ol>')


def _fmt(value, kind: str) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)) or value is pd.NA:
        return "—"
    if kind == "days":
        return f"{value:,.1f}"
    if kind == "money":
        return f"{value:,.0f}".replace(",", "\u202f")
    if kind == "share":
        return f"{value:.1%}"
    if kind == "int":
        return f"{int(value):,}"
    return str(value)


def table(frame: pd.DataFrame, columns: dict[str, str], lang: str, *, limit: int | None = None) -> HTML:
    """An HTML table of `columns` (column -> kind: text/days/money/share/int). A column `X`
    with `X_low` and `X_high` beside it shows its 95% interval under the value; rows resting on
    fewer than 5 cases are greyed. Every value is escaped."""
    shown = frame if limit is None else frame.head(limit)
    labels = _label_keys()
    head = "".join(f"<th>{_esc(t(c, lang) if c in labels else c)}</th>" for c in columns)
    body = []
    for _, row in shown.iterrows():
        small = "n" in row and pd.notna(row["n"]) and row["n"] < SMALL_N
        cells = []
        for column, kind in columns.items():
            text = _esc(_fmt(row[column], kind))
            if f"{column}_low" in row and _fmt(row[column], kind) != "—":
                low, high = _fmt(row[f"{column}_low"], kind), _fmt(row[f"{column}_high"], kind)
                text += f'<br><span class="ci">{_esc(low)}–{_esc(high)}</span>'
            cells.append(f'<td class="{"num" if kind != "text" else ""}">{text}</td>')
        body.append(f'<tr class="{"small-n" if small else ""}">{"".join(cells)}</tr>')
    more = ""
    if limit is not None and len(frame) > limit:
        more = f"<p class='crmkit-more'>{t('more_rows', lang, shown=limit, total=len(frame))}</p>"
    has_ci = any(f"{c}_low" in frame for c in columns)
    note = f"<p class='crmkit-more'>{t('table_note', lang)}</p>" if has_ci or "n" in frame else ""
    return HTML(
        f'<table class="crmkit-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>{more}{note}"
    )


def main_currency(frame: pd.DataFrame) -> str:
    """The most common currency of a table's deals ("" when it has none)."""
    return (
        str(frame["currency"].mode().iloc[0])
        if "currency" in frame and frame["currency"].notna().any()
        else ""
    )


def _label_keys():
    from crmkit.i18n import LABELS

    return LABELS


def glossary(report: str, lang: str) -> HTML:
    items = "".join(
        f"<dt>{_esc(term)}</dt><dd>{_esc(ru if lang == 'ru' else en)}</dd>"
        for term, (en, ru) in GLOSSARY[report].items()
    )
    return HTML(f'<h2>{t("glossary", lang)}</h2><dl class="crmkit-glossary">{items}</dl>')


def level_names(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Label the team row of a per-level table in the report's language."""
    out = frame.copy()
    out.loc[out["level"] == "team", "name"] = t("team", lang)
    out["level"] = out["level"].map(lambda v: t(v, lang) if v in ("team", "owner", "pipeline") else v)
    return out
