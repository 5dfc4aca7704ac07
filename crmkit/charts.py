"""Charts: DataFrame -> alt.Chart, pure functions, one theme; and the offline renderer.

The renderer (`enable_offline`) inlines the Vega bundle once per kernel, guarded so a second
evaluation is harmless, and gives each chart a div id derived from its spec, so renders are
repeatable (strict nbval) and the HTML opens with no network (TOOLCHAIN.md).
"""

from __future__ import annotations

import functools
import hashlib
import html
import inspect
import json
from functools import cache
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd

from crmkit import localize
from crmkit.i18n import t
from crmkit.stats import SMALL_N

WIDTH = 640
# Small multiples wrapped into rows each draw their own x axis (the scale stays shared): with one
# axis per column, vega-lite draws it under every column of the last row, under empty cells too.
EACH_CELL = "independent"
_bundle_sent = False


@cache
def vega_bundle() -> str:
    """vega + vega-lite + vega-embed as one script, cached on disk (building it takes ~1-3 s)."""
    import vl_convert

    version = alt.SCHEMA_VERSION.rsplit(".", 1)[0]  # "v6.4.1" -> "v6.4"
    cache_dir = Path.home() / ".cache" / "crmkit"
    path = cache_dir / f"vega-bundle-{vl_convert.__version__}-{version}.js"
    if path.exists():
        return path.read_text(encoding="utf-8")
    script = vl_convert.javascript_bundle(vl_version=version)
    # Top-level `const`s would clash if evaluated twice; run once, inside a function scope.
    guarded = "if (!window.vegaEmbed) { (function () {\n" + script + "\n})(); }"
    guarded = guarded.replace("</script", "<\\/script")
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(guarded, encoding="utf-8")
    except OSError:
        pass  # a read-only home: rebuild next time
    return guarded


def script_json(value) -> str:
    """JSON safe inside an HTML <script>: `<`, `>` and `&` as \\u escapes, so no CRM text (a
    stage named `<!--<script>` or `</script>`) can end the script or open a comment in it."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _offline_renderer(spec: dict, **_) -> dict:
    global _bundle_sent
    payload = script_json(spec)
    chart_id = "crmkit-chart-" + hashlib.sha1(payload.encode()).hexdigest()[:12]
    parts = []
    if not _bundle_sent:
        parts.append(f"<script>{vega_bundle()}</script>")
        _bundle_sent = True
    parts.append(
        f'<div id="{chart_id}" class="crmkit-chart"></div>'
        f'<script>vegaEmbed("#{chart_id}", {payload}, {{"actions": false, "renderer": "svg"}})'
        f'.catch(function (e) {{ document.getElementById("{chart_id}").textContent = '
        f'"Chart failed: " + e; }});</script>'
    )
    # The spec rides along for what cannot run scripts: the PDF draws it as static SVG.
    return {"text/html": "".join(parts), CHART_MIME: spec}


CHART_MIME = "application/vnd.crmkit.vegalite+json"


def enable_offline(lang: str = "en") -> None:
    """Charts render offline, in the theme and the number/date locale of `lang`."""
    alt.renderers.register("crmkit", _offline_renderer)
    alt.renderers.enable("crmkit")
    alt.theme.enable(f"crmkit-{lang if lang in localize.LANGS else 'en'}")


def no_data(lang: str):
    """In place of a chart with nothing to show: one line saying so, not an empty chart."""
    from IPython.display import HTML

    return HTML(f'<p class="crmkit-empty">{html.escape(t("no_data_chart", lang))}</p>')


# Set by report.section: the section's data is not in the account (an export without stage
# history, say), so its charts draw nothing — the section has said why in one line.
SECTION = {"unsupported": False}


def unless_unsupported(show):
    """A chart or table in a section the data cannot support is not shown: its section has said
    what the data lacks (report.section)."""

    @functools.wraps(show)
    def wrapper(*args, **kwargs):
        if SECTION["unsupported"]:
            from IPython.display import HTML

            return HTML("")
        return show(*args, **kwargs)

    return wrapper


def no_data_when_empty(draw):
    """A chart of an empty table (a window or filter with no deals) says so in the report instead
    of failing the whole notebook; a chart in a section the data cannot support is not drawn."""
    signature = inspect.signature(draw)

    @unless_unsupported
    @functools.wraps(draw)
    def wrapper(table, *args, **kwargs):
        if isinstance(table, pd.DataFrame) and table.empty:
            bound = signature.bind(table, *args, **kwargs)
            bound.apply_defaults()
            return no_data(bound.arguments.get("lang", "en"))
        return draw(table, *args, **kwargs)

    return wrapper


def _sign(currency: str, lang: str) -> str:
    return localize.currency_sign(currency, lang)


def _money_title(currency: str, lang: str) -> str:
    """A revenue axis's title with the currency as the tables show it: «Выручка, ₽»."""
    return f"{t('revenue', lang)}, {_sign(currency, lang)}"


def _theme(lang: str) -> alt.theme.ThemeConfig:
    return {
        "config": {
            "font": "Inter, Segoe UI, Roboto, Helvetica, Arial, sans-serif",
            "title": {"fontSize": 15, "anchor": "start", "fontWeight": 600},
            "axis": {"labelFontSize": 12, "titleFontSize": 12, "grid": True, "gridColor": "#eee"},
            "legend": {"labelFontSize": 12, "titleFontSize": 12},
            "view": {"stroke": None},
            "range": {"category": ["#2f6db5", "#e07b39", "#4c9a5b", "#b5483b", "#7d5ba6", "#8c8c8c"]},
            "locale": localize.vega_locale(lang),  # axes and tooltips write numbers as the text does
        }
    }


