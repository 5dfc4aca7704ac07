"""The statistics helpers against what they must agree with."""

import numpy as np
import pytest

from crmkit import stats


@pytest.mark.parametrize("seed", [3, 8, 21])
def test_the_survival_band_crosses_one_half_over_the_medians_interval(seed):
    """Chart and table agree: the pointwise log-log band of the Kaplan–Meier curve first falls
    under 0.5 (its low edge) where the median's Brookmeyer–Crowley interval begins, and its high
    edge where the interval ends."""
    rng = np.random.default_rng(seed)
    days, closed = rng.exponential(20, 80), (rng.random(80) < 0.7).astype(int)
    q, curve = stats.survival_quantiles(days, closed), stats.survival_curve(days, closed)
    assert curve["day"][np.argmax(curve["low"] < 0.5)] == pytest.approx(q.median_low)
    assert curve["day"][np.argmax(curve["high"] <= 0.5)] == pytest.approx(q.median_high)
    assert ((0 <= curve["low"]) & (curve["low"] <= curve["value"]) & (curve["value"] <= curve["high"])).all()


def test_the_log_log_band_by_hand():
    """S = 0.5, se = 0.1: σ = 0.1 / (0.5 · ln 2) = 0.2885; low = 0.5^exp(1.96·0.2885) = 0.5^1.760
    = 0.2953, high = 0.5^exp(−0.5655) = 0.5^0.5681 = 0.6745. At S = 1 and S = 0 the band is S."""
    low, high = stats.log_log_band(np.array([0.5, 1.0, 0.0]), np.array([0.1, 0.0, 0.0]))
    assert low == pytest.approx([0.2953, 1.0, 0.0], abs=1e-3)
    assert high == pytest.approx([0.6745, 1.0, 0.0], abs=1e-3)


def test_the_bootstrap_interval_is_seeded_and_stable_within_its_monte_carlo_error():
    """The mean of 200 exponential(10) draws: its 95% interval is about mean ± 1.96·s/√n. Two
    seeds differ only by Monte Carlo noise (well under 5% of the width); one seed repeats exactly;
    one row leaves nothing to resample (NaN, not a zero-width interval)."""
    rng = np.random.default_rng(0)
    x = rng.exponential(10, 200)

    def mean(values, axis=-1):
        return values.mean(axis=axis)

    a = stats.bootstrap_interval((x,), mean, n_resamples=4000, rng=np.random.default_rng(1))
    b = stats.bootstrap_interval((x,), mean, n_resamples=4000, rng=np.random.default_rng(2))
    again = stats.bootstrap_interval((x,), mean, n_resamples=4000, rng=np.random.default_rng(1))
    normal = 1.96 * x.std(ddof=1) / np.sqrt(len(x))
    width = a[1] - a[0]
    assert width == pytest.approx(2 * normal, rel=0.1)
    assert abs(a[0] - b[0]) < 0.05 * width and abs(a[1] - b[1]) < 0.05 * width
    assert a == again
    assert all(np.isnan(v) for v in stats.bootstrap_interval((x[:1],), mean, n_resamples=100, rng=None))


def test_a_function_of_means_reads_the_same_by_bootstrap_and_by_the_delta_method(monkeypatch):
    """Above BOOTSTRAP_MAX_N rows the interval comes from the delta method; on 12,000 skewed
    durations (cycle ~ exponential(30), a stage ~ 0.4 of it plus noise) it matches the percentile
    bootstrap of the same statistic within the bootstrap's Monte Carlo error (5% of the width)."""
    rng = np.random.default_rng(4)
    cycle = rng.exponential(30, 12_000)
    stage = 0.4 * cycle + rng.exponential(2, 12_000)
    columns = np.column_stack([cycle, stage])

    def statistic(means):  # Little's law at a halved stage: new cycle, throughput gain
        new = means[..., :1] - 0.5 * means[..., 1:]
        return np.concatenate([new, means[..., :1] / new - 1], axis=-1)

    delta = stats.interval_of_means(columns, statistic, n_resamples=2000, rng=np.random.default_rng(1))
    monkeypatch.setattr(stats, "BOOTSTRAP_MAX_N", 20_000)
    boot = stats.interval_of_means(columns, statistic, n_resamples=2000, rng=np.random.default_rng(1))
    width = boot[1] - boot[0]
    assert np.all(width > 0)
    assert np.all(np.abs(delta[0] - boot[0]) < 0.05 * width) and np.all(
        np.abs(delta[1] - boot[1]) < 0.05 * width
    )


def test_sample_quantiles_give_scipys_order_statistic_intervals():
    """The median's and quartiles' intervals are the order statistics scipy's quantile_test
    gives (its ranks taken directly, for the three quantiles at once): the same values, NaN
    where n is too small, for every n up to 60, a few large ones, and data full of ties."""
    from scipy.stats import quantile_test

    rng = np.random.default_rng(3)
    for n in [*range(1, 61), 257, 4099]:
        for values in (rng.exponential(10, n), rng.integers(0, 4, n).astype(float)):
            q = stats.sample_quantiles(values)
            got = [q.median, q.median_low, q.median_high, q.p25, q.p25_low, q.p25_high]
            got += [q.p75, q.p75_low, q.p75_high]
            expected = []
            for share in (0.5, 0.25, 0.75):
                value = float(np.percentile(values, share * 100))
                interval = quantile_test(values, q=value, p=share).confidence_interval(0.95)
                expected += [value, float(interval.low), float(interval.high)]
            np.testing.assert_array_equal(got, expected, err_msg=f"n={n}")


def test_a_won_share_interval_has_width_when_the_last_deals_close_together():
    """Four deals: won on day 1, lost on day 2, the last two won together on day 3. Won by day 3:
    1/4 on day 1 (all four open before), then the survivors' half (S = 3/4 · 2/3 = 1/2) all won on
    day 3: 1/4 + 1/2 = 3/4. Aalen's variance divides by n − d = 0 that day: the interval keeps
    day 2's error, and is not "75% (75%–75%)"."""
    won = stats.cumulative_incidence([1, 2, 3, 3], ["won", "lost", "won", "won"], [3])["won"]
    share, low, high = won[0]
    assert share == pytest.approx(0.75)
    assert 0 < low < share < high < 1


@pytest.mark.parametrize("seed", range(5))
def test_won_share_intervals_stay_inside_zero_and_one_with_width(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 60))
    days = rng.integers(0, 120, n).astype(float)
    outcome = rng.choice(["won", "lost", "open"], n, p=[0.3, 0.4, 0.3])
    for share, low, high in stats.cumulative_incidence(days, outcome, [30, 60, 90])["won"]:
        if np.isfinite(share) and 0 < share < 1:
            assert 0 < low < share < high < 1
