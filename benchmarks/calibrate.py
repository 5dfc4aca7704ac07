"""`make calibrate`: does every band, interval and flag cover what it claims, at every account size?

Each claim is checked on accounts of known truth. Some are sample accounts of several sizes and
seeds, with a planted effect switched off (the null) or set to a known size. Others are series
simulated with a known effect: monthly sales with AR(1) noise, deal times with a known median
and known shares won by day 30. The script prints one table: the claim, where it was measured,
the nominal rate, the measured rate with its 95% Wilson interval, n, the band the rate must lie
in, and whether it does (its interval reaches the band, so a quick run's few accounts do not fail
for their own sampling error).
`--write` puts the table into docs/CALIBRATION.md.

    python benchmarks/calibrate.py            # the full run (sizes 3,000 / 50,000 / 1,000,000)
    python benchmarks/calibrate.py --quick    # a seeded slice of each claim, in seconds
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crmkit import metrics, sample, stats  # noqa: E402
from crmkit.db import connect  # noqa: E402
from crmkit.importers import load  # noqa: E402
from crmkit.metrics.adoption import _yoy  # noqa: E402

AS_OF = "2026-11-01"  # the sample's data end: the weekly table's last week is 19–25 October


@dataclass
class Claim:
    claim: str
    where: str
    nominal: str
    hits: int
    n: int
    holds: tuple[float, float]  # the measured share must lie in [low, high] for the claim to hold
    note: str = ""

    @property
    def measured(self) -> float:
        return self.hits / self.n if self.n else np.nan

    @property
    def ok(self) -> bool:
        """The claim holds when the measured share's 95% interval reaches the band: a quick run's
        few accounts are not taken for a failure by their own sampling error."""
        low, high = stats.wilson(self.hits, self.n)
        return low <= self.holds[1] and high >= self.holds[0]

    def row(self) -> str:
        low, high = stats.wilson(self.hits, self.n)
        verdict = "holds" if self.ok else "**fails**"
        target = f"{self.holds[0]:.0%}–{self.holds[1]:.0%}"
        return (
            f"| {self.claim} | {self.where} | {self.nominal} | {self.measured:.1%} ({low:.1%}–{high:.1%}) "
            f"| {self.n:,} | {target} | {verdict}{'; ' + self.note if self.note else ''} |"
        )


# --- sample accounts -----------------------------------------------------------------------------


def account(deals: int, seed: int, folder: Path, **effects) -> Path:
    """A sample account of `deals` deals drawn with `seed` and the planted effects given, loaded
    into its own database."""
    raw, db = folder / f"s{deals}-{seed}", folder / f"s{deals}-{seed}.duckdb"
    with sample.planted(**effects):
        sample.write_sample(deals, raw, seed=seed)
    con = connect(db)
    load(con, [raw])
    con.close()
    shutil.rmtree(raw)
    return db


def weekly(db: Path):
    con = connect(db, read_only=True)
    kpi = metrics.weekly_kpi(con, as_of=AS_OF)
    flags = metrics.activity_flags(con, as_of=AS_OF, kpi=kpi)
    con.close()
    return kpi, flags


SEEDS = 100  # the full run's accounts; the tests' quick slice draws others (QUICK_SEEDS)
QUICK_SEEDS = 900


def flags_without_a_change(sizes: dict[int, int], folder: Path, first: int = SEEDS) -> list[Claim]:
    """Accounts where no manager's activity drops: the share of manager-weeks flagged in the
    weekly table (activities, and CRM events), and of managers flagged as falling."""
    found = []
    for deals, seeds in sizes.items():
        weeks = events = falls = cells = managers = 0
        for seed in range(seeds):
            kpi, flags = weekly(account(deals, first + seed, folder, activity_drop_keep=1.0))
            owners = kpi[kpi["level"] == "owner"]
            weeks += int(owners["activities_sure"].sum())
            events += int(owners["crm_events_sure"].sum())
            cells += len(owners)
            falls += int(flags["is_fall"].sum())
            managers += len(flags)
        where = f"{deals:,} deals × {seeds} seeds, no drop"
        found += [
            Claim("weekly table: activities flagged", where, "FDR 5%", weeks, cells, (0, 0.02)),
            Claim("weekly table: CRM events flagged", where, "FDR 5%", events, cells, (0, 0.02)),
            Claim("activity flags: false falls", where, "FDR 5%", falls, managers, (0, 0.02)),
        ]
    return found


def flags_find_a_drop(deals: int, seeds: int, folder: Path, first: int = SEEDS) -> list[Claim]:
    """One manager's activities fall 40% in the last week: how often the flags name them."""
    hits = 0
    for seed in range(seeds):
        _, flags = weekly(account(deals, first + 100 + seed, folder, activity_drop_keep=0.6))
        named = flags.set_index("name")
        hits += bool(named.loc[sample.PLANTED["activity_drop_manager"], "is_fall"])
    where = f"{deals:,} deals × {seeds} seeds, one manager −40%"
    return [Claim("activity flags: a 40% drop found", where, "power ≥ 80%", hits, seeds, (0.8, 1))]