for _lang in localize.LANGS:
    alt.theme.register(f"crmkit-{_lang}", enable=False)(functools.partial(_theme, _lang))


MAX_WEEK_TICKS = 10
WEEK_FORMAT = {"en": "%b %-d", "ru": "%d.%m"}  # as the tables' weeks (localize.week)


def _weeks_x(frame: pd.DataFrame, field: str, lang: str) -> alt.X:
    """A week axis labelled by the weeks' Mondays (Vega's own weekly ticks fall on Sundays), at
    most ten labels counted back from the latest week."""
    mondays = sorted(pd.to_datetime(frame[field].dropna().unique()))
    step = max(1, -(-len(mondays) // MAX_WEEK_TICKS))
    ticks = [alt.DateTime(year=d.year, month=d.month, date=d.day) for d in mondays[::-1][::step][::-1]]
    axis = alt.Axis(values=ticks, format=WEEK_FORMAT.get(lang, "%b %-d"), labelAngle=0, grid=False)
    return alt.X(f"{field}:T", title=t("week_monday", lang), axis=axis)


@no_data_when_empty
def won_cycle_by_owner(table: pd.DataFrame, lang: str = "en") -> alt.Chart:
    """Median won cycle per manager with its 95% CI, the team median as a rule; n < 5 greyed."""
    owners = table[table["level"] == "owner"].copy()
    team = float(table.loc[table["level"] == "team", "median_days"].iloc[0])
    owners["reliable"] = owners["n"] >= SMALL_N
    order = owners.sort_values("median_days", ascending=False)["name"].tolist()
    y = alt.Y("name:N", sort=order, title=t("owner", lang))
    tooltip = [
        alt.Tooltip("name:N", title=t("owner", lang)),
        alt.Tooltip("n:Q", title="n"),
        alt.Tooltip("median_days:Q", title=t("median_days", lang), format=".1f"),
        alt.Tooltip("median_days_low:Q", title=t("ci_low", lang), format=".1f"),
        alt.Tooltip("median_days_high:Q", title=t("ci_high", lang), format=".1f"),
        alt.Tooltip("mean_days:Q", title=t("mean_days", lang), format=".1f"),
    ]
    color = alt.condition("datum.reliable", alt.value("#2f6db5"), alt.value("#bbbbbb"))
    base = alt.Chart(owners)
    bars = base.mark_rule(strokeWidth=3).encode(
        y=y,
        x=alt.X("median_days_low:Q", title=f"{t('median_days', lang)}"),
        x2="median_days_high:Q",
        color=color,
        tooltip=tooltip,
    )
    points = base.mark_point(filled=True, size=90).encode(
        y=y, x="median_days:Q", color=color, tooltip=tooltip
    )
    labels = base.mark_text(align="left", dx=8, fontSize=11, color="#555").encode(
        y=y, x="median_days_high:Q", text=alt.Text("n:Q", format=",d")
    )
    rule = (
        alt.Chart(pd.DataFrame({"team": [team]}))
        .mark_rule(strokeDash=[4, 4], color="#b5483b")
        .encode(x="team:Q", tooltip=[alt.Tooltip("team:Q", title=t("team", lang), format=".1f")])
    )
    return (bars + points + labels + rule).properties(
        width=WIDTH,
        height=max(160, 26 * len(owners)),
        title={
            "text": t("won_cycle_title", lang),
            "subtitle": t("won_cycle_subtitle", lang, team=team, small=t("small_n", lang)),
        },
    )


@no_data_when_empty
def survival(curve: pd.DataFrame, lang: str = "en", max_day: float = 180) -> alt.Chart:
    """Kaplan–Meier step curve: share of the cohort still open by day, with its 95% band."""
    data = curve[curve["day"] <= max_day]
    # Thin to at most ~400 points: charts get aggregates, never every deal.
    if len(data) > 400:
        data = data.iloc[:: len(data) // 400 + 1]
    base = alt.Chart(data)
    band = base.mark_area(opacity=0.2, interpolate="step-after", color="#2f6db5").encode(
        x=alt.X("day:Q", title=t("days_since_creation", lang)),
        y=alt.Y("low:Q", title=t("share_open", lang), axis=alt.Axis(format="%")),
        y2="high:Q",
    )
    line = base.mark_line(interpolate="step-after", color="#2f6db5").encode(
        x="day:Q",
        y="value:Q",
        tooltip=[
            alt.Tooltip("day:Q", format=".0f", title=t("days_since_creation", lang)),
            alt.Tooltip("value:Q", format=".1%", title=t("share_open", lang)),
            alt.Tooltip("low:Q", format=".1%", title=t("ci_low", lang)),
            alt.Tooltip("high:Q", format=".1%", title=t("ci_high", lang)),
        ],
    )
    half = alt.Chart(pd.DataFrame({"y": [0.5]})).mark_rule(strokeDash=[4, 4], color="#999").encode(y="y:Q")
    n = int(curve["n_at_start"].iloc[0]) if len(curve) else 0
    return (band + line + half).properties(
        width=WIDTH, height=280, title={"text": t("km_title", lang), "subtitle": t("km_subtitle", lang, n=n)}
    )


@no_data_when_empty
def stale_by_owner(table: pd.DataFrame, currency: str, lang: str = "en") -> alt.Chart:
    """Amount of stale deals per manager, with counts in the tooltip."""
    data = table[table["n_stale"] > 0]
    return (
        alt.Chart(data)
        .mark_bar(color="#e07b39")
        .encode(
            y=alt.Y("owner:N", sort="-x", title=t("owner", lang)),
            x=alt.X(
                "stale_amount:Q",
                title=f"{t('stale_amount', lang)}, {_sign(currency, lang)}",
                axis=alt.Axis(format=",.0f"),
            ),
            tooltip=[
                alt.Tooltip("owner:N", title=t("owner", lang)),
                alt.Tooltip("n_stale:Q", title=t("n_stale", lang)),
                alt.Tooltip("n_open:Q", title=t("n_open", lang)),
                alt.Tooltip("stale_share:Q", format=".0%", title=t("stale_share", lang)),
                alt.Tooltip("stale_amount:Q", format=",.0f", title=t("stale_amount", lang)),
            ],
        )
        .properties(
            width=WIDTH,
            height=max(120, 26 * len(data)),
            title={"text": t("stale_title", lang), "subtitle": t("stale_subtitle", lang, currency=currency)},
        )
    )


def _stage_labels(frame: pd.DataFrame) -> pd.Series:
    """Stage names as they are, prefixed with the pipeline only where a name is in several."""
    pairs = frame[["pipeline", "stage"]].drop_duplicates()
    shared = set(pairs.loc[pairs["stage"].duplicated(keep=False), "stage"])
    return frame.apply(
        lambda r: f"{r['pipeline']} · {r['stage']}" if r["stage"] in shared else r["stage"], axis=1
    )


def _stage_order(frame: pd.DataFrame) -> list[str]:
    return frame.drop_duplicates("label").sort_values(["pipeline", "position"])["label"].tolist()


@no_data_when_empty
def stage_times(table: pd.DataFrame, lang: str = "en") -> alt.Chart:
    """Finished stays per stage as a box of aggregates: p10–p90 whiskers, p25–p75 box, median."""
    data = table.assign(label=_stage_labels(table))
    y = alt.Y("label:N", sort=_stage_order(data), title=t("stage", lang), axis=alt.Axis(labelLimit=260))
    tooltip = [
        alt.Tooltip("stage:N", title=t("stage", lang)),
        alt.Tooltip("n_finished:Q", title="n"),
        alt.Tooltip("median_days:Q", title=t("median_days", lang), format=".1f"),
        alt.Tooltip("p25_days:Q", title=t("p25_days", lang), format=".1f"),
        alt.Tooltip("p75_days:Q", title=t("p75_days", lang), format=".1f"),
        alt.Tooltip("p90_days:Q", title=t("p90_days_stage", lang), format=".1f"),
        alt.Tooltip("km_median_days:Q", title=t("km_median_days", lang), format=".1f"),
        alt.Tooltip("share_of_cycle:Q", title=t("share_of_cycle", lang), format=".0%"),
    ]
    base = alt.Chart(data)
    whisker = base.mark_rule(color="#7a9cc6").encode(
        y=y, x=alt.X("p10_days:Q", title=t("days_in_stage", lang)), x2="p90_days:Q", tooltip=tooltip
    )
    box = base.mark_bar(size=14, color="#2f6db5", opacity=0.75).encode(
        y=y, x="p25_days:Q", x2="p75_days:Q", tooltip=tooltip
    )
    median = base.mark_tick(color="white", thickness=2, size=14).encode(
        y=y, x="median_days:Q", tooltip=tooltip
    )
    share = base.mark_text(align="left", dx=6, fontSize=11, color="#555").encode(
        y=y, x="p90_days:Q", text=alt.Text("share_of_cycle:Q", format=".0%")
    )
    return (whisker + box + median + share).properties(
        width=WIDTH,
        height=max(160, 28 * len(data)),
        title={"text": t("stage_times_title", lang), "subtitle": t("stage_times_subtitle", lang)},
    )


@no_data_when_empty
def cumulative_flow(flow: pd.DataFrame, lang: str = "en") -> alt.Chart:
    """Deals in each open stage at the start of every week, stacked, one panel per pipeline:
    a widening band is a queue forming."""
    data = flow.assign(label=_stage_labels(flow))
    area = (
        alt.Chart(data)
        .mark_area(opacity=0.85)
        .encode(
            x=_weeks_x(data, "week_start", lang),
            y=alt.Y("wip:Q", stack=True, title=t("wip", lang)),
            color=alt.Color(
                "label:N",
                sort=_stage_order(data),
                title=t("stage", lang),
                scale=alt.Scale(scheme="tableau10"),
                legend=alt.Legend(labelLimit=260),
            ),
            order=alt.Order("position:Q", sort="descending"),
            tooltip=[
                alt.Tooltip("week_start:T", title=t("week", lang)),
                alt.Tooltip("label:N", title=t("stage", lang)),
                alt.Tooltip("wip:Q", title=t("wip", lang)),
            ],
        )
        .properties(width=WIDTH - 180, height=200)
    )
    return (
        area.facet(
            row=alt.Row(
                "pipeline:N",
                title=None,
                header=alt.Header(labelFontSize=13, labelAngle=0, labelAlign="left", labelOrient="top"),
            )
        )
        .resolve_scale(y="independent")
        .properties(title={"text": t("flow_title", lang), "subtitle": t("flow_subtitle", lang)})
    )


@no_data_when_empty
def manager_stage_heatmap(table: pd.DataFrame, lang: str = "en") -> alt.Chart:
    """Median stay per manager and stage, coloured by the ratio to the team's median."""
    data = table.assign(label=_stage_labels(table), reliable=table["n"] >= SMALL_N)
    # Stages down the side (long names fit), managers across; no grid lines over the cells.
    base = alt.Chart(data).encode(
        y=alt.Y(
            "label:N",
            sort=_stage_order(data),
            title=t("stage", lang),
            axis=alt.Axis(labelLimit=260, grid=False),
        ),
        x=alt.X("owner:N", title=t("owner", lang), axis=alt.Axis(labelAngle=-30, labelLimit=160, grid=False)),
    )
    tooltip = [
        alt.Tooltip("owner:N", title=t("owner", lang)),
        alt.Tooltip("stage:N", title=t("stage", lang)),
        alt.Tooltip("n:Q", title="n"),
        alt.Tooltip("median_days:Q", title=t("median_days", lang), format=".1f"),
        alt.Tooltip("median_days_low:Q", title=t("ci_low", lang), format=".1f"),
        alt.Tooltip("median_days_high:Q", title=t("ci_high", lang), format=".1f"),
        alt.Tooltip("team_median_days:Q", title=t("team", lang), format=".1f"),
    ]
    cells = base.mark_rect().encode(
        color=alt.Color(
            "ratio_to_team:Q",
            title=t("ratio_to_team", lang),
            scale=alt.Scale(scheme="redblue", reverse=True, domainMid=1, domain=[0.5, 2], clamp=True),
        ),
        opacity=alt.condition("datum.reliable", alt.value(1), alt.value(0.3)),
        tooltip=tooltip,
    )
    strong = "datum.ratio_to_team > 1.6 || datum.ratio_to_team < 0.65"
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text("median_days:Q", format=".0f"),
        color=alt.condition(strong, alt.value("white"), alt.value("#222")),
        tooltip=tooltip,
    )
    return (cells + text).properties(
        width=max(320, 56 * data["owner"].nunique()),
        height=max(160, 26 * data["label"].nunique()),
        title={"text": t("heatmap_title", lang), "subtitle": t("heatmap_subtitle", lang)},
    )


def _largest_pipeline(table: pd.DataFrame) -> str:
    """The pipeline with the most deals at its first stage: charts show one pipeline at a time."""
    first = table[table["level"] == "team"].sort_values("position").groupby("pipeline")["reached"].first()
    return str(first.idxmax())


@no_data_when_empty
def funnels(conversion: pd.DataFrame, lang: str = "en") -> alt.Chart:
    """One funnel per manager and the team: the share of the cohort reaching each stage."""
    pipeline = _largest_pipeline(conversion)
    data = conversion[conversion["pipeline"] == pipeline].copy()
    data["who"] = data["name"].where(data["level"] == "owner", t("team", lang))
    first = data.sort_values("position").groupby("who")["reached"].transform("first")
    data["share"] = data["reached"] / first.where(first > 0)
    order = [t("team", lang)] + sorted(data.loc[data["level"] == "owner", "who"].unique())
    stages = data.drop_duplicates("stage").sort_values("position")["stage"].tolist()
    bars = (
        alt.Chart()
        .mark_bar(color="#2f6db5")
        .encode(
            y=alt.Y("stage:N", sort=stages, title=None, axis=alt.Axis(labelLimit=170)),
            x=alt.X(
                "share:Q",
                title=None,  # the subtitle says what a bar is; under each of a dozen cells it is noise
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            tooltip=[
                alt.Tooltip("who:N", title=t("owner", lang)),
                alt.Tooltip("stage:N", title=t("stage", lang)),
                alt.Tooltip("reached:Q", title=t("reached", lang)),
                alt.Tooltip("share:Q", format=".0%", title=t("share_reached", lang)),
            ],
        )
    )
    labels = (
        alt.Chart()
        .mark_text(align="left", dx=3, fontSize=10, color="#444")
        .encode(y=alt.Y("stage:N", sort=stages), x="share:Q", text=alt.Text("reached:Q", format=",d"))
    )
    return (
        alt.layer(bars, labels, data=data)
        .properties(width=150, height=24 * len(stages))
        .facet(
            facet=alt.Facet("who:N", sort=order, title=None, header=alt.Header(labelFontSize=12)), columns=3
        )
        .resolve_axis(x=EACH_CELL)
        .properties(
            title={
                "text": t("funnels_title", lang),
                "subtitle": t("funnels_subtitle", lang, pipeline=pipeline),
            }
        )
    )


@no_data_when_empty
def conversion_intervals(conversion: pd.DataFrame, lang: str = "en") -> alt.Chart:
    """Stage-to-stage conversion per manager with its Wilson 95% interval; dashed: the team."""
    pipeline = _largest_pipeline(conversion)
    data = conversion[(conversion["pipeline"] == pipeline) & (conversion["n"] > 0)].copy()
    data["reliable"] = data["n"] >= SMALL_N
    stages = data.drop_duplicates("stage").sort_values("position")["stage"].tolist()
    n_owners = data.loc[data["level"] == "owner", "name"].nunique()
    tooltip = [
        alt.Tooltip("name:N", title=t("owner", lang)),
        alt.Tooltip("stage:N", title=t("stage", lang)),
        alt.Tooltip("advanced:Q", title=t("advanced", lang)),
        alt.Tooltip("n:Q", title="n"),
        alt.Tooltip("conversion:Q", format=".0%", title=t("conversion", lang)),
        alt.Tooltip("conversion_low:Q", format=".0%", title=t("ci_low", lang)),
        alt.Tooltip("conversion_high:Q", format=".0%", title=t("ci_high", lang)),
        alt.Tooltip("conversion_shrunk:Q", format=".0%", title=t("conversion_shrunk", lang)),
    ]
    color = alt.condition("datum.reliable", alt.value("#2f6db5"), alt.value("#bbbbbb"))
    y = alt.Y("name:N", title=None)
    managers = alt.Chart().transform_filter("datum.level == 'owner'")
    interval = managers.mark_rule(strokeWidth=2).encode(
        y=y,
        x=alt.X(
            "conversion_low:Q",
            title=t("conversion", lang),
            axis=alt.Axis(format="%"),
            scale=alt.Scale(domain=[0, 1]),
        ),
        x2="conversion_high:Q",
        color=color,
        tooltip=tooltip,
    )
    point = managers.mark_point(filled=True, size=50).encode(
        y=y, x="conversion:Q", color=color, tooltip=tooltip
    )
    team = (
        alt.Chart()
        .transform_filter("datum.level == 'team'")
        .mark_rule(color="#b5483b", strokeDash=[4, 4])
        .encode(x="conversion:Q")
    )
    return (
        alt.layer(interval, point, team, data=data)
        .properties(width=170, height=22 * n_owners)
        .facet(
            facet=alt.Facet(
                "stage:N", sort=stages, title=None, header=alt.Header(labelFontSize=12, labelLimit=170)
            ),
            columns=3,
        )
        .resolve_axis(x=EACH_CELL)
        .properties(
            title={
                "text": t("conversion_title", lang),
                "subtitle": t("conversion_subtitle", lang, pipeline=pipeline),
            }
        )
    )


@no_data_when_empty
def source_rates(table: pd.DataFrame, lang: str = "en") -> alt.Chart:
    """Mature-lead conversion per source with its Wilson interval; dashed: all sources; weak in red."""
    overall = float(table["mature_rate"].iloc[0])
    data = table.iloc[1:].assign(flag=lambda d: np.where(d["is_weak"], "weak", "ok"))
    data = data[data["n_mature"] > 0]
    order = data.sort_values("mature_rate", ascending=False)["source"].tolist()
    tooltip = [
        alt.Tooltip("source:N", title=t("source", lang)),
        alt.Tooltip("n:Q", title=t("leads", lang)),
        alt.Tooltip("n_mature:Q", title=t("n_mature", lang)),
        alt.Tooltip("mature_rate:Q", format=".1%", title=t("mature_rate", lang)),
        alt.Tooltip("mature_rate_low:Q", format=".1%", title=t("ci_low", lang)),
        alt.Tooltip("mature_rate_high:Q", format=".1%", title=t("ci_high", lang)),
        alt.Tooltip("won_amount:Q", format=",.0f", title=t("won_amount", lang)),
    ]
    color = alt.Color(
        "flag:N", scale=alt.Scale(domain=["ok", "weak"], range=["#2f6db5", "#b5483b"]), legend=None
    )
    y = alt.Y("source:N", sort=order, title=t("source", lang))
    base = alt.Chart(data)
    rule = base.mark_rule(strokeWidth=3).encode(
        y=y,
        x=alt.X("mature_rate_low:Q", title=t("mature_rate", lang), axis=alt.Axis(format="%")),
        x2="mature_rate_high:Q",
        color=color,
        tooltip=tooltip,
    )
    point = base.mark_point(filled=True, size=90).encode(y=y, x="mature_rate:Q", color=color, tooltip=tooltip)
    label = base.mark_text(align="left", dx=8, fontSize=11, color="#555").encode(
        y=y, x="mature_rate_high:Q", text=alt.Text("n_mature:Q", format=",d")
    )
    line = (
        alt.Chart(pd.DataFrame({"overall": [overall]}))
        .mark_rule(strokeDash=[4, 4], color="#555")
        .encode(x="overall:Q")
    )
    return (rule + point + label + line).properties(
        width=WIDTH,
        height=max(140, 28 * len(data)),
        title={
            "text": t("sources_title", lang),
            "subtitle": t("sources_subtitle", lang, days=table["maturity_days"].iloc[0]),
        },
    )


@no_data_when_empty
def source_manager_heatmap(table: pd.DataFrame, lang: str = "en") -> alt.Chart:
    """Mature-lead conversion per source and manager; faded where fewer than 5 mature leads."""
    data = table.assign(reliable=table["n_mature"] >= SMALL_N)
    base = alt.Chart(data).encode(
        y=alt.Y("source:N", title=t("source", lang), axis=alt.Axis(grid=False)),
        x=alt.X("owner:N", title=t("owner", lang), axis=alt.Axis(labelAngle=-30, grid=False)),
    )
    tooltip = [
        alt.Tooltip("source:N", title=t("source", lang)),
        alt.Tooltip("owner:N", title=t("owner", lang)),
        alt.Tooltip("n_mature:Q", title=t("n_mature", lang)),
        alt.Tooltip("mature_rate:Q", format=".0%", title=t("mature_rate", lang)),
        alt.Tooltip("mature_rate_low:Q", format=".0%", title=t("ci_low", lang)),
        alt.Tooltip("mature_rate_high:Q", format=".0%", title=t("ci_high", lang)),
    ]
    cells = base.mark_rect().encode(
        color=alt.Color(
            "mature_rate:Q",
            title=t("mature_rate", lang),
            scale=alt.Scale(scheme="blues"),
            legend=alt.Legend(format="%"),
        ),
        opacity=alt.condition("datum.reliable", alt.value(1), alt.value(0.3)),
        tooltip=tooltip,
    )
    text = base.mark_text(fontSize=10).encode(
        text=alt.Text("mature_rate:Q", format=".0%"),
        tooltip=tooltip,
        color=alt.condition("datum.mature_rate > 0.45", alt.value("white"), alt.value("#222")),
    )
    return (cells + text).properties(
        width=max(320, 56 * data["owner"].nunique()),
        height=max(140, 26 * data["source"].nunique()),
        title={"text": t("source_owner_title", lang), "subtitle": t("heatmap_subtitle_n", lang)},
    )


@no_data_when_empty
def leads_monthly(table: pd.DataFrame, lang: str = "en") -> alt.Chart:
    """New leads per month, stacked by source."""
    return (
        alt.Chart(table)
        .mark_bar()
        .encode(
            x=alt.X("yearmonth(created_month):O", title=t("month", lang)),
            y=alt.Y("n:Q", title=t("leads", lang)),
            color=alt.Color("source:N", title=t("source", lang), scale=alt.Scale(scheme="tableau10")),
            tooltip=[
                alt.Tooltip("yearmonth(created_month):T", title=t("month", lang)),
                alt.Tooltip("source:N", title=t("source", lang)),
                alt.Tooltip("n:Q", title=t("leads", lang)),
            ],
        )
        .properties(width=WIDTH, height=240, title={"text": t("leads_title", lang)})
    )


@no_data_when_empty
def forecast_ranges(table: pd.DataFrame, currency: str, lang: str = "en") -> alt.Chart:
    """Per manager: revenue closing within the horizon, P10–P90 bar, P50 tick, and the naive
    weighted pipeline as a hollow diamond."""
    data = table[table["level"] == "owner"]
    y = alt.Y("name:N", sort="-x", title=t("owner", lang))
    tooltip = [
        alt.Tooltip("name:N", title=t("owner", lang)),
        alt.Tooltip("n_deals:Q", title=t("n_deals", lang)),
        alt.Tooltip("p10:Q", format=",.0f", title="P10"),
        alt.Tooltip("p50:Q", format=",.0f", title="P50"),
        alt.Tooltip("p90:Q", format=",.0f", title="P90"),
        alt.Tooltip("weighted_pipeline:Q", format=",.0f", title=t("weighted_pipeline", lang)),
    ]
    base = alt.Chart(data)
    bar = base.mark_bar(size=14, color="#2f6db5", opacity=0.6).encode(
        y=y,
        x=alt.X("p10:Q", title=_money_title(currency, lang), axis=alt.Axis(format=",.0f")),
        x2="p90:Q",
        tooltip=tooltip,
    )
    tick = base.mark_tick(color="#12355b", thickness=3, size=16).encode(y=y, x="p50:Q", tooltip=tooltip)
    naive = base.mark_point(shape="diamond", size=80, color="#e07b39", filled=False, strokeWidth=2).encode(
        y=y, x="weighted_pipeline:Q", tooltip=tooltip
    )
    return (bar + tick + naive).properties(
        width=WIDTH,
        height=max(140, 28 * len(data)),
        title={
            "text": t("forecast_title", lang, days=int(table["horizon_days"].iloc[0])),
            "subtitle": t("forecast_subtitle", lang),
        },
    )


@no_data_when_empty
def backtest(table: pd.DataFrame, currency: str, lang: str = "en") -> alt.Chart:
    """Forecasts made at past dates: the P10–P90 band, P50, and what actually closed."""
    base = alt.Chart(table).encode(x=alt.X("forecast_at:T", title=t("forecast_at", lang)))
    band = base.mark_area(opacity=0.2, color="#2f6db5").encode(
        y=alt.Y("p10:Q", title=_money_title(currency, lang), axis=alt.Axis(format=",.0f")), y2="p90:Q"
    )
    p50 = base.mark_line(color="#2f6db5").encode(y="p50:Q")
    actual = base.mark_point(filled=True, size=70, color="#b5483b").encode(
        y="actual:Q",
        tooltip=[
            alt.Tooltip("forecast_at:T", title=t("forecast_at", lang)),
            alt.Tooltip("p10:Q", format=",.0f", title="P10"),
            alt.Tooltip("p50:Q", format=",.0f", title="P50"),
            alt.Tooltip("p90:Q", format=",.0f", title="P90"),
            alt.Tooltip("actual:Q", format=",.0f", title=t("actual", lang)),
        ],
    )
    return (band + p50 + actual).properties(
        width=WIDTH,
        height=240,
        title={"text": t("backtest_title", lang), "subtitle": t("backtest_subtitle", lang)},
    )


@no_data_when_empty
def adoption_series(series: pd.DataFrame, adoption_date, currency: str, lang: str = "en") -> alt.Chart:
    """Monthly revenue before and after adoption, the counterfactual band after it, the adoption
    line; ramp months drawn hollow (left out of the estimates)."""
    data = series.drop(columns="month").assign(kept=series["period"] != "ramp")  # periods are not JSON
    base = alt.Chart(data).encode(x=alt.X("month_start:T", title=t("month", lang)))
    band = base.mark_area(opacity=0.18, color="#8c8c8c").encode(
        y=alt.Y(
            "counterfactual_low:Q", title=_money_title(currency, lang), axis=alt.Axis(format=",.0f")
        ),
        y2="counterfactual_high:Q",
    )
    expected = base.mark_line(color="#8c8c8c", strokeDash=[4, 3]).encode(y="counterfactual:Q")
    line = base.mark_line(color="#2f6db5").encode(y="revenue:Q")
    tooltip = [
        alt.Tooltip("month_start:T", format="%Y-%m", title=t("month", lang)),
        alt.Tooltip("revenue:Q", format=",.0f", title=t("revenue", lang)),
        alt.Tooltip("n_won:Q", title=t("n_won", lang)),
        alt.Tooltip("counterfactual:Q", format=",.0f", title=t("counterfactual", lang)),
        alt.Tooltip("period:N"),
        alt.Tooltip("is_promotion:N", title=t("promotion", lang)),
    ]
    kept = base.transform_filter("datum.kept").mark_point(size=45, filled=True, color="#2f6db5")
    left_out = base.transform_filter("!datum.kept").mark_point(size=60, filled=False, color="#2f6db5")
    points = kept.encode(y="revenue:Q", tooltip=tooltip) + left_out.encode(y="revenue:Q", tooltip=tooltip)
    rule = (
        alt.Chart(pd.DataFrame({"date": [pd.Timestamp(adoption_date)]}))
        .mark_rule(color="#b5483b")
        .encode(x="date:T")
    )
    return (band + expected + line + points + rule).properties(
        width=WIDTH,
        height=260,
        title={"text": t("series_title", lang), "subtitle": t("series_subtitle", lang, currency=currency)},
    )


@no_data_when_empty
def adoption_effects(effects: pd.DataFrame, lang: str = "en") -> alt.Chart:
    """The change per metric by method, with 95% intervals (the naive one has none)."""
    rows = []
    for row in effects.itertuples():
        label = t("n_won_metric" if row.metric == "n_won" else row.metric, lang)
        for method in ("naive", "yoy", "segmented", "segmented_no_promotions"):
            rows.append(
                {
                    "metric": label,
                    "method": t(method, lang),
                    "value": getattr(row, method),
                    "low": getattr(row, f"{method}_low", np.nan),
                    "high": getattr(row, f"{method}_high", np.nan),
                }
            )
    data = pd.DataFrame(rows)
    methods = [t(m, lang) for m in ("naive", "yoy", "segmented", "segmented_no_promotions")]
    y = alt.Y("method:N", sort=methods, title=None)
    base = alt.Chart()
    tooltip = [
        alt.Tooltip("metric:N"),
        alt.Tooltip("method:N"),
        alt.Tooltip("value:Q", format="+.1%"),
        alt.Tooltip("low:Q", format="+.1%", title=t("ci_low", lang)),
        alt.Tooltip("high:Q", format="+.1%", title=t("ci_high", lang)),
    ]
    color = alt.Color(
        "method:N",
        sort=methods,
        legend=None,
        scale=alt.Scale(range=["#8c8c8c", "#4c9a5b", "#2f6db5", "#7d5ba6"]),
    )
    rule = base.mark_rule(strokeWidth=2).encode(
        y=y,
        x=alt.X("low:Q", title=t("change", lang), axis=alt.Axis(format="+%")),
        x2="high:Q",
        color=color,
        tooltip=tooltip,
    )
    point = base.mark_point(filled=True, size=60).encode(y=y, x="value:Q", color=color, tooltip=tooltip)
    zero = base.mark_rule(color="#555", strokeDash=[3, 3]).encode(x=alt.datum(0))
    return (
        alt.layer(rule, point, zero, data=data)
        .properties(width=260, height=110)
        .facet(facet=alt.Facet("metric:N", title=None, header=alt.Header(labelFontSize=12)), columns=2)
        .properties(title={"text": t("effect_title", lang), "subtitle": t("effect_subtitle", lang)})
    )


@no_data_when_empty
def payback(table: pd.DataFrame, currency: str, lang: str = "en") -> alt.Chart:
    """Cumulative cost against cumulative incremental gross profit (median and 95% band)."""
    base = alt.Chart(table).encode(x=alt.X("month:T", title=t("month", lang)))
    band = base.mark_area(opacity=0.2, color="#4c9a5b").encode(
        y=alt.Y("gain_low:Q", title=currency, axis=alt.Axis(format=",.0f")), y2="gain_high:Q"
    )
    gain = base.mark_line(color="#4c9a5b").encode(y="gain:Q")
    cost = base.mark_line(color="#b5483b", strokeDash=[5, 3]).encode(
        y="cost:Q",
        tooltip=[
            alt.Tooltip("month:T", format="%Y-%m", title=t("month", lang)),
            alt.Tooltip("cost:Q", format=",.0f", title=t("cost", lang)),
            alt.Tooltip("gain:Q", format=",.0f", title=t("gain", lang)),
        ],
    )
    return (band + gain + cost).properties(
        width=WIDTH,
        height=240,
        title={"text": t("payback_title", lang), "subtitle": t("payback_subtitle", lang, currency=currency)},
    )


@no_data_when_empty
def weekly_trends(kpi: pd.DataFrame, lang: str = "en") -> alt.Chart:
    """Leads, refusals and sales of the team per week."""
    team = kpi[kpi["level"] == "team"]
    data = team.melt(
        id_vars="week", value_vars=["leads", "refusals", "sales"], var_name="block", value_name="n"
    )
    data["label"] = data["block"].map(lambda b: t(b, lang))
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=_weeks_x(data, "week", lang),
            y=alt.Y("n:Q", title=t("n_deals", lang)),
            color=alt.Color("label:N", title=None, scale=alt.Scale(range=["#2f6db5", "#b5483b", "#4c9a5b"])),
            tooltip=[
                alt.Tooltip("week:T", title=t("week", lang)),
                alt.Tooltip("label:N"),
                alt.Tooltip("n:Q"),
            ],
        )
        .properties(width=WIDTH, height=220, title={"text": t("trends_title", lang)})
    )


@no_data_when_empty
def lead_balance(balance: pd.DataFrame, lang: str = "en") -> alt.Chart:
    """Leads / (refusals + sales) per week with the balanced band 1 ± tolerance."""
    tol = float(balance["tolerance"].iloc[0])
    band = alt.Chart(pd.DataFrame({"low": [1 - tol], "high": [1 + tol]})).mark_rect(
        opacity=0.12, color="#4c9a5b"
    )
    band = band.encode(y="low:Q", y2="high:Q")
    line = (
        alt.Chart(balance)
        .mark_line(point=True, color="#2f6db5")
        .encode(
            x=_weeks_x(balance, "week", lang),
            y=alt.Y("lead_balance:Q", title=t("lead_balance", lang)),
            tooltip=[
                alt.Tooltip("week:T", title=t("week", lang)),
                alt.Tooltip("leads:Q", title=t("leads", lang)),
                alt.Tooltip("refusals:Q", title=t("refusals", lang)),
                alt.Tooltip("sales:Q", title=t("sales", lang)),
                alt.Tooltip("lead_balance:Q", format=".2f", title=t("lead_balance", lang)),
            ],
        )
    )
    return (band + line).properties(
        width=WIDTH,
        height=200,
        title={"text": t("balance_title", lang), "subtitle": t("balance_subtitle", lang, tol=tol)},
    )


@no_data_when_empty
def events_per_manager(kpi: pd.DataFrame, flags: pd.DataFrame, lang: str = "en") -> alt.Chart:
    """Activities per week, one small panel per manager (named, on one scale); the flagged
    managers in red, the others grey."""
    flagged = set(flags.loc[flags["is_fall"] | flags["is_low"], "name"]) if len(flags) else set()
    data = kpi[kpi["level"] == "owner"].assign(flagged=lambda d: d["name"].isin(flagged))
    mondays = sorted(pd.to_datetime(data["week"].dropna().unique()))
    if not mondays:  # the team's row only: no manager to draw
        return no_data(lang)
    ends = [alt.DateTime(year=d.year, month=d.month, date=d.day) for d in (mondays[0], mondays[-1])]
    line = (
        alt.Chart()
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "week:T",
                title=None,
                axis=alt.Axis(values=ends, format=WEEK_FORMAT.get(lang, "%b %-d"), labelAngle=0, grid=False),
            ),
            y=alt.Y("activities:Q", title=t("activities", lang)),
            color=alt.condition("datum.flagged", alt.value("#c62828"), alt.value("#8c8c8c")),
            tooltip=[
                alt.Tooltip("name:N", title=t("owner", lang)),
                alt.Tooltip("week:T", title=t("week", lang)),
                alt.Tooltip("activities:Q", title=t("activities", lang)),
            ],
        )
        .properties(width=120, height=70)
    )
    return (
        alt.layer(line, data=data)
        .facet(facet=alt.Facet("name:N", title=None, header=alt.Header(labelFontSize=11)), columns=4)
        .resolve_axis(x=EACH_CELL)
        .properties(title={"text": t("events_title", lang), "subtitle": t("events_subtitle", lang)})
    )


