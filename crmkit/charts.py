"""Charts: DataFrame -> alt.Chart, pure functions, one theme; and the offline renderer.

The renderer (`enable_offline`) inlines the Vega bundle once per kernel, guarded so a second
evaluation is harmless, and gives each chart a div id derived from its spec, so renders are
repeatable (strict nbval) and the HTML opens with no network (TOOLCHAIN.md).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

import altair as alt
import pandas as pd

from crmkit.i18n import t
from crmkit.stats import SMALL_N

WIDTH = 640
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


def _offline_renderer(spec: dict, **_) -> dict:
    global _bundle_sent
    payload = json.dumps(spec, sort_keys=True, ensure_ascii=False).replace("</", "<\\/")
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
    return {"text/html": "".join(parts)}


def enable_offline() -> None:
    alt.renderers.register("crmkit", _offline_renderer)
    alt.renderers.enable("crmkit")
    alt.theme.enable("crmkit")


@alt.theme.register("crmkit", enable=False)
def _theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "font": "Inter, Segoe UI, Roboto, Helvetica, Arial, sans-serif",
            "title": {"fontSize": 15, "anchor": "start", "fontWeight": 600},
            "axis": {"labelFontSize": 12, "titleFontSize": 12, "grid": True, "gridColor": "#eee"},
            "legend": {"labelFontSize": 12, "titleFontSize": 12},
            "view": {"stroke": None},
            "range": {"category": ["#2f6db5", "#e07b39", "#4c9a5b", "#b5483b", "#7d5ba6", "#8c8c8c"]},
        }
    }


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
        y=y, x="median_days_high:Q", text=alt.Text("n:Q", format="d")
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


def survival(curve: pd.DataFrame, lang: str = "en", max_day: float = 180) -> alt.Chart:
    """Kaplan–Meier step curve: share of the cohort still open by day, with its 95% band."""
    data = curve[curve["day"] <= max_day]
    # Thin to at most ~400 points: charts get aggregates, never every deal.
    if len(data) > 400:
        data = data.iloc[:: len(data) // 400 + 1]
    base = alt.Chart(data)
    band = base.mark_area(opacity=0.2, interpolate="step-after", color="#2f6db5").encode(
        x=alt.X("day:Q", title=t("day", lang)),
        y=alt.Y("low:Q", title=t("share_open", lang), axis=alt.Axis(format="%")),
        y2="high:Q",
    )
    line = base.mark_line(interpolate="step-after", color="#2f6db5").encode(
        x="day:Q",
        y="value:Q",
        tooltip=[
            alt.Tooltip("day:Q", format=".0f", title=t("day", lang)),
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


def stale_by_owner(table: pd.DataFrame, currency: str, lang: str = "en") -> alt.Chart:
    """Amount of stale deals per manager, with counts in the tooltip."""
    data = table[table["n_stale"] > 0]
    return (
        alt.Chart(data)
        .mark_bar(color="#e07b39")
        .encode(
            y=alt.Y("owner:N", sort="-x", title=t("owner", lang)),
            x=alt.X(
                "stale_amount:Q", title=f"{t('stale_amount', lang)}, {currency}", axis=alt.Axis(format=",.0f")
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