def forecast_bands(sizes: dict[int, int], folder: Path, first: int = SEEDS) -> list[Claim]:
    """The forecast's P10–P90 at 12 monthly origins of each account against what those deals won
    within 30 days; the P50's bias is the total forecast over the total won."""
    found = []
    for deals, seeds in sizes.items():
        covered = origins = 0
        forecast = actual = 0.0
        for seed in range(seeds):
            con = connect(account(deals, first + 200 + seed, folder), read_only=True)
            backtest = metrics.forecast_backtest(con, as_of=AS_OF, dates=12)
            con.close()
            judged = backtest[backtest["covered"].notna()]  # calibrated, with money to judge
            covered += int(judged["covered"].sum())
            origins += len(judged)
            forecast, actual = forecast + judged["p50"].sum(), actual + judged["actual"].sum()
        bias = forecast / actual - 1 if actual else np.nan
        where = f"{deals:,} deals × {seeds} seeds, 12 origins"
        found.append(Claim("forecast P10–P90 holds the outcome", where, "80%", covered, origins, (0.7, 0.9),
                           f"P50 {bias:+.1%} off"))  # fmt: skip
    return found


# --- simulated series ----------------------------------------------------------------------------

MONTHS = pd.period_range("2023-05", "2026-09", freq="M")  # 24 months before adoption, 17 after
ADOPTION = pd.Period("2025-05", "M")


def monthly_sales(rng, effect: float, rho: float, level: float = np.log(40.0), sigma: float = 0.15):
    """log(sales) = level + a slow trend + a season + log(1 + effect) after adoption + AR(1) noise."""
    noise = np.empty(len(MONTHS))
    noise[0] = rng.normal(0, sigma / np.sqrt(1 - rho**2))
    for i in range(1, len(MONTHS)):
        noise[i] = rho * noise[i - 1] + rng.normal(0, sigma)
    season = 0.2 * np.sin(2 * np.pi * MONTHS.month.to_numpy() / 12)
    after = np.asarray(MONTHS >= ADOPTION)
    return np.exp(level + 0.005 * np.arange(len(MONTHS)) + season + np.log1p(effect) * after + noise)


def adoption_regression(reps: int, seed: int = 1) -> list[Claim]:
    found = []
    use = np.asarray(MONTHS != ADOPTION)  # the ramp month left out, as the report does
    for rho in (0.0, 0.5):
        for effect in (0.0, 0.12):
            rng = np.random.default_rng(seed)
            covered = signalled = 0
            for _ in range(reps):
                fit = stats.segmented_regression(monthly_sales(rng, effect, rho), MONTHS, ADOPTION, use=use)
                covered += fit.effect_low <= effect <= fit.effect_high
                signalled += fit.effect_low > 0 or fit.effect_high < 0
            where = f"41 months, AR(1) ρ = {rho}, effect {effect:+.0%}"
            found.append(Claim("adoption: segmented 95% CI", where, "95%", covered, reps, (0.92, 0.97)))
            if effect == 0:
                claim = Claim("adoption: effect claimed at zero", where, "5%", signalled, reps, (0, 0.06))
                found.append(claim)
    return found


