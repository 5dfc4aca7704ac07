"""METRICS.md §6: before / after CRM adoption — monthly series, the effect with seasonality
controlled (same month a year earlier; segmented regression), ROI and payback with intervals,
the weighted goal scorecard. The description of the adoption comes from a YAML file
(`crmkit.adoption`); the before-period may hold only won sales (from accounting)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmkit import adoption as adoption_file
from crmkit import stats
from crmkit.db import query
from crmkit.errors import CrmkitError
from crmkit.metrics.core import metric, window

ESTIMATED = ("revenue", "n_won", "avg_check", "revenue_per_manager")
DRAWS = 4000


def _series(con, as_of, period_start, pipeline, owner, spec: adoption_file.Adoption) -> pd.DataFrame:
    """Full calendar months before as_of, each labelled before / ramp / after adoption."""
    span = window(as_of, period_start or "1900-01-01")
    monthly = query(con, "metrics/monthly_sales", **span.params(pipeline, owner))
    if monthly.empty:
        return monthly
    last_full = (span.as_of - pd.Timedelta(seconds=1)).to_period("M")
    if span.as_of != last_full.end_time.ceil("D"):
        last_full -= 1  # as_of inside a month: that month is not over
    months = pd.period_range(monthly["month"].min().to_period("M"), last_full, freq="M")
    series = monthly.assign(month=monthly["month"].dt.to_period("M")).set_index("month").reindex(months)
    series[["n_won", "n_lost", "revenue", "active_managers", "n_cycle"]] = series[
        ["n_won", "n_lost", "revenue", "active_managers", "n_cycle"]
    ].fillna(0)
    series.index.name = "month"
    series = series.reset_index()
    start = spec.adoption_date.to_period("M")
    series["period"] = np.select(
        [series["month"] < start, series["month"] < start + spec.ramp_months], ["before", "ramp"], "after"
    )
    series["is_promotion"] = series["month"].isin(spec.promotion_months)
    series["avg_check"] = series["revenue"] / series["n_won"].where(series["n_won"] > 0)
    series["revenue_per_manager"] = series["revenue"] / series["active_managers"].where(
        series["active_managers"] > 0
    )
    closed = series["n_won"] + series["n_lost"]
    # a win rate needs recorded losses: before a CRM there usually are none
    series["win_rate"] = np.where(series["n_lost"] > 0, series["n_won"] / closed.where(closed > 0), np.nan)
    series["n"] = series["n_won"]
    return series


MIN_MONTHS = 3  # on each side of adoption, at the very least


def _fit(series: pd.DataFrame, column: str, spec, *, drop_promotions=False) -> stats.Segmented:
    counts = series["period"].value_counts()
    for side in ("before", "after"):
        if counts.get(side, 0) < MIN_MONTHS:
            raise CrmkitError(
                f"{counts.get(side, 0)} full month(s) of sales {side} the adoption on "
                f"{spec.adoption_date:%Y-%m-%d}: the comparison needs at least {MIN_MONTHS} on each side"
            )
    use = series["period"] != "ramp"
    if drop_promotions:
        use &= ~series["is_promotion"]
    return stats.segmented_regression(
        series[column].fillna(0).to_numpy(),
        pd.PeriodIndex(series["month"]),
        spec.adoption_date.to_period("M"),
        use=use.to_numpy(),
    )


@metric(
    "Monthly series before and after CRM adoption: revenue, won deals, average check, revenue per "
    "active manager, win rate and cycle where recorded, with the revenue counterfactual "
    "(option adoption=YAML)"
)
def adoption_series(
    con, *, as_of, period_start=None, pipeline=None, owner=None, adoption: str = ""
) -> pd.DataFrame:
    spec = adoption_file.read(adoption)
    series = _series(con, as_of, period_start, pipeline, owner, spec)
    fit = _fit(series, "revenue", spec)
    series["counterfactual"] = np.where(series["period"] == "before", np.nan, fit.counterfactual)
    series["counterfactual_low"] = np.where(series["period"] == "before", np.nan, fit.counterfactual_low)
    series["counterfactual_high"] = np.where(series["period"] == "before", np.nan, fit.counterfactual_high)
    series["month_start"] = series["month"].dt.start_time
    return series


def _yoy(series: pd.DataFrame, column: str) -> tuple[float, float, float, int]:
    """Post-adoption months against the same months a year earlier (pairs where both are known
    and above 0, ramp months left out): the geometric mean of the ratios − 1, with a t interval on
    the log ratios — a dozen pairs are too few for a percentile bootstrap (85% coverage measured
    at a nominal 95%)."""
    from scipy.stats import t as student

    values = series.set_index("month")[column]
    periods = series.set_index("month")["period"]
    pairs = [
        (values[m], values[m - 12])
        for m in values.index
        if periods[m] == "after"
        and (m - 12) in values.index
        and periods[m - 12] == "before"
        and values[m] > 0
        and values[m - 12] > 0
    ]
    if len(pairs) < 3:
        return np.nan, np.nan, np.nan, len(pairs)
    after, before = np.array(pairs, dtype=float).T
    ratios = np.log(after / before)
    mean, se = ratios.mean(), ratios.std(ddof=1) / np.sqrt(len(ratios))
    half = student.ppf(0.975, len(ratios) - 1) * se
    return float(np.exp(mean) - 1), float(np.exp(mean - half) - 1), float(np.exp(mean + half) - 1), len(pairs)


@metric(
    "Effect of CRM adoption per metric: the naive before/after difference, the same months a year "
    "earlier, and a segmented regression (trend + month of year + level and slope change), with "
    "intervals, also without promotion months (option adoption=YAML)"
)
def adoption_effect(
    con, *, as_of, period_start=None, pipeline=None, owner=None, adoption: str = ""
) -> pd.DataFrame:
    spec = adoption_file.read(adoption)
    series = _series(con, as_of, period_start, pipeline, owner, spec)
    rows = []
    for column in ESTIMATED:
        before = series.loc[series["period"] == "before", column]
        after = series.loc[series["period"] == "after", column]
        fit = _fit(series, column, spec)
        no_promo = _fit(series, column, spec, drop_promotions=True)
        yoy, yoy_low, yoy_high, pairs = _yoy(series, column)
        rows.append(
            {
                "metric": column,
                "n_before": int(before.notna().sum()),
                "n_after": int(after.notna().sum()),
                "mean_before": before.mean(),
                "mean_after": after.mean(),
                "naive": after.mean() / before.mean() - 1 if before.mean() else np.nan,
                "yoy": yoy,
                "yoy_low": yoy_low,
                "yoy_high": yoy_high,
                "n_pairs": pairs,
                "segmented": fit.effect,
                "segmented_low": fit.effect_low,
                "segmented_high": fit.effect_high,
                "segmented_no_promotions": no_promo.effect,
                "segmented_no_promotions_low": no_promo.effect_low,
                "segmented_no_promotions_high": no_promo.effect_high,
                "seasonal": fit.seasonal,
                "trend": fit.trend,
            }
        )
    return pd.DataFrame(rows)


def _roi_draws(series: pd.DataFrame, spec, seed: int = 5):
    """Monthly incremental gross profit and cumulative cost, per draw of (level, slope) from the
    revenue regression — a multivariate t with the fit's degrees of freedom, as its interval is:
    increment_m = revenue_m × (1 − exp(−(level + slope·k_m))). The ramp months, which the fit
    leaves out (the CRM was still being filled), add no increment: their cost counts, their
    revenue says nothing of the effect."""
    fit = _fit(series, "revenue", spec)
    rng = np.random.default_rng(seed)
    normal = rng.multivariate_normal([0.0, 0.0], fit.cov, size=DRAWS)
    scale = np.sqrt(fit.df / rng.chisquare(fit.df, size=DRAWS))[:, None]
    draws = np.array([fit.level, fit.slope]) + normal * scale
    after = (series["period"] != "before").to_numpy()
    counted = (series.loc[after, "period"] == "after").to_numpy()
    revenue = series.loc[after, "revenue"].to_numpy()
    since = fit.months_after[after]
    increment = revenue * (1 - np.exp(-(draws[:, [0]] + draws[:, [1]] * since)))  # draws × months
    increment = np.where(counted, increment, 0.0)
    gain, cost, _, _ = returns(increment, spec.gross_margin, spec.one_off_cost, spec.monthly_cost)
    return series.loc[after, "month"].to_numpy(), gain, cost, increment


def returns(increment: np.ndarray, margin: float, one_off: float, monthly: float):
    """From incremental revenue per month (draws × months since adoption): cumulative gross
    profit, cumulative cost (one-off at adoption, then monthly), ROI at the end, and the payback
    month (1 = the adoption month; inf when not yet paid back)."""
    gain = np.cumsum(np.atleast_2d(increment) * margin, axis=1)
    cost = one_off + monthly * np.arange(1, gain.shape[1] + 1)
    roi = (gain[:, -1] - cost[-1]) / cost[-1]
    paid = gain >= cost
    payback = np.where(paid.any(axis=1), paid.argmax(axis=1) + 1, np.inf)
    return gain, cost, roi, payback


@metric(
    "Incremental revenue and gross profit since adoption, costs, ROI = (gross profit − costs) / costs "
    "and the payback month, with 95% intervals from the regression (option adoption=YAML)"
)
def adoption_roi(
    con, *, as_of, period_start=None, pipeline=None, owner=None, adoption: str = ""
) -> pd.DataFrame:
    spec = adoption_file.read(adoption)
    series = _series(con, as_of, period_start, pipeline, owner, spec)
    months, _, _, increment = _roi_draws(series, spec)
    gain, cost, roi, payback = returns(increment, spec.gross_margin, spec.one_off_cost, spec.monthly_cost)
    total_gain, total_cost = gain[:, -1], cost[-1]

    def interval(values):
        """2.5th, 50th and 97.5th percentiles; inf (never paid back within the data) stays inf."""
        capped = np.where(np.isfinite(values), values, np.finfo(float).max)
        low, mid, high = np.percentile(capped, [2.5, 50, 97.5])
        return tuple(np.inf if v == np.finfo(float).max else float(v) for v in (mid, low, high))

    revenue_mid, revenue_low, revenue_high = interval(increment.sum(axis=1))
    gain_mid, gain_low, gain_high = interval(total_gain)
    roi_mid, roi_low, roi_high = interval(roi)
    pay_mid, pay_low, pay_high = interval(payback)
    return pd.DataFrame(
        [
            {
                "months_after": len(months),
                "currency": spec.currency,
                "gross_margin": spec.gross_margin,
                "incremental_revenue": revenue_mid,
                "incremental_revenue_low": revenue_low,
                "incremental_revenue_high": revenue_high,
                "incremental_gross_profit": gain_mid,
                "incremental_gross_profit_low": gain_low,
                "incremental_gross_profit_high": gain_high,
                "one_off_cost": spec.one_off_cost,
                "monthly_cost": spec.monthly_cost,
                "total_cost": total_cost,
                "roi": roi_mid,
                "roi_low": roi_low,
                "roi_high": roi_high,
                "payback_month": pay_mid,
                "payback_month_low": pay_low,
                "payback_month_high": pay_high,
                "share_paid_back": float(np.isfinite(payback).mean()),
            }
        ]
    )


@metric(
    "Cumulative cost against cumulative incremental gross profit per month since adoption, with a "
    "95% band (option adoption=YAML)"
)
def adoption_payback(
    con, *, as_of, period_start=None, pipeline=None, owner=None, adoption: str = ""
) -> pd.DataFrame:
    spec = adoption_file.read(adoption)
    series = _series(con, as_of, period_start, pipeline, owner, spec)
    months, gain, cost, _ = _roi_draws(series, spec)
    low, mid, high = np.percentile(gain, [2.5, 50, 97.5], axis=0)
    return pd.DataFrame(
        {
            "month": pd.PeriodIndex(months).start_time,
            "cost": cost,
            "gain": mid,
            "gain_low": low,
            "gain_high": high,
        }
    )


@metric(
    "Weighted goal scorecard: each goal's target, the measured or estimated change, attainment "
    "(capped at 100%) and weight (option adoption=YAML)"
)
def adoption_goals(
    con, *, as_of, period_start=None, pipeline=None, owner=None, adoption: str = ""
) -> pd.DataFrame:
    spec = adoption_file.read(adoption)
    effects = adoption_effect(
        con, as_of=as_of, period_start=period_start, pipeline=pipeline, owner=owner, adoption=adoption
    ).set_index("metric")
    rows = []
    for goal in spec.goals:
        actual = goal.actual if goal.metric is None else effects.loc[goal.metric, "segmented"]
        attained = float(np.clip(actual / goal.target, 0, 1)) if goal.target else np.nan
        rows.append(
            {
                "goal": goal.name,
                "metric": goal.metric or "—",
                "target": goal.target,
                "actual": actual,
                "source": "estimated" if goal.metric else "given",
                "attainment": attained,
                "weight": goal.weight,
            }
        )
    table = pd.DataFrame(
        rows, columns=["goal", "metric", "target", "actual", "source", "attainment", "weight"]
    )
    if len(table) and table["weight"].sum():
        total = (table["attainment"] * table["weight"]).sum() / table["weight"].sum()
        table = pd.concat(
            [
                table,
                pd.DataFrame([{"goal": "—weighted—", "attainment": total, "weight": table["weight"].sum()}]),
            ],
            ignore_index=True,
        )
    return table
