"""METRICS.md §5, second half: the revenue forecast from pre-sale (late-stage) deals.

Each open pre-sale deal that has sat d days in its stage is compared with the closed deals of
the window whose stay in that stage also lasted at least d days — not with a typed-in stage
probability: it is won with their win rate (the mean of its Beta posterior, uniform prior; the
stage rate's own uncertainty is the Wilson interval beside it); a winner closes after the time
one of those won deals still needed, drawn at random. A deal that has waited longer than any won
deal did cannot close won within the horizon. Each deal's chance of closing won within the
horizon, and so its expected revenue, is computed exactly; the revenue closing within the horizon
is summed per simulation: P10 / P50 / P90. A simulation draws one uniform per deal, in chunks of
deals, so a million-deal account needs neither a loop per deal nor a sims × deals matrix in memory.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from crmkit import stats
from crmkit.db import query
from crmkit.errors import CrmkitError
from crmkit.metrics.core import Window, data_end, metric, window

QUANTILES = (10, 50, 90)


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


def closed_history(con, span: Window, presale: pd.DataFrame, pipeline=None) -> dict:
    """Per pre-sale stage (pipeline_id, stage_id): the stays in it of the deals closed in the
    window (stage_outcomes.sql)."""
    columns = ("pipeline_id", "stage_id", "status", "closed_at", "last_stay_days", "days_to_close")
    closed = query(
        con,
        "metrics/stage_outcomes",
        **span.params(pipeline, None),
        stage_pipelines=list(presale["pipeline_id"]),
        stage_ids=list(presale["stage_id"]),
        columns=columns,
    )
    # each stage's stays longest first, once: every date's StageHistory then sorts a sorted run
    closed = closed.sort_values("last_stay_days", ascending=False, kind="stable", ignore_index=True)
    parts = dict(list(closed.groupby(["pipeline_id", "stage_id"], sort=False)))
    return {
        (stage.pipeline_id, stage.stage_id): parts.get((stage.pipeline_id, stage.stage_id), closed.iloc[:0])
        for stage in presale.itertuples()
    }


def stage_history(con, span: Window, presale: pd.DataFrame, pipeline=None, closed=None) -> dict:
    """Per pre-sale stage, over the deals closed in the window: how long their last stay in the
    stage lasted and how many days from entering it they needed to close, won and lost apart.
    `closed`: closed_history over a longer span, read once (the backtest), cut to this window."""
    if closed is None:
        closed = closed_history(con, span, presale, pipeline)
    history = {}
    for stage in presale.itertuples():
        part = closed[(stage.pipeline_id, stage.stage_id)]
        in_window = ((part["closed_at"] >= span.period_start) & (part["closed_at"] < span.as_of)).to_numpy(
            bool
        )
        won = in_window & (part["status"] == "won").to_numpy(bool)
        lost = in_window & (part["status"] == "lost").to_numpy(bool)
        stay, close = part["last_stay_days"].to_numpy(float), part["days_to_close"].to_numpy(float)
        history[(stage.pipeline_id, stage.stage_id)] = StageHistory(
            stay[won], close[won].clip(min=0), stay[lost]
        )
    return history


class StageHistory:
    """The closed deals of one pre-sale stage, sorted once so that "the won (lost) deals whose
    stay lasted at least d days" is a prefix found by binary search, for any number of deals."""

    def __init__(self, won_stay, won_close, lost_stay):
        won_stay, won_close = np.asarray(won_stay, float), np.asarray(won_close, float)
        order = np.argsort(-won_stay, kind="stable")
        self.won_stay_desc, self.won_close = -won_stay[order], won_close[order]
        self.lost_stay_desc = np.sort(-np.asarray(lost_stay, float))
        self.n_won, self.n_lost = len(won_stay), len(self.lost_stay_desc)

    def alike(self, waited: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per deal: how many won and lost deals stayed at least as long as it has waited."""
        won = np.searchsorted(self.won_stay_desc, -waited, side="right")
        lost = np.searchsorted(self.lost_stay_desc, -waited, side="right")
        return won, lost

    def timely(self, waited: np.ndarray, horizon: float) -> np.ndarray:
        """Per deal: how many of the won deals alike (whose stay lasted at least `waited`) closed
        within waited + horizon days of entering the stage.

        In order of wait, a deal's alike won deals only shrink and its limit only grows: so each
        won deal counts for a run of consecutive deals, from the first whose limit reaches its
        close to the last that still has it alike. The runs are counted with a difference array,
        for any number of deals and won deals, without comparing every pair."""
        order = np.argsort(waited, kind="stable")
        ordered = np.asarray(waited, float)[order]
        n_alike = np.searchsorted(self.won_stay_desc, -ordered, side="right")  # non-increasing
        limit = ordered + horizon  # non-decreasing
        until = np.searchsorted(-n_alike, -np.arange(self.n_won), side="left")  # alike for [0, until)
        since = np.searchsorted(limit, self.won_close, side="left")  # in time for [since, end)
        counted = since < until
        runs = np.bincount(since[counted], minlength=len(ordered) + 1)
        runs -= np.bincount(until[counted], minlength=len(ordered) + 1)
        count = np.empty(len(ordered), np.int64)
        count[order] = np.cumsum(runs)[: len(ordered)]
        return count

    def chances(self, waited: np.ndarray, horizon: float) -> tuple[np.ndarray, np.ndarray]:
        """Per deal that has waited `waited` days: (its posterior mean win chance, its chance of
        closing won within the horizon).

        Won with probability p drawn from Beta(won alike + 1, lost alike + 1): drawn anew for
        every deal and simulation, the indicator "won" is exactly Bernoulli(the Beta mean). A
        winner closes after the time a won deal alike still needed, drawn at random from those
        alike, independently of winning: so "won within the horizon" is exactly Bernoulli(mean ×
        the share of the alike won deals that closed within wait + horizon)."""
        n_won, n_lost = self.alike(waited)
        p_now = (n_won + 1) / (n_won + n_lost + 2)
        timely = self.timely(waited, horizon)
        return p_now, p_now * np.divide(timely, n_won, out=np.zeros(len(waited)), where=n_won > 0)


def simulate_revenue(
    amounts, waited, won_stay, won_close, lost_stay, *, horizon: float, sims: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Monte Carlo of the open deals of one stage: (revenue closing won within `horizon`, shape
    sims × deals; each deal's posterior mean win probability given its wait)."""
    p_now, in_horizon = StageHistory(won_stay, won_close, lost_stay).chances(
        np.asarray(waited, float), horizon
    )
    wins = _wins(in_horizon, sims, rng)
    return np.where(wins, np.asarray(amounts, float), 0.0), p_now


def _wins(in_horizon: np.ndarray, sims: int, rng: np.random.Generator) -> np.ndarray:
    """Which deals close won within the horizon in each simulation (sims × deals): one uniform
    16-bit integer per cell against the chance in 65,536ths (a chance 0 or 1 stays exact; any
    other moves by at most 1/131,072, far inside the simulation's own error). The integers are
    the generator's raw 64-bit words cut in four, each quarter uniform: for this range the same
    integers, in the same order, as numpy's `integers(0, 65536, dtype=uint16)`, twice as fast."""
    threshold = np.round(np.asarray(in_horizon) * 65536).astype(np.uint32)
    cells = sims * len(threshold)
    draws = rng.bit_generator.random_raw(-(-cells // 4)).view(np.uint16)[:cells].reshape(sims, len(threshold))
    wins = draws < np.minimum(threshold, 65535).astype(np.uint16)  # compared as 16-bit: no copy
    wins[:, threshold == 65536] = True  # a certain win (65,535 would miss one draw in 65,536)
    return wins


CELLS_PER_CHUNK = 4_000_000  # simulations × deals drawn at once: ~50 MB of working arrays


def _simulate_all(history: dict, deals: pd.DataFrame, horizon, sims, seed, team_only=False):
    """Per deal of `deals` (open_presale_deals): its chances and expected revenue (exact) from
    `history` (stage_history); per simulation: the revenue of each manager (sims × managers;
    `team_only`: one column, the team's), summed over chunks of deals so memory stays flat."""
    if team_only:
        deals = deals.assign(owner="—")
    owners = np.array(sorted(deals["owner"].unique()), dtype=object)
    owner_index = np.searchsorted(owners, deals["owner"].to_numpy(object)) if len(deals) else np.zeros(0, int)
    by_owner = np.zeros((sims, len(owners)))
    in_horizon, p_now = np.full(len(deals), np.nan), np.full(len(deals), np.nan)
    all_amounts, all_waited = deals["amount"].to_numpy(float), deals["days_in_stage"].to_numpy(float)
    rng = np.random.default_rng(seed)
    chunk = max(1, CELLS_PER_CHUNK // max(sims, 1))
    for key, part in deals.groupby(["pipeline_id", "stage_id"], sort=True):
        rows = part.index.to_numpy()
        p_now[rows], in_horizon[rows] = history[key].chances(all_waited[rows], horizon)
        for begin in range(0, len(rows), chunk):
            at = rows[begin : begin + chunk]
            # each deal's amount in its manager's column: wins × that = each manager's revenue
            amounts = np.zeros((len(at), len(owners)))
            amounts[np.arange(len(at)), owner_index[at]] = all_amounts[at]
            by_owner += _wins(in_horizon[at], sims, rng).astype(float) @ amounts  # as float: BLAS
    # the stage's whole history, the same for every deal of the stage: one row per stage, joined
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
                "median_days_to_win": float(np.median(h.won_close)) if h.n_won else np.nan,
            }
            for key, h in history.items()
        ],
        columns=["pipeline_id", "stage_id", "n", "p_win", "p_win_low", "p_win_high", "median_days_to_win"],
    )
    per_deal = deals.assign(
        p_win_now=p_now, p_in_horizon=in_horizon, expected_revenue=all_amounts * in_horizon
    )
    per_deal = per_deal.merge(stages, on=["pipeline_id", "stage_id"])[
        ["deal_id", "title", "owner", "pipeline", "stage", "amount", "currency", "days_in_stage", "n",
         "p_win", "p_win_low", "p_win_high", "p_win_now", "p_in_horizon", "expected_revenue",
         "median_days_to_win"]
    ]  # fmt: skip
    return per_deal.reset_index(drop=True), by_owner, owners


def open_presale_deals(con, span: Window, presale: pd.DataFrame, pipeline, owner) -> pd.DataFrame:
    """The open deals at as_of that sit in a pre-sale stage, amounts unknown taken as 0."""
    open_deals = query(con, "metrics/open_deals", **span.params(pipeline, owner))
    deals = open_deals.merge(presale[["pipeline_id", "stage_id"]], on=["pipeline_id", "stage_id"])
    return deals.assign(
        amount=deals["amount"].fillna(0.0).astype(float), days_in_stage=deals["days_in_stage"].fillna(0.0)
    ).reset_index(drop=True)


def _summary(per_deal: pd.DataFrame, by_owner: np.ndarray, owners: np.ndarray, name=None) -> dict:
    """The team's (name None) or one manager's deals and simulated revenue: P10 / P50 / P90."""
    if name is None:
        deals, total = per_deal, by_owner.sum(axis=1)
    else:
        deals, total = per_deal[per_deal["owner"] == name], by_owner[:, list(owners).index(name)]
    q = np.percentile(total, QUANTILES) if len(total) else [np.nan] * 3
    return {
        "n_deals": len(deals),
        "pipeline_amount": stats.money_total(deals["amount"]),
        "weighted_pipeline": float((deals["amount"] * deals["p_win"].fillna(0)).sum()),
        "mean": float(total.mean()) if len(total) else np.nan,
        "p10": q[0],
        "p50": q[1],
        "p90": q[2],
    }


@metric(
    "Revenue forecast from open pre-sale deals: Monte Carlo P10/P50/P90 closing within the horizon, per "
    "manager and total, beside the naive weighted pipeline (amount × stage win rate, no timing)"
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
    history = stage_history(con, span, stages, pipeline)
    deals = open_presale_deals(con, span, stages, pipeline, owner)
    per_deal, by_owner, owners = _simulate_all(history, deals, horizon, int(sims), int(seed))
    rows = [{"level": "team", "name": "—", **_summary(per_deal, by_owner, owners)}]
    for name in owners:
        rows.append({"level": "owner", "name": name, **_summary(per_deal, by_owner, owners, name)})
    table = pd.DataFrame(rows)
    table["horizon_days"] = horizon
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
    "Backtest: the forecast made at past month starts against the revenue those deals actually "
    "brought within the horizon; error and whether P10–P90 covered it"
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
    """Forecast dates: the last `dates` month starts whose horizon has fully passed by as_of, and
    within the data (by the day after its latest event: a report for a month the data does not
    reach must not count a forecast wrong for what was never loaded). Each forecast sees only
    what was known then; the outcome is read at as_of."""
    span = window(as_of, period_start)
    end = data_end(con)
    known = span.as_of if end is None else min(span.as_of, end)
    last = (known - pd.Timedelta(days=horizon)).to_period("M").start_time
    starts = pd.date_range(end=last, periods=int(dates), freq="MS")
    # what was won from the first date on, read at as_of: each date's outcome (a day earlier when
    # the first date is as_of itself: a zero horizon on the first of a month)
    first = min(starts[0], span.as_of - pd.Timedelta(days=1))
    won = query(
        con,
        "metrics/won_deals",
        **window(span.as_of, first).params(pipeline, owner),
        columns=("deal_id", "closed_at", "amount"),
    ).set_index("deal_id")
    # the history every forecast date learns from, read once: the deals closed from the first
    # date's window on, as known at the last date (each date then keeps those closed before it)
    length = span.as_of - span.period_start
    stages = presale_stages(con, pipeline, presale)
    learned = closed_history(con, window(starts[-1], starts[0] - length), stages, pipeline)
    dated = [window(start, start - length) for start in starts]
    rows = []
    # the account as it stood at each date is read by one thread while this one simulates the
    # date before (only that thread uses the connection meanwhile): SQL and draws overlap
    with ThreadPoolExecutor(1) as reader:
        open_then = [reader.submit(open_presale_deals, con, then, stages, pipeline, owner) for then in dated]
        for start, then, deals in zip(starts, dated, open_then, strict=True):
            history = stage_history(con, then, stages, pipeline, learned)
            per_deal, by_owner, owners = _simulate_all(
                history, deals.result(), horizon, int(sims), int(seed), team_only=True
            )
            summary = _summary(per_deal, by_owner, owners)
            closed = won.reindex(per_deal["deal_id"])
            end = start + pd.Timedelta(days=horizon)
            in_time = (closed["closed_at"] >= start) & (closed["closed_at"] < end)
            actual = float(closed.loc[in_time.to_numpy(), "amount"].sum())
            rows.append(
                {
                    "forecast_at": start,
                    **summary,
                    "actual": actual,
                    "error": actual - summary["p50"],
                    "covered": summary["p10"] <= actual <= summary["p90"],
                }
            )
    table = pd.DataFrame(rows)
    table["horizon_days"] = horizon
    return table
