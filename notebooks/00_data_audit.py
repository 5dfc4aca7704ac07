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
# # Data audit
# METRICS.md §7: what every other report rests on. Every check with its count and examples,
# trust per metric family, coverage by month, and the loads.

# %% tags=["parameters"]
db_path = "../data/sample/crm.duckdb"  # the crmkit database (default: the sample's, `make report`)
as_of = ""  # the moment the data is seen from; empty: after the latest event
lang = "en"  # report language: en or ru

# %%
from crmkit import charts, findings, metrics, report

ctx = report.open_report(db_path, as_of=as_of, lang=lang, whole_history=True)
checks = metrics.data_audit(ctx.con, **ctx.filters)
trust = metrics.data_trust(ctx.con, **ctx.filters)
report.header(ctx, "00", {"db": db_path, "as_of": f"{ctx.span.as_of:%Y-%m-%d %H:%M}", "lang": lang})

# %%
report.findings(findings.ranked(findings.audit(checks, trust, lang)), lang)

# %% [markdown]
# ## Checks

# %%
report.section(ctx, "section_checks")

# %%
report.table(
    checks.assign(examples=[findings.examples(text, lang) for text in checks["examples"]]),
    {"check_name": "label", "found": "int", "share": "share", "examples": "text"},
    lang,
)

# %% [markdown]
# ## Trust

# %%
report.section(ctx, "section_trust")

# %%
report.table(
    trust, {"family": "label", "supported": "int", "basis": "int", "share": "share", "verdict": "label"}, lang
)

# %% [markdown]
# ## Coverage by month

# %%
report.section(ctx, "section_coverage")

# %%
charts.coverage(metrics.coverage_by_month(ctx.con, **ctx.filters), lang)

# %% [markdown]
# ## Loads

# %%
report.section(ctx, "section_loads")

# %%
loads = metrics.load_history(ctx.con)
report.table(
    loads.assign(top_reason=[findings.reason(text, lang) for text in loads["top_reason"]]),
    {
        "loaded_at": "date",
        "file_name": "text",
        "rows_read": "int",
        "rows_loaded": "int",
        "rows_rejected": "int",
        "top_reason": "text",
    },
    lang,
    limit=20,
    sheet="sheet_loads",
)

# %%
report.glossary("00", lang)
