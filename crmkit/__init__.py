"""crmkit: CRM exports into DuckDB under one canonical schema, metrics and offline HTML reports."""

__version__ = "0.1.0"