@no_data_when_empty
def missed_by_hour(missed: pd.DataFrame, zone: str, lang: str = "en") -> alt.Chart:
    """The missed share of inbound calls by hour of the day."""
    data = missed[missed["level"] == "hour"].assign(hour=lambda d: d["name"].astype(int))
    return (
        alt.Chart(data)
        .mark_bar(color="#e07b39")
        .encode(
            x=alt.X("hour:O", title=t("hour", lang)),
            y=alt.Y("missed_share:Q", title=t("missed_share", lang), axis=alt.Axis(format="%")),
            tooltip=[
                alt.Tooltip("hour:O", title=t("hour", lang)),
                alt.Tooltip("n:Q", title="n"),
                alt.Tooltip("missed:Q", title=t("missed", lang)),
                alt.Tooltip("missed_share:Q", format=".0%", title=t("missed_share", lang)),
                alt.Tooltip("missed_share_low:Q", format=".0%", title=t("ci_low", lang)),
                alt.Tooltip("missed_share_high:Q", format=".0%", title=t("ci_high", lang)),
            ],
        )
        .properties(
            width=WIDTH,
            height=200,
            title={"text": t("missed_title", lang, zone=zone), "subtitle": t("missed_subtitle", lang)},
        )
    )


@no_data_when_empty
def coverage(table: pd.DataFrame, lang: str = "en") -> alt.Chart:
    """Deals created and won, stage moves and activities per month, on one scale each (faceted)."""
    data = table.melt(
        id_vars="month",
        value_vars=["deals_created", "deals_won", "stage_moves", "activities"],
        var_name="what",
        value_name="n",
    )
    data["label"] = data["what"].map(lambda w: t(w, lang))
    return (
        alt.Chart(data)
        .mark_bar(color="#2f6db5")
        .encode(
            x=alt.X("yearmonth(month):O", title=t("month", lang)),
            y=alt.Y("n:Q", title=None),
            tooltip=[
                alt.Tooltip("yearmonth(month):T", title=t("month", lang)),
                alt.Tooltip("label:N"),
                alt.Tooltip("n:Q"),
            ],
        )
        .properties(width=WIDTH, height=70)
        .facet(
            row=alt.Row(
                "label:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left", labelOrient="top")
            ),
        )
        .resolve_scale(y="independent")
        .properties(title={"text": t("coverage_title", lang), "subtitle": t("coverage_subtitle", lang)})
    )
