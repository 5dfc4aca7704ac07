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
# # CRM adoption: effect and ROI
# METRICS.md §6: monthly series before and after adoption, the effect with seasonality controlled
# (same months a year earlier; segmented regression), ROI and payback with intervals, weighted
# goals. The adoption is described in a YAML file (see `crmkit/adoption.py`); the months before
# it may hold only won sales from accounting.

# %% tags=["parameters"]
db_path = "../data/sample/crm.duckdb"  # the crmkit database (default: the sample's, `make report`)
adoption_path = ""  # the adoption YAML; empty: adoption.yml beside the database
as_of = ""  # the moment the data is seen from, e.g. "2026-11-01"; empty: after the latest event
period_start = ""  # first month to use; empty: all the history there is
pipeline = ""  # a pipeline name or id; empty: all
owner = ""  # a manager name or id; empty: the whole team
lang = "en"  # report language: en or ru

# %%
from crmkit import adoption, charts, findings, localize, metrics, report
from crmkit.i18n import t

ctx = report.open_report(
    db_path,
    as_of=as_of,
    period_start=period_start,
    pipeline=pipeline,
    owner=owner,
    lang=lang,
    whole_history=True,
)
adoption_file = adoption.locate(adoption_path, db_path)
spec = adoption.read(adoption_file)
options = {**ctx.filters, "adoption": str(adoption_file)}
series = metrics.adoption_series(ctx.con, **options)
effects = metrics.adoption_effect(ctx.con, **options)
roi = metrics.adoption_roi(ctx.con, **options)
goals = metrics.adoption_goals(ctx.con, **options)
report.header(
    ctx,
    "04",
    {
        "db": db_path,
        "adoption": adoption_file.name,
        "adoption_date": f"{spec.adoption_date:%Y-%m-%d}",
        "as_of": f"{ctx.span.as_of:%Y-%m-%d %H:%M}",
        "pipeline": pipeline or "—",
        "owner": owner or "—",
        "lang": lang,
    },
)

# %%
report.findings(findings.ranked(findings.adoption(effects, roi, goals, lang)), lang)

# %% [markdown]
# ## Before and after

# %%
report.section(ctx, "section_series", date=localize.day(spec.adoption_date, lang), ramp=spec.ramp_months)

# %%
charts.adoption_series(series, spec.adoption_date, spec.currency, lang)

# %%
report.table(
    series,
    {
        "month": "month",
        "period": "label",
        "n_won": "int",
        "revenue": "money",
        "avg_check": "money",
        "active_managers": "int",
        "revenue_per_manager": "money",
        "win_rate": "share",
        "median_cycle_days": "days",
    },
    lang,
)

# %% [markdown]
# ## Effect per metric

# %%
report.section(
    ctx, "section_effect", trend_note=t("trend_note" if effects["trend"].all() else "no_trend_note", lang)
)

# %%
charts.adoption_effects(effects, lang)

# %%
report.table(
    effects,
    {
        "metric": "label",
        "n_before": "int",
        "n_after": "int",
        "naive": "share",
        "yoy": "share",
        "segmented": "share",
        "segmented_no_promotions": "share",
    },
    lang,
)

# %% [markdown]
# ## Return on the investment

# %%
report.section(
    ctx,
    "section_roi",
    margin=spec.gross_margin,
    one_off=findings.money(spec.one_off_cost, spec.currency, lang),
    monthly=findings.money(spec.monthly_cost, spec.currency, lang),
)

# %%
charts.payback(metrics.adoption_payback(ctx.con, **options), spec.currency, lang)

# %%
report.table(
    roi,
    {
        "months_after": "int",
        "incremental_revenue": "money",
        "incremental_gross_profit": "money",
        "total_cost": "money",
        "roi": "share",
        "payback_month": "int",
    },
    lang,
)

# %% [markdown]
# ## Goals

# %%
report.section(ctx, "section_goals")

# %%
report.table(
    goals,
    {
        "goal": "text",
        "target": "share",
        "actual": "share",
        "source": "label",
        "attainment": "share",
        "weight": "days",
    },
    lang,
)

# %% [markdown]
# ## Caveats

# %%
report.section(ctx, "section_caveats", promotions=localize.months(spec.promotion_months, lang) or "—")

# %%
report.about(ctx)

# %%
report.glossary("04", lang)
