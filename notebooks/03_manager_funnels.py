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
# # Manager funnels and KPIs
# Which manager loses deals where (METRICS.md §3): funnels per manager and for the team,
# stage-to-stage conversion with Wilson intervals, and the scorecard of results, activity and
# plan. Set `owner` to turn it into one manager's page, read against the team.

# %% tags=["parameters"]
db_path = "../data/sample/crm.duckdb"  # the crmkit database (default: the sample's, `make report`)
as_of = ""  # the moment the data is seen from, e.g. "2026-11-01"; empty: after the latest event
period_start = ""  # funnel window start; empty: 12 months before as_of
pipeline = ""  # a pipeline name or id; empty: all
owner = ""  # a manager name or id: that manager against the team; empty: every manager
view = "cohort"  # cohort (deals created in the window) or period (stage exits in the window)
scorecard_months = 1  # the scorecard covers this many months before as_of
lang = "en"  # report language: en or ru

# %%
from crmkit import charts, findings, localize, metrics, report
from crmkit.i18n import t

ctx = report.open_report(
    db_path, as_of=as_of, period_start=period_start, pipeline=pipeline, owner=owner, lang=lang
)
card = metrics.window(ctx.span.as_of, months=scorecard_months)
conversion = ctx.focus(metrics.stage_conversion(ctx.con, **ctx.team_filters, view=view))
scorecard = ctx.focus(
    metrics.manager_scorecard(ctx.con, **{**ctx.team_filters, "period_start": card.period_start})
)
cycles = metrics.won_cycle(ctx.con, **{**ctx.team_filters, "period_start": card.period_start})
currency = report.main_currency(metrics.stale_deals(ctx.con, **ctx.team_filters))
report.header(
    ctx,
    "03",
    {
        "db": db_path,
        "as_of": f"{ctx.span.as_of:%Y-%m-%d %H:%M}",
        "pipeline": pipeline or "—",
        "owner": owner or "—",
        "view": t(f"view_name_{view}", lang),
        "scorecard": f"{card.period_start:%Y-%m-%d} … {card.as_of:%Y-%m-%d}",
        "lang": lang,
    },
)

# %%
team_check = scorecard.loc[scorecard["level"] == "team", "avg_check"].iloc[0]
report.findings(
    findings.ranked(
        findings.weak_conversions(conversion, team_check, currency, lang),
        findings.behind_plan(scorecard, currency, lang),
        findings.managers_to_learn_from(scorecard, cycles, lang),
    ),
    lang,
)

# %% [markdown]
# ## Funnels

# %%
report.section(ctx, "section_funnels", needs="stage_history", view_text=t("view_" + view, lang))

# %%
charts.funnels(conversion, lang)

# %%
report.matrix(conversion, "conversion", "share", lang)

# %% [markdown]
# ## Conversion per stage

# %%
report.section(ctx, "section_conversion", needs="stage_history")

# %%
charts.conversion_intervals(conversion, lang)

# %% [markdown]
# ## Scorecard

# %%
report.section(
    ctx,
    "section_scorecard",
    start=localize.day(card.period_start, lang, "long"),
    end=localize.day_before(card.as_of, lang, "long"),
)

# %%
ranked = scorecard.sort_values("rank", na_position="first")
report.table(
    ranked,
    {
        "rank": "int",
        "name": "text",
        "n_won": "int",
        "won_amount": "money",
        "avg_check": "money",
        "median_check": "money",
        "win_rate": "share",
        "win_rate_shrunk": "share",
        "win_rate_amount": "share",
    },
    lang,
    highlight={"won_amount": "higher", "win_rate_shrunk": "higher", "win_rate_amount": "higher"},
)

# %%
report.table(
    ranked,
    {
        "name": "text",
        "deals_in_work": "int",
        "open_pipeline": "money",
        "new_leads": "int",
        "lead_to_won": "share",
        "median_won_cycle": "days",
    },
    lang,
    highlight={"open_pipeline": "higher", "lead_to_won": "higher", "median_won_cycle": "lower"},
)

# %% [markdown]
# ## Activity and results

# %%
report.section(ctx, "section_activity", needs="activities")

# %%
report.table(
    scorecard,
    {
        "name": "text",
        "calls": "int",
        "emails": "int",
        "meetings": "int",
        "calls_per_meeting": "days",
        "meetings_per_won": "days",
        "won_per_100_calls": "days",
    },
    lang,
    highlight={"calls_per_meeting": "lower", "meetings_per_won": "lower", "won_per_100_calls": "higher"},
)

# %% [markdown]
# ## Repeat business

# %%
report.section(ctx, "section_repeat", needs="clients")

# %%
report.table(
    metrics.repeat_business(ctx.con, **ctx.filters),
    {
        "name": "text",
        "n": "int",
        "n_repeat": "int",
        "repeat_share": "share",
        "revenue": "money",
        "repeat_revenue_share": "share",
        "n_clients_followed": "int",
        "return_rate": "share",
    },
    lang,
    highlight={"repeat_share": "higher", "return_rate": "higher"},
)

# %% [markdown]
# ## Plan

# %%
report.section(ctx, "section_plan")

# %%
report.table(
    scorecard,
    {
        "name": "text",
        "won_amount": "money",
        "plan_revenue": "money",
        "plan_revenue_done": "share",
        "plan_revenue_pace": "share",
        "n_won": "int",
        "plan_won_deals": "int",
        "plan_won_deals_done": "share",
        "plan_won_deals_pace": "share",
    },
    lang,
    highlight={"plan_revenue_pace": "higher", "plan_won_deals_pace": "higher"},
)

# %%
report.about(ctx)

# %%
report.glossary("03", lang)
