"""METRICS.md §5, second half: the revenue forecast from pre-sale (late-stage) deals.

An open pre-sale deal that has sat d days in its stage is compared with every visit to that
stage in the window that also lasted at least d days: the deals that closed, and the deals still
open, censored where they stand — learning from the closed deals alone would see only the fast
closers. Its chance of closing won within the horizon is the cumulative incidence of "won" (lost
competing, open censored) over the next `horizon` days of those visits: the Aalen–Johansen
estimate (`statsmodels`' CumIncidenceRight), with its standard error.

The revenue closing within the horizon is summed per simulation: P10 / P50 / P90. Each simulation
draws the stage's chances once from their sampling distribution (a beta with the estimate's mean
and error, one draw per stage shared by all its deals, as a bootstrap of the history would), then
each deal won or not: so a large account's band keeps the estimate's own uncertainty instead of
narrowing as √N around a plug-in mean.

The band is then calibrated on the forecast's own past (split conformal): at past month starts
whose horizon has ended, each forecast's miss is measured in units of its own band's half-width,
and the band is widened by the 80% conformal quantile of those misses (never narrowed below the
simulation). With fewer than `CALIBRATION` past forecasts the band stays as simulated, and the
backtest does not count it.
"""

from __future__ import annotations

import math
import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from scipy.stats import beta as beta_distribution

from crmkit import db, stats
from crmkit.db import query
from crmkit.errors import CrmkitError
from crmkit.metrics.core import Window, data_end, metric, window

QUANTILES = (10, 50, 90)
NOMINAL = 0.8  # P10–P90
MAX_HISTORY = 20_000  # the most recent visits of a stage a forecast learns from: enough, at any size
BUCKETS = 24  # waits told apart: open deals are grouped into at most this many by how long they waited
CALIBRATION = 4  # past forecasts the band's calibration needs (the 80% conformal quantile of 4 is the max)
PAST_FORECASTS = 12  # past month starts a forecast calibrates its band on
DAY = pd.Timedelta(days=1)


def presale_stages(con, pipeline=None, stages: str | list[str] | None = None) -> pd.DataFrame:
    """The pre-sale stages: those named (comma-separated), else the last two open stages of
    every pipeline."""
    open_stages = query(con, "metrics/open_stages", pipeline=pipeline or None)
    if stages:
        names = [s.strip() for s in stages.split(",")] if isinstance(stages, str) else list(stages)
        chosen = open_stages[open_stages["stage"].isin(names)]
        missing = set(names) - set(chosen["stage"])
        if missing:
            raise CrmkitError(
                f"no open stage named {sorted(missing)[0]!r}; open stages: "
                f"{', '.join(open_stages['stage'].unique())}"
            )
        return chosen
    return open_stages.sort_values("position").groupby("pipeline_id").tail(2)


def stage_visits(con, span: Window, presale: pd.DataFrame, pipeline=None) -> dict:
    """Per pre-sale stage (pipeline_id, stage_id): its visits begun in the window, as the account
    stood at the window's end (stage_visit_outcomes.sql); StageHistory cuts them at any earlier date."""
    visits = query(
        con,
        "metrics/stage_visit_outcomes",
        **span.params(pipeline, None),
        stage_pipelines=list(presale["pipeline_id"]),
        stage_ids=list(presale["stage_id"]),
    )
    parts = dict(list(visits.groupby(["pipeline_id", "stage_id"], sort=False)))
    return {
        (stage.pipeline_id, stage.stage_id): parts.get((stage.pipeline_id, stage.stage_id), visits.iloc[:0])
        for stage in presale.itertuples()
    }


