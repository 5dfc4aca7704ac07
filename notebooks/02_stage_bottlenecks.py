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
# # Stage bottlenecks
# Where deals wait (METRICS.md §2): time per stage with current stays censored, WIP and
# throughput, the accounting identity per stage, managers × stages, a Little's-law what-if and
# stuck deals. Markdown cells are notes for the analyst; the report's text follows `lang`.

# %% tags=["parameters"]
db_path = "../data/sample/crm.duckdb"  # the crmkit database (default: the sample's, `make report`)
as_of = ""  # the moment the data is seen from, e.g. "2026-11-01"; empty: after the latest event
period_start = ""  # window start; empty: 12 months before as_of
pipeline = ""  # a pipeline name or id; empty: all
owner = ""  # a manager name or id; empty: the whole team
whatif_stage = ""  # the stage of the what-if; empty: every stage
whatif_reduction = 0.5  # the share of the stage time the what-if removes, 0 to 1
lang = "en"  # report language: en or ru

# %%
from crmkit import charts, findings, localize, metrics, report
from crmkit.i18n import t

ctx = report.open_report(
    db_path, as_of=as_of, period_start=period_start, pipeline=pipeline, owner=owner, lang=lang
)
stages = metrics.stage_durations(ctx.con, **ctx.filters)
flow = metrics.stage_flow(ctx.con, **ctx.filters)
manager_stages = metrics.manager_stage_durations(ctx.con, **ctx.filters)
scenarios = metrics.whatif_stage(
    ctx.con, **ctx.filters, stage=whatif_stage or None, reduction=whatif_reduction
)
stuck = metrics.stuck_deals(ctx.con, **ctx.filters)
loss_reasons = metrics.losses_by(ctx.con, **ctx.filters, by="reason")
losses_by_stage = metrics.losses_by(ctx.con, **ctx.filters, by="stage")
loss_months = metrics.loss_rate_by_month(ctx.con, **ctx.filters)
loss_owners = metrics.loss_reasons_by_owner(ctx.con, **ctx.filters)
report.header(
    ctx,
    "02",
    {
        "db": db_path,
        "as_of": f"{ctx.span.as_of:%Y-%m-%d %H:%M}",
        "pipeline": pipeline or "—",
        "owner": owner or "—",
        "whatif": f"{whatif_stage or t('every_stage', lang)} "
        f"−{localize.number(whatif_reduction, '.0%', lang)}",
        "lang": lang,
    },
)

# %%
report.findings(
    findings.ranked(
        findings.bottlenecks(stages, flow, lang),
        findings.slow_stage_owners(manager_stages, lang),
        findings.whatif(scenarios, stages, lang),
        findings.stuck(stuck, lang),
        findings.losses(loss_reasons, losses_by_stage, loss_owners, lang),
    ),
    lang,
)

# %% [markdown]
# ## Time in each stage

# %%
report.section(ctx, "section_stages", needs="stage_history")

# %%
charts.stage_times(stages, lang)

# %%
report.table(
    stages,
    {
        "pipeline": "text",
        "stage": "text",
        "n": "int",
        "median_days": "days",
        "mean_days": "days",
        "p90_days": "days",
        "km_median_days": "days",
        "wip_now": "int",
        "exits_per_week": "days",
        "share_of_cycle": "share",
    },
    lang,
)

# %%
report.section(ctx, "section_identity", needs="stage_history")

# %%
report.table(
    stages,
    {
        "pipeline": "text",
        "stage": "text",
        "n": "int",
        "advanced": "int",
        "lost": "int",
        "regressed": "int",
        "moved": "int",
        "still_here": "int",
    },
    lang,
)

# %% [markdown]
# ## Work in progress by week

# %%
report.section(ctx, "section_flow", needs="stage_history")

# %%
charts.cumulative_flow(flow, lang)

# %% [markdown]
# ## Managers × stages

# %%
report.section(ctx, "section_heatmap", needs="stage_history")

# %%
charts.manager_stage_heatmap(manager_stages, lang)

# %% [markdown]
# ## What if a stage were shorter

# %%
report.section(ctx, "section_whatif", needs="stage_history", reduction=whatif_reduction)

# %%
report.table(
    scenarios,
    {
        "pipeline": "text",
        "stage": "text",
        "n": "int",
        "cycle_days": "days",
        "stage_days": "days",
        "new_cycle_days": "days",
        "throughput_change": "share",
    },
    lang,
)

# %% [markdown]
# ## Stuck deals per stage

# %%
report.section(ctx, "section_stuck_stage", needs="stage_history")

# %%
report.table(
    metrics.stuck_by_stage(ctx.con, **ctx.filters),
    {"pipeline": "text", "stage": "text", "n_stuck": "int", "stuck_amount": "money", "p90_days": "days"},
    lang,
)

# %% [markdown]
# ## Why deals are lost

# %%
report.losses(ctx, loss_reasons, losses_by_stage, loss_months, loss_owners)

# %%
report.about(ctx)

# %%
report.glossary("02", lang)
