"""METRICS.md §6: CRM adoption — the segmented regression on series with known effects, ROI and
payback by hand, the adoption file's errors, and the sample's planted lift."""

import numpy as np
import pandas as pd
import pytest

from crmkit import adoption, stats
from crmkit.errors import CrmkitError
from crmkit.metrics.adoption import returns

SEASON = np.array([0.70, 0.90, 1.10, 1.05, 0.90, 1.00, 0.85, 0.85, 1.10, 1.15, 1.15, 1.20])


def series(shift: float, *, months: int = 42, adoption_at: int = 24, seed: int = 3):
    """A monthly series: 1%-a-month trend × seasonality × (1 + shift) after adoption × 4% noise."""
    index = pd.period_range("2022-01", periods=months, freq="M")
    rng = np.random.default_rng(seed)
    after = np.arange(months) >= adoption_at
    values = (
        1000
        * 1.01 ** np.arange(months)
        * SEASON[index.month - 1]
        * np.where(after, 1 + shift, 1)
        * np.exp(rng.normal(0, 0.04, months))
    )
    return values, index, index[adoption_at]


@pytest.mark.parametrize("shift", [0.15, -0.10])
def test_segmented_regression_recovers_a_known_shift(shift):
    values, months, adopted = series(shift)
    fit = stats.segmented_regression(values, months, adopted)
    assert fit.seasonal and fit.trend  # two years before adoption: both terms in the model
    assert fit.effect_low < shift < fit.effect_high
    assert abs(fit.effect - shift) < 0.06


def test_no_shift_means_an_interval_around_zero():
    values, months, adopted = series(0.0)
    fit = stats.segmented_regression(values, months, adopted)
    assert fit.effect_low < 0 < fit.effect_high


def test_a_seasonal_peak_is_not_an_effect():
    # adoption in September, data to December: the four months after it are the high season
    # (1.10–1.20 against 1.0 on average) and nothing else changes
    index = pd.period_range("2022-09", periods=28, freq="M")
    values = 1000 * SEASON[index.month - 1] * np.exp(np.random.default_rng(4).normal(0, 0.03, 28))
    adopted = pd.Period("2024-09", "M")
    after = np.asarray(index >= adopted)
    naive = values[after].mean() / values[~after].mean() - 1
    fit = stats.segmented_regression(values, index, adopted)
    assert naive > 0.10  # the naive before/after reports a lift …
    assert fit.effect_low < 0 < fit.effect_high  # … the seasonality-controlled estimate does not
    assert abs(fit.effect) < 0.05


def test_roi_and_payback_by_hand():
    # 100 a month of incremental revenue for 3 months at 50% margin: gross profit 50, 100, 150;
    # costs 60 once + 10 a month: 70, 80, 90. Paid back in month 2 (100 ≥ 80); ROI (150 − 90) / 90
    gain, cost, roi, payback = returns(np.array([[100.0, 100.0, 100.0]]), 0.5, 60.0, 10.0)
    assert gain.tolist() == [[50.0, 100.0, 150.0]] and cost.tolist() == [70.0, 80.0, 90.0]
    assert roi[0] == pytest.approx(60 / 90) and payback[0] == 2
    never = returns(np.array([[10.0, 10.0]]), 0.5, 60.0, 10.0)[3]
    assert never[0] == np.inf


def test_adoption_file_errors_name_the_field(tmp_path):
    path = tmp_path / "adoption.yml"
    path.write_text("adoption_date: 2025-05-01\ncosts: {seats: 3}\n")
    with pytest.raises(CrmkitError, match="gross_margin is missing"):
        adoption.read(path)
    path.write_text("adoption_date: 2025-05-01\ngross_margin: 0.3\ncosts: {seats: 3}\n")
    with pytest.raises(CrmkitError, match="costs.licence_per_seat_month is missing"):
        adoption.read(path)
    path.write_text("adoption_date: 2025-05-01\ngross_margin: 1.5\n")
    with pytest.raises(CrmkitError, match="gross_margin must be between 0 and 1"):
        adoption.read(path)