class StageHistory:
    """The visits to one pre-sale stage as they stood at `at`, begun from `start` on (the most
    recent MAX_HISTORY of them): how long each stayed (so far), and the time from its entry to the
    deal's close — won (1) or lost (2) — or to `at` while the deal is open (0: censored)."""

    def __init__(self, visits: pd.DataFrame, at: pd.Timestamp, start: pd.Timestamp):
        begun = visits[(visits["entered_at"] >= start) & (visits["entered_at"] < at)]
        begun = begun.nlargest(MAX_HISTORY, "entered_at") if len(begun) > MAX_HISTORY else begun
        begun = begun.sort_values("entered_at", kind="stable")
        seen = ((at - begun["entered_at"]) / DAY).to_numpy(float)
        closed_at = begun["closed_at"]
        closed = (begun["status"].isin(["won", "lost"]) & (closed_at < at)).to_numpy(bool)
        self.stay = np.minimum(begun["stay_days"].to_numpy(float), seen)
        to_close = ((closed_at - begun["entered_at"]) / DAY).to_numpy(float)
        self.time = np.where(closed, np.maximum(to_close, self.stay), seen)
        self.event = np.where(closed, np.where(begun["status"].to_numpy() == "won", 1, 2), 0)
        # the stage's win rate and time to a win: per deal closed, from its last visit (a deal that
        # came back to the stage is one deal, not two)
        last = ~begun["deal_id"].duplicated(keep="last").to_numpy()
        won, lost = last & (self.event == 1), last & (self.event == 2)
        self.n_won, self.n_lost = int(won.sum()), int(lost.sum())
        self.median_days_to_win = float(np.median(self.time[won])) if won.any() else np.nan

    def chance(self, waited: float, horizon: float) -> tuple[float, float, float, int]:
        """For a deal that has waited `waited` days: (its chance of closing won within the
        horizon, that chance's standard error, its chance of being won at all, how many visits
        lasted as long). Aalen–Johansen over the visits that lasted at least `waited`, their time
        counted from then. Unknown (NaN) when none of them was followed for the horizon — a young
        CRM, or a wait longer than the history holds — never a guess."""
        alike = self.stay >= waited
        n = int(alike.sum())
        time, event = self.time[alike] - waited, self.event[alike]
        if n == 0 or not stats.followed_for(time, event, horizon):
            return np.nan, np.nan, np.nan, n  # no visit this long followed for the horizon: unknown
        if not (event > 0).any():
            return 0.0, 0.0, np.nan, n
        fit = stats.CumulativeIncidence(time, event)
        within, error = fit.at(1, horizon)
        return within, error, fit.final(1), n

    def chances(self, waited: np.ndarray, horizon: float) -> pd.DataFrame:
        """Per deal: its group of waits (at most BUCKETS, each read at its median wait), and the
        group's chance within the horizon, its error, its chance at all and how many visits alike."""
        waited = np.asarray(waited, float)
        days = np.floor(waited)
        levels = np.unique(days)
        if len(levels) > BUCKETS:  # groups of about equal size, by the quantiles of the waits
            edges = np.unique(np.quantile(days, np.linspace(0, 1, BUCKETS + 1)[1:-1]))
            group = np.searchsorted(edges, days, side="right")
        else:
            group = np.searchsorted(levels, days)
        rows = []
        for g in np.unique(group):
            wait = float(np.median(waited[group == g]))
            rows.append((g, *self.chance(wait, horizon)))
        table = pd.DataFrame(rows, columns=["group", "p_in_horizon", "se", "p_win_now", "n_alike"])
        return table.set_index("group").loc[group].reset_index()


