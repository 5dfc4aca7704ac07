"""METRICS.md §5, second half: the revenue forecast from pre-sale (late-stage) deals.

Each open pre-sale deal that has sat d days in its stage is compared with the closed deals of
the window whose stay in that stage also lasted at least d days — not with a typed-in stage
probability: it is won with their win rate (the mean of its Beta posterior, uniform prior; the
stage rate's own uncertainty is the Wilson interval beside it); a winner closes after the time
one of those won deals still needed, drawn at random. A deal that has waited longer than any won
deal did cannot close won within the horizon. Revenue closing within the horizon is summed per
simulation: P10 / P50 / P90. The simulation is vectorised over deals and simulations, in chunks,
so a million-deal account needs neither a loop per deal nor a sims × deals matrix in memory.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmkit import stats
from crmkit.db import query
from crmkit.errors import CrmkitError
from crmkit.metrics.core import Window, metric, window

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


def closed_history(con, span: Window, presale: pd.DataFrame, pipeline=None) -> pd.DataFrame:
    """The stays in the pre-sale stages of the deals closed in the window (stage_outcomes.sql)."""
    keys = [f"{stage.pipeline_id}/{stage.stage_id}" for stage in presale.itertuples()]
    return query(con, "metrics/stage_outcomes", **span.params(pipeline, None), stages=keys)


def stage_history(con, span: Window, presale: pd.DataFrame, pipeline=None, closed=None) -> dict:
    """Per pre-sale stage, over the deals closed in the window: how long their last stay in the
    stage lasted and how many days from entering it they needed to close, won and lost apart.
    `closed`: closed_history over a longer span, read once (the backtest), cut to this window."""
    if closed is None:
        closed = closed_history(con, span, presale, pipeline)
    else:
        closed = closed[(closed["closed_at"] >= span.period_start) & (closed["closed_at"] < span.as_of)]
    history = {}
    for stage in presale.itertuples():
        part = closed[(closed["pipeline_id"] == stage.pipeline_id) & (closed["stage_id"] == stage.stage_id)]
        won, lost = part[part["status"] == "won"], part[part["status"] == "lost"]
        history[(stage.pipeline_id, stage.stage_id)] = StageHistory(
            won["last_stay_days"], won["days_to_close"].clip(lower=0), lost["last_stay_days"]
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


def _draw(history: StageHistory, amounts, waited, horizon: float, sims: int, rng) -> tuple:
    """Revenue of each deal in each simulation (sims × deals) and its posterior mean win chance.

    A deal is won with probability p drawn from Beta(won alike + 1, lost alike + 1); drawn anew
    for every deal and simulation, the indicator "won" is exactly Bernoulli(the Beta mean), so
    that is what is drawn. A winner closes after the time a won deal alike still needed, drawn
    at random from that prefix of the sorted history."""
    n_won, n_lost = history.alike(waited)
    p_now = (n_won + 1) / (n_won + n_lost + 2)
    wins = rng.random((sims, len(amounts))) < p_now
    pick = np.minimum((rng.random((sims, len(amounts))) * n_won).astype(np.int64), np.maximum(n_won - 1, 0))
    close = history.won_close[pick] if history.n_won else np.zeros((sims, len(amounts)))
    timely = (n_won > 0) & (close - waited <= horizon)
    return np.where(wins & timely, amounts, 0.0), p_now


def simulate_revenue(
    amounts, waited, won_stay, won_close, lost_stay, *, horizon: float, sims: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Monte Carlo of the open deals of one stage: (revenue closing won within `horizon`, shape
    sims × deals; each deal's posterior mean win probability given its wait)."""
    history = StageHistory(won_stay, won_close, lost_stay)
    return _draw(history, np.asarray(amounts, float), np.asarray(waited, float), horizon, sims, rng)


CELLS_PER_CHUNK = 4_000_000  # simulations × deals drawn at once: ~100 MB of working arrays


def _simulate_all(con, span: Window, pipeline, owner, presale_stage_names, horizon, sims, seed, closed=None):
    """Per deal: its chances and expected revenue; per simulation: the revenue of the team and of
    each manager (sims × managers), accumulated over chunks of deals so memory stays flat."""
    presale = presale_stages(con, pipeline, presale_stage_names)
    history = stage_history(con, span, presale, pipeline, closed)
    deals = open_presale_deals(con, span, presale, pipeline, owner)
    owners = np.array(sorted(deals["owner"].unique()), dtype=object)
    owner_index = np.searchsorted(owners, deals["owner"].to_numpy(object)) if len(deals) else np.zeros(0, int)
    by_owner = np.zeros((sims, len(owners)))
    expected, in_horizon, p_now = (np.full(len(deals), np.nan) for _ in range(3))
    all_amounts, all_waited = deals["amount"].to_numpy(float), deals["days_in_stage"].to_numpy(float)
    rng = np.random.default_rng(seed)
    chunk = max(1, CELLS_PER_CHUNK // max(sims, 1))
    for key, part in deals.groupby(["pipeline_id", "stage_id"], sort=True):
        rows = part.index.to_numpy()
        for begin in range(0, len(rows), chunk):
            at = rows[begin : begin + chunk]
            amounts = all_amounts[at]
            revenue, p_now[at] = _draw(history[key], amounts, all_waited[at], horizon, sims, rng)
            expected[at] = revenue.mean(axis=0)
            in_horizon[at] = np.where(amounts > 0, (revenue > 0).mean(axis=0), np.nan)
            managers = np.zeros((len(at), len(owners)))
            managers[np.arange(len(at)), owner_index[at]] = 1.0
            by_owner += revenue @ managers  # each manager's revenue per simulation
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
    per_deal = deals.assign(p_win_now=p_now, p_in_horizon=in_horizon, expected_revenue=expected)
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
    per_deal, by_owner, owners = _simulate_all(
        con, span, pipeline, owner, presale, horizon, int(sims), int(seed)
    )
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
    """Forecast dates: the last `dates` month starts whose horizon has fully passed by as_of.
    Each forecast sees only what was known then; the outcome is read at as_of."""
    span = window(as_of, period_start)
    last = (span.as_of - pd.Timedelta(days=horizon)).to_period("M").start_time
    starts = pd.date_range(end=last, periods=int(dates), freq="MS")
    outcome = query(con, "metrics/closed_deals", **window(span.as_of, "1900-01-01").params(pipeline, owner))
    won = outcome[outcome["status"] == "won"].set_index("deal_id")
    # the history every forecast date learns from, read once: the deals closed from the first
    # date's window on, as known at the last date (each date then keeps those closed before it)
    length = span.as_of - span.period_start
    learned = closed_history(
        con, window(starts[-1], starts[0] - length), presale_stages(con, pipeline, presale), pipeline
    )
    rows = []
    for start in starts:
        then = window(start, start - length)
        per_deal, by_owner, owners = _simulate_all(
            con, then, pipeline, owner, presale, horizon, int(sims), int(seed), learned
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
