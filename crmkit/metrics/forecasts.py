"""METRICS.md §5, second half: the revenue forecast from pre-sale (late-stage) deals.

Each open pre-sale deal that has sat d days in its stage is compared with the closed deals of
the window whose stay in that stage also lasted at least d days — not with a typed-in stage
probability: it is won with their win rate, drawn in every simulation from its Beta posterior
(uniform prior), so thin history widens the range; a winner closes after the time one of those
won deals still needed, drawn at random. A deal that has waited longer than any won deal did
cannot close won within the horizon. Revenue closing within the horizon is summed per
simulation: P10 / P50 / P90.
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


def stage_history(con, span: Window, presale: pd.DataFrame, pipeline=None, owner=None) -> dict:
    """Per pre-sale stage, over the deals closed in the window: how long their last stay in the
    stage lasted and how many days from entering it they needed to close, won and lost apart."""
    outcomes = query(con, "metrics/stage_outcomes", **span.params(pipeline, None))
    closed = outcomes[outcomes["status"].isin(["won", "lost"]) & (outcomes["closed_at"] >= span.period_start)]
    history = {}
    for stage in presale.itertuples():
        part = closed[(closed["pipeline_id"] == stage.pipeline_id) & (closed["stage_id"] == stage.stage_id)]
        won, lost = part[part["status"] == "won"], part[part["status"] == "lost"]
        history[(stage.pipeline_id, stage.stage_id)] = {
            "won_stay": won["last_stay_days"].to_numpy(float),
            "won_close": won["days_to_close"].clip(lower=0).to_numpy(float),
            "lost_stay": lost["last_stay_days"].to_numpy(float),
        }
    return history


def simulate_revenue(
    amounts, waited, won_stay, won_close, lost_stay, *, horizon: float, sims: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Monte Carlo of the open deals of one stage: (revenue closing won within `horizon`, shape
    sims × deals; each deal's posterior mean win probability given its wait)."""
    amounts, waited = np.asarray(amounts, dtype=float), np.asarray(waited, dtype=float)
    won_stay, won_close, lost_stay = (np.asarray(a, dtype=float) for a in (won_stay, won_close, lost_stay))
    revenue = np.zeros((sims, len(amounts)))
    p_now = np.zeros(len(amounts))
    for j, (amount, d) in enumerate(zip(amounts, waited, strict=True)):
        alike_won = won_stay >= d  # history that was still in the stage after d days
        n_won, n_lost = int(alike_won.sum()), int((lost_stay >= d).sum())
        p_now[j] = (n_won + 1) / (n_won + n_lost + 2)
        if n_won == 0:
            continue  # no won deal ever waited this long: no winning close time to draw
        p = rng.beta(n_won + 1, n_lost + 1, size=sims)
        wins = rng.random(sims) < p
        remaining = rng.choice(won_close[alike_won], size=sims) - d
        revenue[:, j] = np.where(wins & (remaining <= horizon), amount, 0.0)
    return revenue, p_now


def _simulate_all(con, span: Window, pipeline, owner, presale_stage_names, horizon, sims, seed):
    presale = presale_stages(con, pipeline, presale_stage_names)
    history = stage_history(con, span, presale, pipeline, owner)
    open_deals = query(con, "metrics/open_deals", **span.params(pipeline, owner))
    deals = open_deals.merge(presale[["pipeline_id", "stage_id"]], on=["pipeline_id", "stage_id"])
    deals = deals.assign(
        amount=deals["amount"].fillna(0.0).astype(float), days_in_stage=deals["days_in_stage"].fillna(0.0)
    ).reset_index(drop=True)
    rng = np.random.default_rng(seed)
    revenue = np.zeros((sims, len(deals)))
    rows = []
    for (pipeline_id, stage_id), part in deals.groupby(["pipeline_id", "stage_id"], sort=True):
        hist = history[(pipeline_id, stage_id)]
        sim, p_now = simulate_revenue(
            part["amount"],
            part["days_in_stage"],
            hist["won_stay"],
            hist["won_close"],
            hist["lost_stay"],
            horizon=horizon,
            sims=sims,
            rng=rng,
        )
        revenue[:, part.index] = sim
        n_won, n_lost = len(hist["won_stay"]), len(hist["lost_stay"])
        low, high = stats.wilson(n_won, n_won + n_lost)
        for j, (_, deal) in enumerate(part.iterrows()):
            rows.append(
                {
                    "deal_id": deal["deal_id"],
                    "title": deal["title"],
                    "owner": deal["owner"],
                    "pipeline": deal["pipeline"],
                    "stage": deal["stage"],
                    "amount": deal["amount"],
                    "currency": deal["currency"],
                    "days_in_stage": deal["days_in_stage"],
                    "n": n_won + n_lost,
                    "p_win": n_won / (n_won + n_lost) if n_won + n_lost else np.nan,
                    "p_win_low": low,
                    "p_win_high": high,
                    "p_win_now": p_now[j],
                    "p_in_horizon": float((sim[:, j] > 0).mean()) if deal["amount"] > 0 else np.nan,
                    "expected_revenue": float(sim[:, j].mean()),
                    "median_days_to_win": float(np.median(hist["won_close"])) if n_won else np.nan,
                }
            )
    per_deal = pd.DataFrame(
        rows,
        columns=[
            "deal_id",
            "title",
            "owner",
            "pipeline",
            "stage",
            "amount",
            "currency",
            "days_in_stage",
            "n",
            "p_win",
            "p_win_low",
            "p_win_high",
            "p_win_now",
            "p_in_horizon",
            "expected_revenue",
            "median_days_to_win",
        ],
    )
    order = deals["deal_id"].tolist()
    per_deal = per_deal.set_index("deal_id").loc[order].reset_index() if len(per_deal) else per_deal
    return per_deal, revenue


def _summary(per_deal: pd.DataFrame, revenue: np.ndarray, mask) -> dict:
    chosen = revenue[:, np.asarray(mask)]
    total = chosen.sum(axis=1)
    deals = per_deal[np.asarray(mask)]
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
    per_deal, revenue = _simulate_all(con, span, pipeline, owner, presale, horizon, int(sims), int(seed))
    rows = [{"level": "team", "name": "—", **_summary(per_deal, revenue, np.ones(len(per_deal), bool))}]
    for name in sorted(per_deal["owner"].unique()):
        rows.append(
            {"level": "owner", "name": name, **_summary(per_deal, revenue, per_deal["owner"] == name)}
        )
    table = pd.DataFrame(rows)
    table["horizon_days"] = horizon
    # the deals behind it, from the same simulation (forecast_deals alone would run it again)
    table.attrs["deals"] = per_deal.sort_values("expected_revenue", ascending=False, ignore_index=True)
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
    rows = []
    for start in starts:
        then = window(start, start - (span.as_of - span.period_start))
        per_deal, revenue = _simulate_all(con, then, pipeline, owner, presale, horizon, int(sims), int(seed))
        summary = _summary(per_deal, revenue, np.ones(len(per_deal), bool))
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
