"""Metric tables: `f(con, *, as_of, period_start, pipeline, owner, ...) -> DataFrame`.

The notebooks and `crmkit metrics` call these same functions. Every table shows `n`, and an
interval wherever it shows a median or a rate: column `X` has its 95% interval in `X_low` and
`X_high`. `as_of` is the moment the data is seen from (events strictly before it count); the
window is [period_start, as_of), by default the 12 months before as_of. One module per
section of METRICS.md; every metric registers itself for `crmkit metrics --list`.
"""

from crmkit.metrics.adoption import (
    adoption_effect,
    adoption_goals,
    adoption_payback,
    adoption_roi,
    adoption_series,
)
from crmkit.metrics.audit import coverage_by_month, data_audit, data_trust, load_history
from crmkit.metrics.clients import repeat_business
from crmkit.metrics.core import REGISTRY, Window, compute, data_freshness, metric, window
from crmkit.metrics.duration import (
    stage_intervals,
    stale_by_owner,
    stale_deals,
    stale_threshold,
    stuck_deals,
    time_to_close,
    time_to_close_curve,
    won_cycle,
)
from crmkit.metrics.forecasts import forecast, forecast_backtest, forecast_deals
from crmkit.metrics.funnels import manager_scorecard, stage_conversion, win_rates
from crmkit.metrics.losses import loss_rate_by_month, loss_reasons_by_owner, losses_by
from crmkit.metrics.sources import source_conversion, source_leads_monthly, source_manager_conversion
from crmkit.metrics.stages import (
    manager_stage_durations,
    stage_durations,
    stage_flow,
    stuck_by_stage,
    whatif_stage,
)
from crmkit.metrics.weekly import (
    activity_flags,
    lead_balance,
    manager_daily,
    missed_calls,
    partial_week,
    response_time,
    weekly_kpi,
)

__all__ = [
    "repeat_business",
    "partial_week",
    "loss_rate_by_month",
    "loss_reasons_by_owner",
    "losses_by",
    "REGISTRY",
    "Window",
    "compute",
    "data_freshness",
    "metric",
    "window",
    # §7 data audit
    "data_audit",
    "coverage_by_month",
    "load_history",
    "data_trust",
    # §1 pipeline duration
    "won_cycle",
    "time_to_close",
    "time_to_close_curve",
    "stale_deals",
    "stale_threshold",
    "stuck_deals",
    "stale_by_owner",
    "stage_intervals",
    # §2 stage bottlenecks
    "stage_durations",
    "stage_flow",
    "manager_stage_durations",
    "whatif_stage",
    "stuck_by_stage",
    # §3 funnels and manager KPIs
    "stage_conversion",
    "win_rates",
    "manager_scorecard",
    # §4 weekly KPI
    "weekly_kpi",
    "manager_daily",
    "lead_balance",
    "response_time",
    "missed_calls",
    "activity_flags",
    # §6 CRM adoption
    "adoption_series",
    "adoption_effect",
    "adoption_roi",
    "adoption_payback",
    "adoption_goals",
    # §5 lead sources and forecast
    "source_conversion",
    "source_manager_conversion",
    "source_leads_monthly",
    "forecast",
    "forecast_deals",
    "forecast_backtest",
]
