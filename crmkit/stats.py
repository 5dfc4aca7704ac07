"""Intervals and survival estimates (statsmodels underneath), returned as plain numbers.

>>> round(wilson(8, 10)[0], 3), round(wilson(8, 10)[1], 3)
(0.49, 0.943)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.duration.survfunc import CumIncidenceRight, SurvfuncRight
from statsmodels.stats.proportion import proportion_confint

CONFIDENCE = 0.95
SMALL_N = 5  # below this a figure is shown greyed with its n (METRICS.md)


def money_total(amounts) -> float:
    """The sum of amounts, unknown (NaN) when none is known: deals without amounts are worth an
    unknown sum, never 0."""
    return float(pd.Series(amounts, dtype="float64").sum(min_count=1))


Z_95 = 1.959963984540054  # the normal quantile for a two-sided 95% interval


def wilson(successes: int, trials: int) -> tuple[float, float]:
    """95% Wilson score interval of a proportion; (nan, nan) when there are no trials."""
    if trials == 0:
        return (np.nan, np.nan)
    low, high = proportion_confint(successes, trials, alpha=1 - CONFIDENCE, method="wilson")
    # at 0 or n successes the bound is exactly 0 or 1; statsmodels gives 1 - 2e-16, which a report
    # would then call "> 99.9%"
    return (0.0 if successes == 0 else float(low)), (1.0 if successes == trials else float(high))


@dataclass(frozen=True)
class Quantiles:
    """Median and quartiles, each with its 95% interval (`_low`, `_high`; NaN when unknown)."""

    n: int
    n_events: int
    median: float
    median_low: float
    median_high: float
    p25: float
    p25_low: float
    p25_high: float
    p75: float
    p75_low: float
    p75_high: float

    def columns(self, unit: str = "days") -> dict[str, float]:
        """As metric-table columns: median_days, median_days_low, …, p75_days_high."""
        return {
            f"{name}_{unit}{suffix}": getattr(self, name + suffix)
            for name in ("median", "p25", "p75")
            for suffix in ("", "_low", "_high")
        }


BOOTSTRAP_MAX_N = 10_000  # above it, a function of means is read by the delta method


def interval_of_means(
    columns: np.ndarray, statistic, *, n_resamples: int, rng
) -> tuple[np.ndarray, np.ndarray]:
    """95% interval of `statistic(means)` — a smooth function of the column means of an n × m
    array, returning k values — by the percentile bootstrap over rows (scipy) up to
    BOOTSTRAP_MAX_N rows; above that by the delta method (the means' covariance carried through
    the statistic's numerical gradient), which the bootstrap distribution of a mean of that many
    rows matches within its own Monte Carlo error, at a fraction of the cost."""
    columns = np.asarray(columns, float)
    n = len(columns)
    if n <= BOOTSTRAP_MAX_N:

        def of_resample(*cols, axis=-1):  # scipy wants the resamples on the last axis
            return np.moveaxis(
                np.asarray(statistic(np.stack([c.mean(axis=axis) for c in cols], axis=-1))), -1, 0
            )

        return bootstrap_interval(tuple(columns.T), of_resample, n_resamples=n_resamples, rng=rng)
    means = columns.mean(axis=0)
    covariance = np.atleast_2d(np.cov(columns, rowvar=False)) / n
    centre = np.asarray(statistic(means), float)
    steps = 1e-6 * np.maximum(np.abs(means), 1.0)
    gradient = np.stack(
        [(np.asarray(statistic(means + np.eye(len(means))[j] * steps[j]), float) - centre) / steps[j]
         for j in range(len(means))], axis=-1,
    )  # fmt: skip
    se = np.sqrt(np.einsum("kj,jl,kl->k", gradient, covariance, gradient))
    return centre - Z_95 * se, centre + Z_95 * se


BOOTSTRAP_CELLS = 20_000_000  # values resampled at once (~160 MB)


def bootstrap_interval(samples, statistic, *, n_resamples: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap 95% interval of `statistic` over paired samples (rows resampled
    together), by scipy.stats.bootstrap, vectorised; the statistic may return several values.
    NaN where fewer than two rows leave nothing to resample. Percentile rather than BCa: BCa's
    jackknife grows with n², and these run over every won deal of an account."""
    from scipy.stats import bootstrap

    if len(samples[0]) < 2:
        shape = np.shape(statistic(*[np.asarray(s, float) for s in samples], axis=-1))
        return np.full(shape, np.nan), np.full(shape, np.nan)
    # resampled in batches of about BOOTSTRAP_CELLS values, so memory does not grow with n
    batch = max(1, BOOTSTRAP_CELLS // (len(samples[0]) * len(samples)))
    result = bootstrap(
        tuple(np.asarray(s, float) for s in samples), statistic, paired=True, vectorized=True,
        n_resamples=n_resamples, batch=batch, confidence_level=CONFIDENCE, method="percentile",
        random_state=rng,
    )  # fmt: skip
    return result.confidence_interval.low, result.confidence_interval.high


def sample_quantiles(values) -> Quantiles:
    """Median (the ordinary sample median, as a spreadsheet gives it) and quartiles of fully
    observed durations; the median's 95% interval is distribution-free (order statistics: the
    interval scipy's quantile_test gives), NaN when n is too small to reach 95% (n < 6)."""
    from scipy.stats import binom

    values = np.sort(np.asarray(values, dtype=float))
    n = len(values)
    if n == 0:
        return Quantiles(0, 0, *[float("nan")] * 9)
    # The order statistics bounding quantile p with 95% confidence depend on n and p alone: the
    # ranks QuantileTestResult.confidence_interval reads from Binomial(n, p) (scipy 1.11+), taken
    # here for the three quantiles at once rather than by three tests whose p-values go unused.
    shares = np.array([0.5, 0.25, 0.75])
    tail = (1 - CONFIDENCE) / 2
    lows = binom.ppf(tail, n, shares).astype(int) - 1
    highs = binom.isf(tail, n, shares).astype(int)
    estimates = []
    for share, low, high in zip(shares, lows, highs, strict=True):
        estimates += [
            float(np.percentile(values, share * 100)),
            float(values[low]) if low >= 0 else float("nan"),
            float(values[high]) if high < n else float("nan"),
        ]
    return Quantiles(n, n, *estimates)


def survival_quantiles(days, closed) -> Quantiles:
    """Kaplan–Meier median and quartiles of time to an event, open cases censored.

    The median is the first time the share still open falls below one half (statsmodels'
    convention); its interval is Brookmeyer–Crowley (log-log). NaN where the curve never gets
    that low: the median is not reached yet.
    """
    days = np.asarray(days, dtype=float)
    closed = np.asarray(closed, dtype=int)
    if len(days) == 0 or closed.sum() == 0:
        return Quantiles(len(days), int(closed.sum()), *[float("nan")] * 9)

    def num(x):
        return float(x) if x is not None and np.isfinite(x) else float("nan")

    estimates = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = SurvfuncRight(days, closed)
        for p in (0.5, 0.25, 0.75):
            low, high = fit.quantile_ci(p, alpha=1 - CONFIDENCE)
            estimates += [num(fit.quantile(p)), num(low), num(high)]
    return Quantiles(len(days), int(closed.sum()), *estimates)


def survival_curve(days, closed) -> dict[str, np.ndarray]:
    """Kaplan–Meier share still open at each event time, with a pointwise 95% band on the log-log
    scale (Kalbfleisch–Prentice): the scale the median's Brookmeyer–Crowley interval is read on,
    so the band crosses one half exactly over the median's interval — chart and table agree —
    and it stays inside [0, 1] without clipping."""
    days = np.asarray(days, dtype=float)
    closed = np.asarray(closed, dtype=int)
    if closed.sum() == 0:
        return {
            "day": np.array([0.0]),
            "value": np.array([1.0]),
            "low": np.array([1.0]),
            "high": np.array([1.0]),
        }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = SurvfuncRight(days, closed)
    value = fit.surv_prob
    low, high = log_log_band(value, np.nan_to_num(fit.surv_prob_se))
    return {
        "day": np.r_[0.0, fit.surv_times],
        "value": np.r_[1.0, value],
        "low": np.r_[1.0, low],
        "high": np.r_[1.0, high],
    }


def log_log_band(value: np.ndarray, se: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """S^exp(±z·σ), σ = se / (S·|log S|): Greenwood's error carried to log(−log S). Where S is 1
    or 0 the band is that value (nothing left to be uncertain about on that side)."""
    value = np.asarray(value, float)
    inside = (value > 0) & (value < 1)
    safe = np.where(inside, value, 0.5)
    sigma = np.where(inside, se / (safe * np.abs(np.log(safe))), 0.0)
    low = np.where(inside, safe ** np.exp(Z_95 * sigma), value)
    high = np.where(inside, safe ** np.exp(-Z_95 * sigma), value)
    return low, high


def followed_for(days, status, horizon: float) -> bool:
    """Whether a horizon is within what the cases were followed for: false when the longest
    follow-up is shorter and was censored (nobody was seen that long: the share then is unknown)."""
    days = np.asarray(days, float)
    last = np.argmax(days)
    return not (horizon > days[last] and np.asarray(status)[last] == 0)


class CumulativeIncidence:
    """The Aalen–Johansen cumulative incidence of each cause (status 1, 2, …; 0 censored),
    statsmodels' CumIncidenceRight, with Aalen's standard error. That error is undefined where
    every case still at risk ends at once (n = d in its terms): there the error of the last time
    it was defined is kept. Fitted under numpy's errstate, not warnings.catch_warnings, which swaps
    the process's filters under any other thread (a forecast reads the database meanwhile)."""

    def __init__(self, days, status):
        self.days, self.status = np.asarray(days, float), np.asarray(status)
        with np.errstate(divide="ignore", invalid="ignore"):
            fit = CumIncidenceRight(self.days, self.status)
        self.times, self.values = fit.times, list(fit.cinc)
        self.errors = [
            pd.Series(np.where(np.isfinite(e), e, np.nan)).ffill().fillna(0.0).to_numpy() for e in fit.cinc_se
        ]

    def at(self, cause: int, horizon: float) -> tuple[float, float]:
        """(share, standard error) of `cause` by `horizon`: 0 before the first time or for a cause
        that never happened, unknown (NaN) beyond what the cases were followed for."""
        if not followed_for(self.days, self.status, horizon):
            return np.nan, np.nan
        at = np.searchsorted(self.times, horizon, side="right") - 1
        if at < 0 or cause > len(self.values):
            return 0.0, 0.0
        return float(self.values[cause - 1][at]), float(self.errors[cause - 1][at])

    def final(self, cause: int) -> float:
        """The share of `cause` at the last time: the chance of it at all."""
        return float(self.values[cause - 1][-1]) if cause <= len(self.values) else 0.0


def cumulative_incidence(days, outcome, horizons) -> dict[str, list[tuple[float, float, float]]]:
    """Share won (and lost) by each horizon, lost and won competing, open cases censored.

    `outcome` holds "won", "lost" or "open"; returns {"won": [(share, low, high), ...], "lost": ...}
    with a 95% interval on the log(−log) scale, inside (0, 1) and of some width whenever the share
    is (CumulativeIncidence says how its error is kept where Aalen's variance is undefined).
    """
    days = np.asarray(days, dtype=float)
    outcome = np.asarray(outcome)
    status = np.select([outcome == "won", outcome == "lost"], [1, 2], 0)
    result = {"won": [], "lost": []}
    if len(days) == 0 or status.sum() == 0:
        for key in result:
            result[key] = [(0.0, 0.0, 0.0) if len(days) else (np.nan,) * 3 for _ in horizons]
        return result
    fit = CumulativeIncidence(days, status)
    for cause, key in ((1, "won"), (2, "lost")):
        for horizon in horizons:
            value, se = fit.at(cause, horizon)
            if np.isnan(value):  # nobody followed that long: unknown
                result[key].append((np.nan, np.nan, np.nan))
                continue
            low, high = log_log_band(np.array([value]), np.array([se]))
            result[key].append((value, float(low[0]), float(high[0])))
    return result


def shrunk_rates(successes: np.ndarray, trials: np.ndarray) -> np.ndarray:
    """Each group's rate pulled toward the pooled rate by the estimated prior strength, capped
    at the median group size: a typical manager's own record keeps at least half the weight
    (the moment estimate alone pools everyone fully whenever the spread looks like chance,
    which leaves nothing to rank)."""
    mean = successes.sum() / trials.sum() if trials.sum() else np.nan
    strength = min(prior_strength(successes, trials), float(np.median(trials)) if len(trials) else 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (successes + strength * mean) / (trials + strength)


def prior_strength(successes: np.ndarray, trials: np.ndarray) -> float:
    """Beta prior strength a + b from the spread of the groups' rates beyond binomial noise;
    large (strong pooling) when the groups differ no more than chance would make them."""
    if len(trials) < 2 or trials.sum() == 0:
        return 0.0
    mean = successes.sum() / trials.sum()
    rates = successes / trials
    weights = trials / trials.sum()
    observed = float(np.sum(weights * (rates - mean) ** 2))
    noise = float(np.sum(weights * mean * (1 - mean) / trials))
    between = observed - noise
    if mean in (0.0, 1.0):
        return 0.0
    if between <= 0:
        return np.inf  # no difference beyond chance between the groups: pool fully
    return max(mean * (1 - mean) / between - 1, 0.0)


@dataclass(frozen=True)
class Segmented:
    """A segmented (interrupted time series) regression on the log of a monthly series."""

    effect: float  # average relative change after adoption, e.g. 0.12 = +12%
    effect_low: float
    effect_high: float
    level: float  # the log-scale jump at adoption and the change of slope per month
    slope: float
    cov: np.ndarray  # covariance of (level, slope)
    counterfactual: np.ndarray  # the series without adoption, every month (original scale)
    counterfactual_low: np.ndarray
    counterfactual_high: np.ndarray
    months_after: np.ndarray  # months since adoption (0 before it)
    seasonal: bool  # month-of-year terms: needs 12 months before adoption
    trend: bool  # an underlying trend: needs 24 months before adoption to tell it from the shift
    n: int
    df: int  # degrees of freedom of the fit's t (level and slope are drawn from it)
    rho: float  # the monthly noise's autocorrelation the fit took out


def segmented_regression(values, months: pd.PeriodIndex, adoption: pd.Period, *, use=None) -> Segmented:
    """log(y) = trend + month of year + level·after + slope·months_after + noise, fitted on the
    months in `use` (default: all with y > 0). The effect is the average over the post-adoption
    months used of level + slope·months_after, as a relative change exp(·) − 1 with its 95%
    interval. Month-of-year terms need a full year before adoption, and an underlying trend needs
    two (with one year, trend, seasonality and shift cannot be told apart): with less, the model
    leaves the term out and says so (`seasonal`, `trend`).

    Monthly sales are autocorrelated (a good month follows a good month), which OLS's interval
    ignores: on simulated series with AR(1) noise of ρ = 0.5 it covered 73% of true effects, and
    Newey–West's HAC interval, on 40 months and 16 terms, 66%. So the noise is taken as AR(1) and
    the model fitted by feasible GLS (Prais–Winsten), with ρ from the OLS residuals corrected for
    their small-sample bias — Marriott and Pope's (1 + 3ρ)/n, and 1/n for each term beyond the
    constant — and a t quantile with one degree of freedom less for ρ: 96–97.5% coverage for
    ρ from 0 to 0.7 (docs/CALIBRATION.md)."""
    import statsmodels.api as sm
    from scipy.stats import t as student

    values = np.asarray(values, dtype=float)
    months = pd.PeriodIndex(months, freq="M")
    t = np.asarray((months - months[0]).map(lambda d: d.n), dtype=float)
    after = np.asarray(months >= adoption)
    since = np.where(after, np.asarray((months - adoption).map(lambda d: d.n), dtype=float), 0.0)
    use = np.ones(len(values), bool) if use is None else np.asarray(use, bool)
    use = use & (values > 0)
    months_before = (np.asarray(months < adoption) & use).sum()
    seasonal, trend = months_before >= 12, months_before >= 24
    columns = {"const": np.ones(len(values))}
    if trend:
        columns["trend"] = t
    if seasonal:
        for m in range(2, 13):
            columns[f"m{m}"] = (months.month == m).astype(float)
    columns["level"] = after.astype(float)
    columns["slope"] = since
    exog = pd.DataFrame(columns)
    logged = np.log(np.where(values > 0, values, np.nan))[use]
    rho = ar1_of_residuals(sm.OLS(logged, exog[use]).fit().resid.to_numpy(), exog.shape[1])
    fit = sm.OLS(*_prais_winsten(logged, exog[use], rho)).fit()
    df = max(int(fit.df_resid) - 1, 1)  # one less for ρ
    quantile = student.ppf(0.5 + CONFIDENCE / 2, df)
    contrast = np.zeros(exog.shape[1])
    contrast[list(exog.columns).index("level")] = 1.0
    contrast[list(exog.columns).index("slope")] = since[use & after].mean() if (use & after).any() else 0.0
    params, covariance = fit.params.to_numpy(), fit.cov_params().to_numpy()
    est, se = float(contrast @ params), float(np.sqrt(contrast @ covariance @ contrast))
    without = exog.assign(level=0.0, slope=0.0).to_numpy()
    mean = without @ params
    spread = np.sqrt(np.einsum("ij,jk,ik->i", without, covariance, without))
    at = [list(exog.columns).index(name) for name in ("level", "slope")]
    return Segmented(
        float(np.exp(est) - 1),
        float(np.exp(est - quantile * se) - 1),
        float(np.exp(est + quantile * se) - 1),
        float(params[at[0]]),
        float(params[at[1]]),
        covariance[np.ix_(at, at)],
        np.exp(mean),
        np.exp(mean - quantile * spread),
        np.exp(mean + quantile * spread),
        since,
        seasonal,
        trend,
        int(use.sum()),
        df,
        rho,
    )


def ar1_of_residuals(residuals: np.ndarray, terms: int) -> float:
    """The lag-1 autocorrelation of regression residuals, corrected for its downward bias in a
    short series: + (1 + 3ρ)/n (Marriott and Pope) + (terms − 1)/n (what fitting the other terms
    took), within ±0.95."""
    r = np.asarray(residuals, float)
    n = len(r)
    if n < 3 or not np.any(r):
        return 0.0
    rho = float(np.sum(r[1:] * r[:-1]) / np.sum(r * r))
    return float(np.clip(rho + (1 + 3 * rho) / n + (terms - 1) / n, -0.95, 0.95))


def _prais_winsten(y: np.ndarray, exog: pd.DataFrame, rho: float) -> tuple[np.ndarray, pd.DataFrame]:
    """y and the regressors with AR(1) noise of `rho` taken out (the first month kept, scaled)."""
    x = exog.to_numpy(float)
    first = np.sqrt(1 - rho**2)
    y = np.r_[first * y[0], y[1:] - rho * y[:-1]]
    x = np.vstack([first * x[0], x[1:] - rho * x[:-1]])
    return y, pd.DataFrame(x, columns=exog.columns)


# --- counts against their own past ----------------------------------------------------------------


def pooled_dispersion(observed, fitted=None) -> float:
    """How much more counts vary than Poisson allows (φ ≥ 1), pooled over series: rows are series
    (managers), columns the weeks of their baseline; `fitted` what each week's count was expected
    to be (default: the row's mean). Pearson's χ² over its degrees of freedom (a week less per row),
    floored at 1: a series quieter than Poisson is not made surer."""
    counts = np.atleast_2d(np.asarray(observed, float))
    expected = np.broadcast_to(counts.mean(axis=1, keepdims=True) if fitted is None else fitted, counts.shape)
    rows = ~(np.isnan(counts).any(axis=1) | np.isnan(expected).any(axis=1))
    counts, expected = counts[rows], expected[rows]
    degrees = counts.shape[0] * (counts.shape[1] - 1)
    if degrees <= 0:
        return 1.0
    cells = expected > 0
    chi2 = (((counts - expected) ** 2)[cells] / expected[cells]).sum()
    return max(1.0, float(chi2 / degrees))


def count_against_baseline(now, baseline_mean, weeks: int, dispersion, *, tail: str = "two-sided"):
    """The p-value of this week's count against a series' mean over the `weeks` before it, when
    nothing changed: the count is negative binomial around that mean with variance φ·μ, and the
    mean is itself estimated (its variance φ·μ/weeks), so the predictive variance is
    φ·μ·(1 + 1/weeks). `tail`: "lower" (a fall), "upper" or "two-sided". A series with no count in
    its baseline is taken to have half a count over it; 1 where a value is missing."""
    from scipy.stats import nbinom

    now = np.asarray(now, float)
    mean = np.asarray(baseline_mean, float)
    phi = np.asarray(dispersion, float) * (1 + 1 / weeks)
    valid = ~(np.isnan(now) | np.isnan(mean) | np.isnan(phi))
    mu = np.where(valid, np.maximum(mean, 0.5 / weeks), 1.0)
    phi = np.where(valid, phi, 2.0)
    n, p = mu / (phi - 1), 1 / phi
    y = np.where(valid, now, 0)
    lower, upper = nbinom.cdf(y, n, p), nbinom.sf(y - 1, n, p)
    both = np.minimum(1.0, 2 * np.minimum(lower, upper))
    chosen = {"lower": lower, "upper": upper, "two-sided": both}[tail]
    result = np.where(valid, np.minimum(chosen, 1.0), 1.0)
    return float(result) if result.ndim == 0 else result


def false_discovery(p_values, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini–Hochberg over a family of p-values: (which are discoveries at `rate`, the
    adjusted q-values); missing p-values are not tested."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p_values, float)
    tested = ~np.isnan(p)
    found, q = np.zeros(len(p), bool), np.full(len(p), np.nan)
    if tested.any():
        found[tested], q[tested], _, _ = multipletests(p[tested], alpha=rate, method="fdr_bh")
    return found, q
