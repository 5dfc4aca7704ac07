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
# # Pipeline duration
# How long deals take: the won cycle CRMs show, the honest time to close with open deals
# censored, and the open deals that have waited too long (METRICS.md §1). Markdown cells are
# notes for the analyst; the report's own text comes from `crmkit.i18n` and follows `lang`.

# %% tags=["parameters"]
db_path = "../data/sample/crm.duckdb"  # the crmkit database (default: the sample's, `make report`)
as_of = ""  # the moment the data is seen from, e.g. "2026-11-01"; empty: after the latest event
period_start = ""  # window start; empty: 12 months before as_of
pipeline = ""  # a pipeline name or id; empty: all
owner = ""  # a manager name or id; empty: the whole team
stale_days = 0.0  # open deals older than this many days are stale; 0: the median won cycle
lang = "en"  # report language: en or ru

# %%
from crmkit import charts, findings, metrics, report
from crmkit.i18n import t

ctx = report.open_report(
    db_path, as_of=as_of, period_start=period_start, pipeline=pipeline, owner=owner, lang=lang
)
won_cycle = metrics.won_cycle(ctx.con, **ctx.filters)
time_to_close = metrics.time_to_close(ctx.con, **ctx.filters)
stale = metrics.stale_deals(ctx.con, **ctx.filters, threshold_days=stale_days or None)
stuck = metrics.stuck_deals(ctx.con, **ctx.filters)
report.header(
    ctx,
    "01",
    {
        "db": db_path,
        "as_of": f"{ctx.span.as_of:%Y-%m-%d %H:%M}",
        "pipeline": pipeline or "—",
        "owner": owner or "—",
        "stale_days": stale_days or t("stale_default", lang),
        "lang": lang,
    },
)

# %%
report.findings(
    findings.ranked(
        findings.slow_owners(won_cycle, lang),
        findings.stale(stale, lang),
        findings.stuck(stuck, lang),
        findings.censoring_gap(won_cycle, time_to_close, lang),
    ),
    lang,
)

# %% [markdown]
# ## Won cycle (vendor-style)
# The number CRMs show: won deals only. Kept so users can reconcile with their CRM.

# %%
report.section(ctx, "section_won_cycle")

# %%
charts.won_cycle_by_owner(won_cycle, lang)

# %%
report.table(
    won_cycle,
    {
        "level": "text",
        "name": "text",
        "n": "int",
        "median_days": "days",
        "mean_days": "days",
        "p25_days": "days",
        "p75_days": "days",
        "won_amount": "money",
        "n_excluded": "int",
    },
    lang,
)

# %% [markdown]
# ## Time to close, open deals included
# Kaplan–Meier over the cohort created in the window; open deals are censored.

# %%
report.section(ctx, "section_ttc")

# %%
charts.survival(metrics.time_to_close_curve(ctx.con, **ctx.filters), lang)

# %%
report.table(
    time_to_close,
    {
        "level": "text",
        "name": "text",
        "n": "int",
        "n_closed": "int",
        "n_open": "int",
        "median_days": "days",
        "p25_days": "days",
        "p75_days": "days",
        "won_by_30": "share",
        "won_by_60": "share",
        "won_by_90": "share",
    },
    lang,
)

# %% [markdown]
# ## Stale deals

# %%
report.section(ctx, "section_stale", days=stale.attrs["threshold_days"])

# %%
stale_owners = metrics.stale_by_owner(ctx.con, **ctx.filters, threshold_days=stale_days or None)
charts.stale_by_owner(stale_owners, report.main_currency(stale), lang)

# %%
report.table(
    stale_owners,
    {"owner": "text", "n_open": "int", "n_stale": "int", "stale_share": "share", "stale_amount": "money"},
    lang,
)

# %%
report.table(
    stale,
    {
        "deal_id": "id",
        "title": "text",
        "owner": "text",
        "stage": "text",
        "age_days": "days",
        "days_in_stage": "days",
        "amount": "money",
    },
    lang,
    limit=25,
    sheet="sheet_stale",
)

# %% [markdown]
# ## Stuck deals

# %%
report.section(ctx, "section_stuck", needs="stage_history")

# %%
report.table(
    stuck,
    {
        "deal_id": "id",
        "title": "text",
        "owner": "text",
        "stage": "text",
        "days_in_stage": "days",
        "p90_days": "days",
        "n_stays": "int",
        "amount": "money",
    },
    lang,
    limit=25,
    sheet="sheet_stuck",
)

# %%
report.about(ctx)

# %%
report.glossary("01", lang)