def test_sample_lift_is_recovered(sample_db, tmp_path):
    from crmkit import metrics, sample
    from crmkit.db import connect

    spec = sample.write_adoption(tmp_path)
    con = connect(sample_db, read_only=True)
    effects = metrics.adoption_effect(con, as_of="2026-11-01", adoption=str(spec)).set_index("metric")
    lift = sample.PLANTED["adoption_lift"]
    won = effects.loc["n_won"]
    assert won["segmented_low"] < lift < won["segmented_high"]
    assert won["yoy_low"] < lift < won["yoy_high"]
    assert not won["trend"]  # one year before adoption: the model says it assumes no trend


def test_sales_from_accounting_load_through_a_mapping_and_carry_the_comparison(tmp_path):
    """Before a CRM there are often only invoices: number, date, amount, manager. They load through
    the mapping importer (no creation date, no losses, no history) and the comparison still runs."""
    from crmkit import metrics
    from crmkit.db import connect
    from crmkit.importers import load

    rng = np.random.default_rng(8)
    days = pd.date_range("2024-01-01", "2025-12-31", freq="D")
    sold = days[rng.random(len(days)) < 0.3]
    lines = ["Счёт;Дата;Сумма;Менеджер"] + [
        f"{i};{day:%d.%m.%Y};{rng.integers(50, 150) * 1000};{'Анна' if i % 2 else 'Борис'}"
        for i, day in enumerate(sold, 1)
    ]
    (tmp_path / "sales.csv").write_text("\n".join(lines) + "\n", encoding="cp1251")
    (tmp_path / "sales.yml").write_text(
        "source_format: accounting\npipeline: {id: acc, name: Продажи}\n"
        "stages: [{name: Оплачено, kind: won}]\n"
        "deals:\n  file: sales.csv\n  currency: RUB\n  columns: {deal_id: Счёт, stage: {value: Оплачено},"
        " owner: Менеджер, closed_at: Дата, amount: Сумма}\n",
        encoding="utf-8",
    )
    (tmp_path / "adoption.yml").write_text(
        "adoption_date: 2025-01-01\nramp_months: 0\ngross_margin: 0.3\n"
        "costs: {licence_per_seat_month: 1000, seats: 2, implementation: 10000, consultants: 0, "
        "equipment: 0, training_hours: 10, hourly_rate: 100}\n"
    )
    con = connect(tmp_path / "crm.duckdb")
    results = load(con, [], mapping_file=tmp_path / "sales.yml")
    deals = [r for r in results if r.table == "deals"][0]
    assert deals.rows_read == deals.rows_loaded == len(sold)
    options = {"as_of": "2026-01-01", "adoption": str(tmp_path / "adoption.yml")}
    series = metrics.adoption_series(con, **options)
    assert (series["period"] == "before").sum() == 12 and series[
        "win_rate"
    ].isna().all()  # no losses: no rate
    effects = metrics.adoption_effect(con, **options).set_index("metric")
    # nothing changed at "adoption": every interval covers zero
    for metric_name in ("revenue", "n_won"):
        assert effects.loc[metric_name, "segmented_low"] < 0 < effects.loc[metric_name, "segmented_high"]


@pytest.fixture(scope="module")
def sample_adoption(sample_db, tmp_path_factory):
    from crmkit import sample
    from crmkit.db import connect

    spec = sample.write_adoption(tmp_path_factory.mktemp("adoption"))
    return connect(sample_db, read_only=True), {"as_of": "2026-11-01", "adoption": str(spec)}


def test_roi_costs_and_payback_agree_with_the_adoption_file(sample_adoption):
    """The sample's file: one-off 450,000 + 200,000 + 60,000 + 120 h × 1,500 = 890,000; monthly
    11 seats × 1,500 = 16,500. Adoption May 2025, as_of 1 November 2026: May 2025 … October 2026
    are 18 months (the ramp month included), so total cost = 890,000 + 18 × 16,500 = 1,187,000.
    The payback table's last month is the ROI table's total: same cost, the same median gain
    (both the median of the same draws), and ROI = (gain − cost) / cost within the draws' spread."""
    from crmkit import metrics

    con, options = sample_adoption
    roi = metrics.adoption_roi(con, **options).iloc[0]
    payback = metrics.adoption_payback(con, **options)
    assert (roi.one_off_cost, roi.monthly_cost, roi.months_after) == (890_000, 16_500, 18)
    assert roi.total_cost == 890_000 + 18 * 16_500
    assert len(payback) == 18 and payback["month"].iloc[0] == pd.Timestamp("2025-05-01")
    assert payback["cost"].tolist() == [890_000 + 16_500 * k for k in range(1, 19)]
    assert payback["gain"].iloc[-1] == pytest.approx(roi.incremental_gross_profit)
    assert roi.incremental_gross_profit == pytest.approx(roi.incremental_revenue * 0.35, rel=0.02)
    assert roi.roi_low <= (roi.incremental_gross_profit - roi.total_cost) / roi.total_cost <= roi.roi_high
    assert (payback["gain_low"] <= payback["gain"]).all() and (payback["gain"] <= payback["gain_high"]).all()