def year_over_year(reps: int, seed: int = 2) -> list[Claim]:
    """Won deals per month (Poisson around a seasonal, noisy level), 11 month pairs."""
    found = []
    months = pd.period_range("2024-06", "2026-04", freq="M")
    periods = np.where(months < ADOPTION, "before", np.where(months == ADOPTION, "ramp", "after"))
    season = 0.2 * np.sin(2 * np.pi * months.month.to_numpy() / 12)
    for wins in (40, 400):
        for effect in (0.0, 0.12):
            rng = np.random.default_rng(seed)
            covered = 0
            for _ in range(reps):
                rate = wins * np.exp(season + rng.normal(0, 0.1, len(months)))
                rate *= np.where(periods == "after", 1 + effect, 1.0)
                series = pd.DataFrame({"month": months, "period": periods, "n_won": rng.poisson(rate)})
                _, low, high, _ = _yoy(series, "n_won")
                covered += low <= effect <= high
            where = f"{wins} wins a month, 11 pairs, effect {effect:+.0%}"
            found.append(Claim("adoption: year-over-year 95% CI", where, "95%", covered, reps, (0.92, 0.97)))
    return found


def durations(reps: int, seed: int = 3) -> list[Claim]:
    """Deal times with a known median (30 days) and known share won by day 30, open deals censored."""
    rng = np.random.default_rng(seed)
    won_rate, lost_rate = 0.6 * np.log(2) / 30, 0.4 * np.log(2) / 30  # all-cause median 30 days
    truth = won_rate / (won_rate + lost_rate) * (1 - np.exp(-(won_rate + lost_rate) * 30))
    median = shares = 0
    for _ in range(reps):
        n = 120
        won = rng.exponential(1 / won_rate, n)
        lost = rng.exponential(1 / lost_rate, n)
        censor = rng.uniform(10, 150, n)
        days = np.minimum.reduce([won, lost, censor])
        outcome = np.select([days == won, days == lost], ["won", "lost"], "open")
        q = stats.survival_quantiles(days, outcome != "open")
        median += q.median_low <= 30 <= q.median_high
        _, low, high = stats.cumulative_incidence(days, outcome, [30])["won"][0]
        shares += low <= truth <= high
    where = "120 deals, competing won/lost, censored"
    return [
        Claim("time to close: median 95% CI", where, "95%", median, reps, (0.92, 0.98)),
        Claim("won by day 30: 95% CI", where, "95%", shares, reps, (0.92, 0.98)),
    ]


# --- the table -----------------------------------------------------------------------------------


def run(quick: bool) -> tuple[list[Claim], float]:
    started = time.monotonic()
    warnings.simplefilter("ignore")
    folder = Path(tempfile.mkdtemp(prefix="crmkit-calibrate-"))
    try:
        if quick:
            first = QUICK_SEEDS
            claims = flags_without_a_change({3000: 3}, folder, first)
            claims += flags_find_a_drop(20_000, 3, folder, first)
            claims += adoption_regression(100, seed=first) + year_over_year(100, seed=first)
            claims += durations(150, seed=first) + forecast_bands({3000: 2}, folder, first)
        else:
            claims = flags_without_a_change({3000: 20, 50_000: 6, 1_000_000: 2}, folder)
            claims += flags_find_a_drop(20_000, 20, folder)
            claims += adoption_regression(1000) + year_over_year(1000) + durations(1000)
            claims += forecast_bands({3000: 10, 50_000: 4, 1_000_000: 1}, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return claims, time.monotonic() - started


def table(claims: list[Claim]) -> str:
    head = (
        "| claim | measured on | nominal | measured (95% CI) | n | must lie in | verdict |\n"
        "|---|---|---|---|---|---|---|"
    )
    return "\n".join([head, *(claim.row() for claim in claims)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a seeded slice of each claim")
    parser.add_argument("--write", action="store_true", help="write the table into docs/CALIBRATION.md")
    args = parser.parse_args()
    claims, seconds = run(args.quick)
    text = table(claims)
    print(text)
    print(f"\n{sum(c.ok for c in claims)} of {len(claims)} claims hold; {seconds:.0f} s")
    if args.write:
        stamp = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {seconds / 60:.1f} min"
        target = ROOT / "docs" / "CALIBRATION.md"
        page = target.read_text(encoding="utf-8")
        begin, end = "<!-- calibrate: begin -->", "<!-- calibrate: end -->"
        before, _, rest = page.partition(begin)
        _, _, after = rest.partition(end)
        target.write_text(f"{before}{begin}\n{text}\n\nRun: {stamp}.\n{end}{after}", encoding="utf-8")
    return 0 if all(c.ok for c in claims) else 1


if __name__ == "__main__":
    sys.exit(main())
