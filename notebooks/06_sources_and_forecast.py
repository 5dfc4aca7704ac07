# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lead sources and forecast
# METRICS.md §5: sources judged on mature leads (young ones censored, not failed), who converts
# which source, and a Monte Carlo forecast of revenue from pre-sale deals with a backtest.

# %% tags=["parameters"]
db_path = "../data/sample/crm.duckdb"  # the crmkit database (default: the sample's, `make report`)
as_of = ""  # the moment the data is seen from, e.g. "2026-11-01"; empty: after the latest event
period_start = ""  # window start; empty: 12 months before as_of
pipeline = ""  # a pipeline name or id; empty: all
owner = ""  # a manager name or id; empty: the whole team
horizon = 30  # forecast horizon in days
presale = ""  # pre-sale stages, comma-separated names; empty: the last two open stages
sims = 4000  # Monte Carlo simulations
backtest_dates = 6  # past month starts the forecast is checked at
lang = "en"  # report language: en or ru

# %%
from crmkit import charts, findings, metrics, report
from crmkit.i18n import t

ctx = report.open_report(
    db_path, as_of=as_of, period_start=period_start, pipeline=pipeline, owner=owner, lang=lang
)
options = {"horizon": horizon, "presale": presale or None}
sources = metrics.source_conversion(ctx.con, **ctx.filters)
team_outlook = metrics.forecast(ctx.con, **ctx.team_filters, **options, sims=sims)
outlook = ctx.focus(team_outlook)
deals = ctx.focus_deals(team_outlook.attrs["deals"])
checks = metrics.forecast_backtest(ctx.con, **ctx.filters, **options, dates=backtest_dates)
currency = report.main_currency(deals)
report.header(
    ctx,
    "06",
    {
        "db": db_path,
        "as_of": f"{ctx.span.as_of:%Y-%m-%d %H:%M}",
        "pipeline": pipeline or "—",
        "owner": owner or "—",
        "horizon": t("horizon_days", lang, days=horizon),
        "presale": presale or t("last_two_open_stages", lang),
        "simulations": sims,
        "lang": lang,
    },
)

# %%
report.findings(
    findings.ranked(
        findings.weak_sources(sources, lang),
        findings.forecast_summary(outlook, currency, lang),
        findings.backtest_coverage(checks, currency, lang),
    ),
    lang,
)

# %%
report.findings(findings.ranked(findings.source_advice(sources, currency, lang)), lang, heading="advice")

# %% [markdown]
# ## Lead sources

# %%
report.section(ctx, "section_sources", days=sources["maturity_days"].iloc[0])

# %%
charts.source_rates(sources, lang)

# %%
report.table(
    sources,
    {
        "source": "text",
        "n": "int",
        "n_won": "int",
        "raw_rate": "share",
        "n_mature": "int",
        "mature_rate": "share",
        "horizon_rate": "share",
        "won_amount": "money",
        "avg_check": "money",
    },
    lang,
)

# %%
report.section(ctx, "section_source_owner")

# %%
charts.source_manager_heatmap(metrics.source_manager_conversion(ctx.con, **ctx.filters), lang)

# %%
report.section(ctx, "section_leads_monthly")

# %%
charts.leads_monthly(metrics.source_leads_monthly(ctx.con, **ctx.filters), lang)

# %% [markdown]
# ## Forecast

# %%
report.section(
    ctx, "section_forecast", stages=", ".join(deals["stage"].unique()) or "—", sims=sims, days=horizon
)

# %%
charts.forecast_ranges(outlook, currency, lang)

# %%
report.table(
    outlook,
    {
        "level": "text",
        "name": "text",
        "n_deals": "int",
        "pipeline_amount": "money",
        "weighted_pipeline": "estimate",
        "p10": "estimate",
        "p50": "estimate",
        "p90": "estimate",
    },
    lang,
)

# %%
report.section(ctx, "section_forecast_deals")

# %%
report.table(
    deals,
    {
        "deal_id": "id",
        "title": "text",
        "owner": "text",
        "stage": "text",
        "amount": "money",
        "days_in_stage": "days",
        "p_win": "share",
        "p_win_now": "share",
        "p_in_horizon": "share",
        "expected_revenue": "estimate",
    },
    lang,
    limit=20,
    sheet="sheet_forecast_deals",
)

# %% [markdown]
# ## Backtest

# %%
report.section(ctx, "section_backtest", days=horizon)

# %%
charts.backtest(checks, currency, lang)

# %%
report.table(
    checks,
    {
        "forecast_at": "date",
        "n_deals": "int",
        "p10": "estimate",
        "p50": "estimate",
        "p90": "estimate",
        "actual": "money",
        "error": "estimate",
        "covered": "check",
    },
    lang,
)

# %%
report.about(ctx)

# %%
report.glossary("06", lang)