def _beta_draws(mean: np.ndarray, error: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Each group's chance drawn from a beta of its mean and standard error at the shared uniforms
    (sims × 1: one draw per simulation for the whole stage, its groups moving together as one
    history's would); a chance of 0 or 1, or without error, stays as it is."""
    mean, error = np.asarray(mean, float), np.asarray(error, float)
    spread = mean * (1 - mean)
    varied = (mean > 0) & (mean < 1) & (error > 0)
    variance = np.minimum(error**2, 0.99 * spread)  # a beta needs variance < p(1 − p)
    size = np.where(varied, spread / np.where(varied, variance, 1) - 1, 1.0)
    draws = np.broadcast_to(mean, (len(uniforms), len(mean))).copy()
    if varied.any():
        draws[:, varied] = beta_distribution.ppf(
            uniforms, (mean * size)[varied], ((1 - mean) * size)[varied]
        )  # fmt: skip
    return draws


def _wins(chances: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Which deals close won within the horizon in each simulation, given each cell's chance
    (sims × deals): one uniform 16-bit integer per cell against the chance in 65,536ths (a chance
    0 or 1 stays exact; any other moves by at most 1/131,072, far inside the simulation's own
    error). The integers are the generator's raw 64-bit words cut in four, each quarter uniform:
    for this range the same integers, in the same order, as numpy's `integers(0, 65536,
    dtype=uint16)`, twice as fast."""
    threshold = np.round(np.asarray(chances) * 65536).astype(np.uint32)
    cells = threshold.size
    draws = rng.bit_generator.random_raw(-(-cells // 4)).view(np.uint16)[:cells].reshape(threshold.shape)
    wins = draws < np.minimum(threshold, 65535).astype(np.uint16)
    wins[threshold == 65536] = True  # a certain win (65,535 would miss one draw in 65,536)
    return wins


CELLS_PER_CHUNK = 4_000_000  # simulations × deals drawn at once: ~50 MB of working arrays


def _simulate_all(history: dict, deals: pd.DataFrame, horizon, sims, seed, team_only=False):
    """Per deal of `deals` (open_presale_deals): its chances and expected revenue from `history`
    (a StageHistory per stage); per simulation: the revenue of each manager (sims × managers;
    `team_only`: one column, the team's), summed over chunks of deals so memory stays flat. A
    deal without an amount is simulated and counted, but adds no money: its worth is unknown."""
    if team_only:
        deals = deals.assign(owner="—")
    owners = np.array(sorted(deals["owner"].unique()), dtype=object)
    owner_index = np.searchsorted(owners, deals["owner"].to_numpy(object)) if len(deals) else np.zeros(0, int)
    by_owner = np.zeros((sims, len(owners)))
    columns = ["p_in_horizon", "se", "p_win_now", "n_alike"]
    chances = pd.DataFrame(np.nan, index=deals.index, columns=columns)
    all_amounts = deals["amount"].to_numpy(float)
    priced = np.nan_to_num(all_amounts)  # a deal without an amount adds no money; its count shows
    rng = np.random.default_rng(seed)
    chunk = max(1, CELLS_PER_CHUNK // max(sims, 1))
    for key, part in deals.groupby(["pipeline_id", "stage_id"], sort=True):
        rows = part.index.to_numpy()
        found = history[key].chances(part["days_in_stage"].to_numpy(float), horizon)
        chances.loc[rows, columns] = found[columns].to_numpy()
        groups = found["group"].to_numpy()
        _, first, at_level = np.unique(groups, return_index=True, return_inverse=True)
        known = np.nan_to_num(found["p_in_horizon"].to_numpy()[first])  # unknown: simulated as no win
        drawn = _beta_draws(known, np.nan_to_num(found["se"].to_numpy()[first]), rng.random((sims, 1)))
        for begin in range(0, len(rows), chunk):
            at = slice(begin, begin + chunk)
            # each deal's amount in its manager's column: wins × that = each manager's revenue
            amounts = np.zeros((len(rows[at]), len(owners)))
            amounts[np.arange(len(rows[at])), owner_index[rows[at]]] = priced[rows[at]]
            wins = _wins(drawn[:, at_level[at]], rng)
            by_owner += wins.astype(float) @ amounts  # as float: BLAS
    stages = pd.DataFrame(
        [
            {
                "pipeline_id": key[0],
                "stage_id": key[1],
                "n": h.n_won + h.n_lost,
                "p_win": h.n_won / (h.n_won + h.n_lost) if h.n_won + h.n_lost else np.nan,
                **dict(
                    zip(("p_win_low", "p_win_high"), stats.wilson(h.n_won, h.n_won + h.n_lost), strict=True)
                ),
                "median_days_to_win": h.median_days_to_win,
            }
            for key, h in history.items()
        ],
        columns=["pipeline_id", "stage_id", "n", "p_win", "p_win_low", "p_win_high", "median_days_to_win"],
    )
    per_deal = deals.assign(
        p_win_now=chances["p_win_now"].to_numpy(float),
        p_in_horizon=chances["p_in_horizon"].to_numpy(float),
        expected_revenue=all_amounts * chances["p_in_horizon"].to_numpy(float),
    )
    per_deal = per_deal.merge(stages, on=["pipeline_id", "stage_id"])[
        ["deal_id", "title", "owner", "pipeline", "stage", "amount", "currency", "days_in_stage", "n",
         "p_win", "p_win_low", "p_win_high", "p_win_now", "p_in_horizon", "expected_revenue",
         "median_days_to_win"]
    ]  # fmt: skip
    return per_deal.reset_index(drop=True), by_owner, owners


def open_presale_deals(con, span: Window, presale: pd.DataFrame, pipeline, owner) -> pd.DataFrame:
    """The open deals at as_of that sit in a pre-sale stage; an amount unknown stays unknown."""
    open_deals = query(con, "metrics/open_deals", **span.params(pipeline, owner))
    deals = open_deals.merge(presale[["pipeline_id", "stage_id"]], on=["pipeline_id", "stage_id"])
    return deals.assign(
        amount=deals["amount"].astype(float), days_in_stage=deals["days_in_stage"].fillna(0.0)
    ).reset_index(drop=True)


def _summary(per_deal: pd.DataFrame, by_owner: np.ndarray, owners: np.ndarray, name=None) -> dict:
    """The team's (name None) or one manager's deals and simulated revenue: P10 / P50 / P90 as
    simulated, over the deals with an amount and a known chance (the others are counted: without
    an amount, `n_unpriced`; with a wait the history cannot follow, `n_unknown`). Unknown when no
    deal has both: never 0 for "we do not know"."""
    if name is None:
        deals, total = per_deal, by_owner.sum(axis=1)
    else:
        deals, total = per_deal[per_deal["owner"] == name], by_owner[:, list(owners).index(name)]
    forecast = deals["p_in_horizon"].notna()
    priced = int((deals["amount"].notna() & forecast).sum())
    known = priced > 0 and len(total) > 0
    q = np.percentile(total, QUANTILES) if known else [np.nan] * 3
    weighted = (deals["amount"] * deals["p_win"].fillna(0)).sum(min_count=1)
    return {
        "n_deals": len(deals),
        "n_unpriced": int(deals["amount"].isna().sum()),
        "n_unknown": int((~forecast).sum()),  # waited longer than any visit the history followed
        "pipeline_amount": stats.money_total(deals["amount"]),
        "weighted_pipeline": float(weighted) if known else np.nan,
        "mean": float(total.mean()) if known else np.nan,
        "p10": q[0],
        "p50": q[1],
        "p90": q[2],
    }


# --- calibration on the forecast's own past --------------------------------------------------------


def miss_in_band_widths(actual, p10, p50, p90) -> np.ndarray:
    """How far the outcome fell from the P50, in units of the band's half on that side: 0 at the
    P50, 1 at P10 or P90. Infinite for a miss a band of no width could not hold; unknown (NaN)
    where the forecast or the outcome is."""
    actual, p10, p50, p90 = (np.asarray(v, float) for v in (actual, p10, p50, p90))
    above = actual >= p50
    width = np.where(above, p90 - p50, p50 - p10)
    gap = np.abs(actual - p50)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(width > 0, gap / width, np.where(gap > 0, np.inf, 0.0))
    return np.where(np.isnan(actual) | np.isnan(p50) | np.isnan(width), np.nan, score)


def conformal_scale(scores) -> float:
    """The factor that makes a band hold `NOMINAL` of the past misses: their ⌈(n + 1)·0.8⌉-th
    smallest (split conformal), NaN with fewer than CALIBRATION known misses."""
    known = np.sort(np.asarray(scores, float)[~np.isnan(np.asarray(scores, float))])
    rank = math.ceil((len(known) + 1) * NOMINAL)
    return float(known[rank - 1]) if len(known) >= CALIBRATION and rank <= len(known) else np.nan


def _scaled(row: dict, scale: float) -> dict:
    """A forecast's band widened by `scale` around its P50, never below 0. Never narrowed: a
    dozen past forecasts that happened to land near their P50 are no evidence that the estimate's
    own uncertainty is smaller than simulated."""
    if not np.isfinite(scale) or scale <= 1:
        return row
    p10 = max(0.0, row["p50"] - scale * (row["p50"] - row["p10"]))
    return {**row, "p10": p10, "p90": row["p50"] + scale * (row["p90"] - row["p50"])}


# Past forecasts already made on a connection that cannot change (a report's): a report's forecast
# and its backtest share most of their month starts, and each start's forecast is the same
_MADE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _past_forecasts(con, span: Window, stages, pipeline, owner, horizon, sims, seed, starts) -> pd.DataFrame:
    """The team's forecast at each of `starts` (month starts), as the account stood then, beside
    what its deals won within the horizon (read at as_of: the horizon has passed by then, so the
    outcome is the same at any later as_of): P10 / P50 / P90 as simulated."""
    if len(starts) == 0:
        return pd.DataFrame(columns=["forecast_at", "p10", "p50", "p90", "actual", "horizon_end"])
    length = span.as_of - span.period_start
    options = (length, pipeline, owner, float(horizon), tuple(stages["stage_id"]), int(sims), int(seed))
    made = _MADE.setdefault(con, {}) if con in db._FROZEN else {}
    missing = [start for start in starts if (start, options) not in made]
    if missing:
        made.update(_forecasts_at(con, span, stages, pipeline, owner, horizon, sims, seed, missing, options))
    return pd.DataFrame([made[(start, options)] for start in starts])


def _forecasts_at(con, span, stages, pipeline, owner, horizon, sims, seed, starts, options) -> dict:
    length = options[0]
    first = min(starts[0], span.as_of - DAY)  # a zero horizon on the first of a month: a day earlier
    won = query(
        con,
        "metrics/won_deals",
        **window(span.as_of, first).params(pipeline, owner),
        columns=("deal_id", "closed_at", "amount"),
    ).set_index("deal_id")
    # the history every date learns from, read once at the last date and cut at each
    visits = stage_visits(con, window(starts[-1], starts[0] - length), stages, pipeline)
    dated = [window(start, start - length) for start in starts]
    made = {}
    # the account as it stood at each date is read by one thread while this one simulates the
    # date before (only that thread uses the connection meanwhile): SQL and draws overlap
    with ThreadPoolExecutor(1) as reader:
        open_then = [reader.submit(open_presale_deals, con, then, stages, pipeline, owner) for then in dated]
        for start, then, deals in zip(starts, dated, open_then, strict=True):
            history = {key: StageHistory(part, then.as_of, then.period_start) for key, part in visits.items()}
            per_deal, by_owner, owners = _simulate_all(
                history, deals.result(), horizon, int(sims), int(seed), team_only=True
            )
            summary = _summary(per_deal, by_owner, owners)
            # what the deals forecast brought: those with an amount and a chance the history knew
            judged = per_deal[per_deal["amount"].notna() & per_deal["p_in_horizon"].notna()]
            closed = won.reindex(judged["deal_id"])
            end = start + pd.Timedelta(days=horizon)
            in_time = ((closed["closed_at"] >= start) & (closed["closed_at"] < end)).to_numpy()
            actual = closed.loc[in_time, "amount"].sum(min_count=1)
            actual = 0.0 if not in_time.any() else float(actual)  # won nothing: a known 0
            made[(start, options)] = {"forecast_at": start, **summary, "actual": actual, "horizon_end": end}
    return made


def _judgeable_starts(con, span: Window, horizon: float, count: int) -> pd.DatetimeIndex:
    """The last `count` month starts whose horizon has fully passed by as_of and within the data
    (by the day after its latest event: a report for a month the data does not reach must not
    count a forecast wrong for what was never loaded)."""
    end = data_end(con)
    known = span.as_of if end is None else min(span.as_of, end)
    last = (known - pd.Timedelta(days=horizon)).to_period("M").start_time
    return pd.date_range(end=last, periods=int(count), freq="MS")


def _calibrate(past: pd.DataFrame, at: pd.Timestamp) -> tuple[float, int]:
    """The band's scale at `at` from the past forecasts whose horizon had ended by then, and how
    many misses it was learnt from."""
    before = past[past["horizon_end"] <= at]
    scores = miss_in_band_widths(before["actual"], before["p10"], before["p50"], before["p90"])
    known = int((~np.isnan(scores)).sum())
    return conformal_scale(scores), known


@metric(
    "Revenue forecast from open pre-sale deals: P10/P50/P90 closing within the horizon, per manager "
    "and total, calibrated on the forecast's own past, beside the naive weighted pipeline"
)
def forecast(
    con,
    *,
    as_of,
    period_start=None,
    pipeline=None,
    owner=None,
    horizon: float = 30,
    presale: str | None = None,
    sims: int = 4000,
    seed: int = 7,
) -> pd.DataFrame:
    span = window(as_of, period_start)
    stages = presale_stages(con, pipeline, presale)
    visits = stage_visits(con, span, stages, pipeline)
    history = {key: StageHistory(part, span.as_of, span.period_start) for key, part in visits.items()}
    deals = open_presale_deals(con, span, stages, pipeline, owner)
    per_deal, by_owner, owners = _simulate_all(history, deals, horizon, int(sims), int(seed))
    starts = _judgeable_starts(con, span, horizon, PAST_FORECASTS)
    past = _past_forecasts(con, span, stages, pipeline, owner, horizon, min(int(sims), 2000), seed, starts)
    scale, learnt = _calibrate(past, span.as_of)
    rows = [{"level": "team", "name": "—", **_scaled(_summary(per_deal, by_owner, owners), scale)}]
    for name in owners:
        summary = _summary(per_deal, by_owner, owners, name)
        rows.append({"level": "owner", "name": name, **_scaled(summary, scale)})
    table = pd.DataFrame(rows)
    table["horizon_days"] = horizon
    table["band_scale"] = scale
    table["calibrated_on"] = learnt
    # the deals behind it, from the same simulation (forecast_deals alone would run it again)
    table.attrs["deals"] = per_deal.sort_values(
        ["expected_revenue", "deal_id"], ascending=[False, True], ignore_index=True
    )
    return table


@metric(
    "Open pre-sale deals with their stage win probability (Wilson CI), the probability given how long "
    "they have waited, the chance of closing won within the horizon and the expected revenue"
)
def forecast_deals(
    con,
    *,
    as_of,
    period_start=None,
    pipeline=None,
    owner=None,
    horizon: float = 30,
    presale: str | None = None,
    sims: int = 4000,
    seed: int = 7,
) -> pd.DataFrame:
    outlook = forecast(
        con,
        as_of=as_of,
        period_start=period_start,
        pipeline=pipeline,
        owner=owner,
        horizon=horizon,
        presale=presale,
        sims=sims,
        seed=seed,
    )
    return outlook.attrs["deals"]


@metric(
    "Backtest: the forecast made at past month starts, its band calibrated on the forecasts before "
    "it, against the revenue those deals actually brought within the horizon; whether P10–P90 held it"
)
def forecast_backtest(
    con,
    *,
    as_of,
    period_start=None,
    pipeline=None,
    owner=None,
    horizon: float = 30,
    presale: str | None = None,
    sims: int = 2000,
    seed: int = 7,
    dates: int = 6,
) -> pd.DataFrame:
    """The last `dates` judgeable month starts (_judgeable_starts), each forecast seeing only what
    was known then, its band calibrated as a forecast made that day would be: on the PAST_FORECASTS
    month starts before it whose horizon had ended. `covered` is unknown where the band could not
    yet be calibrated or the forecast has no money (no amounts); the outcome is read at as_of."""
    span = window(as_of, period_start)
    stages = presale_stages(con, pipeline, presale)
    starts = _judgeable_starts(con, span, horizon, int(dates) + PAST_FORECASTS)
    past = _past_forecasts(con, span, stages, pipeline, owner, horizon, sims, seed, starts)
    rows = []
    for row in past.tail(int(dates)).to_dict("records"):
        scale, learnt = _calibrate(past[past["forecast_at"] < row["forecast_at"]], row["forecast_at"])
        shown = _scaled(row, scale)
        judged = np.isfinite(scale) and np.isfinite(shown["p50"])
        rows.append(
            {
                **{k: v for k, v in shown.items() if k != "horizon_end"},
                "error": shown["actual"] - shown["p50"],
                "covered": bool(shown["p10"] <= shown["actual"] <= shown["p90"]) if judged else None,
                "band_scale": scale,
                "calibrated_on": learnt,
            }
        )
    columns = ["forecast_at", "n_deals", "n_unpriced", "n_unknown", "pipeline_amount", "weighted_pipeline",
               "mean", "p10", "p50", "p90", "actual", "error", "covered", "band_scale",
               "calibrated_on"]  # fmt: skip
    table = pd.DataFrame(rows, columns=columns)
    table["covered"] = table["covered"].astype("boolean")
    table["horizon_days"] = horizon
    return table