def test_goals_score_attainment_capped_and_weighted(sample_adoption):
    """Each estimated goal's actual is adoption_effect's segmented estimate; attainment is actual /
    target held to [0, 1]; the given goal: −4% of a −10% target = 0.4. The weighted line is
    Σ attainment × weight / Σ weight over weights 2, 1, 1."""
    from crmkit import metrics

    con, options = sample_adoption
    goals = metrics.adoption_goals(con, **options).set_index("goal")
    effects = metrics.adoption_effect(con, **options).set_index("metric")
    per_manager = goals.loc["+10% revenue per manager"]
    assert per_manager.actual == effects.loc["revenue_per_manager", "segmented"]
    assert per_manager.attainment == pytest.approx(min(max(per_manager.actual / 0.10, 0), 1))
    assert goals.loc["-10% sales and marketing cost", "attainment"] == pytest.approx(0.4)
    assert goals.loc["-10% sales and marketing cost", "source"] == "given"
    parts = goals.drop("—weighted—")
    expected = (parts["attainment"] * parts["weight"]).sum() / 4
    assert goals.loc["—weighted—", "attainment"] == pytest.approx(expected)
    assert goals.loc["—weighted—", "weight"] == 4


def test_year_over_year_is_a_t_interval_on_log_ratios_by_hand():
    """Three pairs, after/before = 1.1, 1.21, 1.0: log ratios 0.0953, 0.1906, 0 — mean 0.0953 (the
    geometric mean ratio 1.1), sd 0.0953, se 0.0953/√3 = 0.0550, t(2) = 4.303: ±0.2368 on the log
    scale, so +10% (−13.2% to +39.4%): an interval that spans zero."""
    from crmkit.metrics.adoption import _yoy

    months = pd.PeriodIndex(["2024-01", "2024-02", "2024-03", "2025-01", "2025-02", "2025-03"], freq="M")
    series = pd.DataFrame({"month": months, "period": ["before"] * 3 + ["after"] * 3,
                           "revenue": [100.0, 100.0, 100.0, 110.0, 121.0, 100.0]})  # fmt: skip
    change, low, high, pairs = _yoy(series, "revenue")
    assert pairs == 3 and change == pytest.approx(0.1)
    assert (low, high) == (pytest.approx(-0.1319, abs=1e-4), pytest.approx(0.3939, abs=1e-4))


def test_the_noise_autocorrelation_is_corrected_for_a_short_series():
    # residuals 1, 1, −1, −1: Σ r_t·r_{t−1} = 1 − 1 + 1 = 1 over Σ r² = 4 → 0.25; + (1 + 0.75)/4 → 0.6875
    assert stats.ar1_of_residuals(np.array([1.0, 1.0, -1.0, -1.0]), terms=1) == pytest.approx(0.6875)
    assert stats.ar1_of_residuals(np.array([1.0, 1.0, -1.0, -1.0]), terms=3) == 0.95  # + 2/4, capped


def test_the_ramp_month_adds_no_increment_to_the_roi(sample_adoption):
    """The fit leaves the ramp month out; the ROI counts its cost and none of its revenue."""
    from crmkit.metrics.adoption import _roi_draws, _series

    con, options = sample_adoption
    spec = adoption.read(options["adoption"])
    series = _series(con, options["as_of"], None, None, None, spec)
    months, gain, cost, increment = _roi_draws(series, spec)
    ramp = series.loc[series["period"] != "before", "period"].to_numpy() == "ramp"
    assert ramp.sum() == 1 and (increment[:, ramp] == 0).all() and (increment[:, ~ramp] != 0).all()
