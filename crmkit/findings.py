"""Findings: rules over metric tables that produce ranked, evidence-backed statements.

Each rule returns Finding(impact, text), Finding.at_stake(amount, text) when the impact is money,
or nothing. The text is said with `say`, so a finding is
also data: `rule` (the statement's key, e.g. finding_stale) and `evidence` (the figures the text
quotes: n, interval, amount). Impact is the money (or deals) at stake, used only to order the list.
The reports show the text; the audit bundle reads the data (`report.findings` carries both).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmkit import localize, stats
from crmkit.i18n import LABELS, t
from crmkit.stats import SMALL_N


class Said(str):
    """A sentence in the report's language that remembers what it was said from."""

    key: str
    values: dict


def say(key: str, lang: str, **values) -> Said:
    said = Said(t(key, lang, **values))
    said.key, said.values = key, values
    return said


@dataclass(frozen=True)
class Finding:
    impact: float
    text: str
    money: bool = False  # impact is money at stake (reporting currency), not a severity score

    @classmethod
    def at_stake(cls, amount: float, text: str) -> Finding:
        return cls(amount, text, money=True)

    @property
    def rule(self) -> str:
        return getattr(self.text, "key", "")

    @property
    def evidence(self) -> dict:
        """The figures the sentence quotes, as plain JSON values."""
        values = getattr(self.text, "values", {})
        return {key: _plain(value) for key, value in values.items()}

    def as_data(self, rank: int) -> dict:
        return {"rank": rank, "rule": self.rule, "impact": _plain(self.impact), "money": self.money,
                "text": str(self.text), "evidence": self.evidence}  # fmt: skip


def _plain(value):
    """numpy scalars as Python numbers, non-finite as null, anything else as its text."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    return None if value is None else str(value)


def main_currency(frame: pd.DataFrame) -> str:
    """The most common currency of a table's deals ("" when it has none)."""
    return (
        str(frame["currency"].mode().iloc[0])
        if "currency" in frame and frame["currency"].notna().any()
        else ""
    )


def none_when_empty(rule):
    """A rule over an empty table (a window or filter with no deals) finds nothing."""

    @functools.wraps(rule)
    def wrapper(table, *args, **kwargs):
        if isinstance(table, pd.DataFrame) and table.empty:
            return []
        return rule(table, *args, **kwargs)

    return wrapper


def money(amount: float, currency: str, lang: str = "en") -> str:
    """An amount with its currency; an unknown amount says so (deals without amounts are not 0)."""
    if amount is None or not np.isfinite(amount):
        return t("amount_unknown", lang)
    return localize.money(amount, currency, lang)


def estimate(amount: float, currency: str, lang: str = "en") -> str:
    """A forecast amount to three significant figures (unknown says so)."""
    return money(localize.significant(amount) if amount is not None else None, currency, lang)


SLOWER_BY = 0.2  # a difference worth a manager's attention, not only a detectable one
# A yardstick under a day makes ratios meaningless ("688× as long" over stays of minutes, as an
# export whose saves share one instant gives): slowness is read against a median of a day or more.
MIN_YARDSTICK_DAYS = 1.0
# A rate this many points from the team's is a difference worth telling; "100% against the
# team's 100%" is not.
MIN_RATE_GAP = 0.05


@none_when_empty
def slow_owners(won_cycle: pd.DataFrame, lang: str = "en") -> list[Finding]:
    """Managers whose median won cycle is at least 20% above the team's, with the whole 95%
    interval above the team median (so the gap is both material and not chance)."""
    team = won_cycle.loc[won_cycle["level"] == "team", "median_days"].iloc[0]
    if not team >= MIN_YARDSTICK_DAYS:
        return []
    owners = won_cycle[(won_cycle["level"] == "owner") & (won_cycle["n"] >= SMALL_N)]
    slow = owners[(owners["median_days_low"] > team) & (owners["median_days"] >= team * (1 + SLOWER_BY))]
    return [
        Finding.at_stake(
            row.won_amount * (row.median_days / team - 1),
            say(
                "finding_slow_owner",
                lang,
                owner=row.name,
                median=row.median_days,
                low=row.median_days_low,
                high=row.median_days_high,
                n=int(row.n),
                team=team,
                excess=row.median_days / team - 1,
            ),
        )
        for row in slow.itertuples()
    ]


@none_when_empty
def stale(stale_deals: pd.DataFrame, lang: str = "en") -> list[Finding]:
    if stale_deals.empty:
        return []
    currency = main_currency(stale_deals)
    per_owner = (
        stale_deals.groupby("owner")["amount"]
        .agg(size="size", sum=stats.money_total)
        .sort_values(["sum", "size"], ascending=False)
    )
    top = per_owner.iloc[0]
    total = stats.money_total(stale_deals["amount"])
    return [
        Finding.at_stake(
            np.nan_to_num(total),
            say(
                "finding_stale",
                lang,
                n=len(stale_deals),
                amount=money(total, currency, lang),
                threshold=stale_deals["threshold_days"].iloc[0],
                top_owner=per_owner.index[0],
                top_n=int(top["size"]),
                top_amount=money(top["sum"], currency, lang),
            ),
        )
    ]


@none_when_empty
def stuck(stuck_deals: pd.DataFrame, lang: str = "en") -> list[Finding]:
    if stuck_deals.empty:
        return []
    by_stage = stuck_deals["stage"].value_counts()
    return [
        Finding.at_stake(
            np.nan_to_num(stats.money_total(stuck_deals["amount"])),
            say(
                "finding_stuck",
                lang,
                n=len(stuck_deals),
                stage=by_stage.index[0],
                stage_n=int(by_stage.iloc[0]),
            ),
        )
    ]


def losses(
    by_reason: pd.DataFrame, by_stage: pd.DataFrame, by_owner: pd.DataFrame, lang: str = "en"
) -> list[Finding]:
    """The reason most lost deals give, with the money they took and the stage most are lost at;
    each manager whose share of a reason differs from the rest of the team beyond noise."""
    given = by_reason[by_reason["reason"].notna()]
    if given.empty:
        return []
    top, total = given.iloc[0], int(by_reason["n"].sum())
    stage = by_stage[by_stage["stage"].notna()]
    found = [
        Finding.at_stake(
            np.nan_to_num(top["amount_lost"]),
            say(
                "finding_losses",
                lang,
                reason=top["reason"],
                n=int(top["n"]),
                total=total,
                share=top["share"],
                amount=money(top["amount_lost"], top["currency"], lang),
                stage=stage.iloc[0]["stage"] if len(stage) else "—",
                stage_n=int(stage.iloc[0]["n"]) if len(stage) else 0,
            ),
        )
    ]
    for row in by_owner[by_owner["is_different"]].itertuples():
        key = "finding_loss_owner_more" if row.share > row.team_share else "finding_loss_owner_less"
        found.append(
            Finding(
                float(row.n),
                say(key, lang, owner=row.owner, reason=row.reason, share=row.share, team=row.team_share,
                    n=int(row.n), of=int(row.n_owner_lost)),
            )
        )  # fmt: skip
    return found


@none_when_empty
def censoring_gap(won_cycle: pd.DataFrame, time_to_close: pd.DataFrame, lang: str = "en") -> list[Finding]:
    """When the won-only cycle and the all-deals picture tell different stories, say so."""
    won = won_cycle.loc[won_cycle["level"] == "team", "median_days"].iloc[0]
    team = time_to_close[time_to_close["level"] == "team"].iloc[0]
    if not (np.isfinite(won) and np.isfinite(team["median_days"]) and np.isfinite(team["won_by_90"])):
        return []
    return [
        Finding(0.0, say("finding_censoring", lang, won=won, km=team["median_days"], won90=team["won_by_90"]))
    ]


def ranked(*groups: list[Finding]) -> list[Finding]:
    return sorted((f for group in groups for f in group), key=lambda f: -f.impact)


@none_when_empty
def bottlenecks(stages: pd.DataFrame, flow: pd.DataFrame, lang: str = "en") -> list[Finding]:
    """Per pipeline, the open stage holding the largest share of cycle time, with its WIP trend."""
    found = []
    for pipeline, part in stages.groupby("pipeline"):
        top = part.sort_values("share_of_cycle", ascending=False).iloc[0]
        weeks = flow[(flow["pipeline"] == pipeline) & (flow["stage"] == top["stage"])].sort_values(
            "week_start"
        )
        before = int(weeks["wip"].iloc[-5]) if len(weeks) >= 5 else int(top["wip_now"])
        trend = t("wip_trend_up" if top["wip_now"] > before else "wip_trend_flat", lang, before=before)
        found.append(
            Finding.at_stake(
                top["wip_amount"],
                say(
                    "finding_bottleneck",
                    lang,
                    stage=top["stage"],
                    pipeline=pipeline,
                    share=top["share_of_cycle"],
                    median=top["median_days"],
                    low=top["median_days_low"],
                    high=top["median_days_high"],
                    n=int(top["n"]),
                    wip=int(top["wip_now"]),
                    amount=money(top["wip_amount"], top["currency"], lang).strip(),
                    trend=trend,
                ),
            )
        )
    return found


SLOWER_IN_STAGE = 1.5  # a manager's stays in a stage this many times the team's are worth a look


@none_when_empty
def slow_stage_owners(manager_stages: pd.DataFrame, lang: str = "en") -> list[Finding]:
    """Managers at least 1.5× the team's median stay in a stage with the interval above the
    team's; one finding per manager, citing the stage with the most money waiting."""
    if manager_stages.empty:
        return []
    slow = manager_stages[
        (manager_stages["n"] >= SMALL_N)
        & (manager_stages["team_median_days"] >= MIN_YARDSTICK_DAYS)
        & (manager_stages["ratio_to_team"] >= SLOWER_IN_STAGE)
        & (manager_stages["median_days_low"] > manager_stages["team_median_days"])
    ]
    found = []
    for owner, part in slow.groupby("owner"):
        row = part.sort_values(["wip_amount", "ratio_to_team"], ascending=False).iloc[0]
        total = manager_stages[manager_stages["owner"] == owner]["stage"].nunique()
        found.append(
            Finding.at_stake(
                float(part["wip_amount"].sum()),
                say(
                    "finding_slow_stage_owner",
                    lang,
                    owner=owner,
                    stage=row.stage,
                    ratio=row.ratio_to_team,
                    median=row.median_days,
                    low=row.median_days_low,
                    high=row.median_days_high,
                    n=int(row.n),
                    team=row.team_median_days,
                    k=len(part),
                    total=total,
                ),
            )
        )
    return found


@none_when_empty
def whatif(scenarios: pd.DataFrame, stages: pd.DataFrame, lang: str = "en") -> list[Finding]:
    """The what-if of each pipeline's bottleneck stage."""
    found = []
    for pipeline, part in stages.groupby("pipeline"):
        top = part.sort_values("share_of_cycle", ascending=False).iloc[0]
        match = scenarios[(scenarios["pipeline"] == pipeline) & (scenarios["stage"] == top["stage"])]
        if match.empty:
            continue
        row = match.iloc[0]
        found.append(
            Finding(
                0.0,
                say(
                    "finding_whatif",
                    lang,
                    reduction=row["reduction"],
                    stage=row["stage"],
                    cycle=row["cycle_days"],
                    new=row["new_cycle_days"],
                    gain=row["throughput_change"],
                    low=row["throughput_change_low"],
                    high=row["throughput_change_high"],
                    n=int(row["n"]),
                ),
            )
        )
    return found


@none_when_empty
def weak_conversions(
    conversion: pd.DataFrame, team_check: float, currency: str, lang: str = "en"
) -> list[Finding]:
    """Manager × stage conversions whose whole 95% interval lies below the team's rate."""
    team = conversion[conversion["level"] == "team"].set_index(["pipeline", "stage"])["conversion"]
    owners = conversion[(conversion["level"] == "owner") & (conversion["n"] >= SMALL_N)]
    yardstick = owners.set_index(["pipeline", "stage"]).index.map(team)
    weak = owners[
        (owners["conversion_high"] < yardstick) & (owners["conversion"] <= yardstick - MIN_RATE_GAP)
    ]
    return [
        Finding.at_stake(
            row.lost * (team_check if np.isfinite(team_check) else 0.0),
            say(
                "finding_weak_conversion",
                lang,
                owner=row.name,
                stage=row.stage,
                rate=row.conversion,
                low=row.conversion_low,
                high=row.conversion_high,
                n=int(row.n),
                team=team[(row.pipeline, row.stage)],
                lost=int(row.lost),
            ),
        )
        for row in weak.itertuples()
    ]


@none_when_empty
def managers_to_learn_from(scorecard: pd.DataFrame, won_cycle: pd.DataFrame, lang: str = "en") -> list:
    """The manager whose practice the team could copy, per measure: the best win rate, when it
    differs from the team's beyond chance (a binomial test against the team's rate, the false
    discovery rate held at 5% over the managers) and by a gap worth telling; the fastest won cycle,
    when its whole 95% interval lies below the team's median and it is at least 20% faster. Where
    no manager stands out, it says there is no clear leader rather than name one by chance."""
    return _learn_conversion(scorecard, lang) + _learn_speed(won_cycle, lang)


def _learn_conversion(scorecard: pd.DataFrame, lang: str) -> list[Finding]:
    from scipy.stats import binomtest

    team = scorecard[scorecard["level"] == "team"].iloc[0]["win_rate"]
    owners = scorecard[(scorecard["level"] == "owner") & (scorecard["n"] >= SMALL_N)]
    if len(owners) < 2 or not 0 < team < 1:
        return []
    p = [binomtest(int(row.n_won), int(row.n), team).pvalue for row in owners.itertuples()]
    sure, _ = stats.false_discovery(p, 0.05)
    better = owners[sure & (owners["win_rate"] >= team + MIN_RATE_GAP).to_numpy()]
    if better.empty:
        return [Finding(0.0, say("finding_no_leader_conversion", lang, team=team))]
    best = better.sort_values("win_rate").iloc[-1]
    said = say("finding_learn_conversion", lang, owner=best["name"], rate=best["win_rate"],
               low=best["win_rate_low"], high=best["win_rate_high"],
               n=int(best["n"]), team=team)  # fmt: skip
    return [Finding(0.5, said)]


def _learn_speed(won_cycle: pd.DataFrame, lang: str) -> list[Finding]:
    yardstick = won_cycle.loc[won_cycle["level"] == "team", "median_days"]
    owners = won_cycle[(won_cycle["level"] == "owner") & (won_cycle["n"] >= SMALL_N)]
    if yardstick.empty or not yardstick.iloc[0] >= MIN_YARDSTICK_DAYS or len(owners) < 2:
        return []
    team = yardstick.iloc[0]
    faster = owners[(owners["median_days_high"] < team) & (owners["median_days"] <= team * (1 - SLOWER_BY))]
    if faster.empty:
        return [Finding(0.0, say("finding_no_leader_speed", lang, by=SLOWER_BY, team=team))]
    best = faster.sort_values("median_days").iloc[0]
    said = say("finding_learn_speed", lang, owner=best["name"], median=best["median_days"],
               low=best["median_days_low"], high=best["median_days_high"],
               n=int(best["n"]), team=team)  # fmt: skip
    return [Finding(0.5, said)]


BEHIND_PACE = 0.8  # on course for less than 80% of the revenue plan


@none_when_empty
def behind_plan(scorecard: pd.DataFrame, currency: str, lang: str = "en") -> list[Finding]:
    """One finding naming every manager on course for less than 80% of the revenue plan."""
    behind = scorecard[(scorecard["level"] == "owner") & (scorecard["plan_revenue_pace"] < BEHIND_PACE)]
    if behind.empty:
        return []
    behind = behind.sort_values("plan_revenue_pace")
    names = ", ".join(
        f"{row.name} {localize.number(row.plan_revenue_pace, '.0%', lang)}" for row in behind.itertuples()
    )
    gap = float((behind["plan_revenue"] - behind["won_amount"]).clip(lower=0).sum())
    # a plan period that is over has a result, not a course: the pace is then what was done
    done = behind.get("plan_revenue_done")
    over = done is not None and bool(np.allclose(behind["plan_revenue_pace"], done, equal_nan=True))
    key = "finding_short_of_plan" if over else "finding_behind_plan"
    said = say(key, lang, names=names, gap=money(gap, currency, lang))
    return [Finding.at_stake(gap, said)]


@none_when_empty
def source_advice(sources: pd.DataFrame, currency: str, lang: str = "en") -> list[Finding]:
    """What to do about sources: cut or fix one whose mature-lead rate lies wholly below the rate
    of all sources (the revenue its leads would have brought at that rate is at stake), grow one
    whose rate lies wholly above it (what a lead from it brings against an average lead)."""
    overall = sources.iloc[0]
    average_lead = overall["mature_rate"] * overall["avg_check"]
    found = []
    for row in sources.iloc[1:].itertuples():
        if not (np.isfinite(row.mature_rate_low) and np.isfinite(row.avg_check)):
            continue
        values = dict(source=row.source, rate=row.mature_rate, low=row.mature_rate_low,
                      high=row.mature_rate_high, n=int(row.n_mature),
                      overall=overall["mature_rate"])  # fmt: skip
        if row.is_weak:
            at_stake = (overall["mature_rate"] - row.mature_rate) * row.n * row.avg_check
            found.append(Finding.at_stake(at_stake, say(
                "advice_weak_source", lang, **values, leads=int(row.n),
                amount=estimate(at_stake, currency, lang),
            )))  # fmt: skip
        elif row.mature_rate_low > overall["mature_rate"] and row.n_mature >= SMALL_N:
            per_lead = row.mature_rate * row.avg_check
            found.append(Finding.at_stake((per_lead - average_lead) * row.n, say(
                "advice_strong_source", lang, **values, per_lead=estimate(per_lead, currency, lang),
                average=estimate(average_lead, currency, lang),
            )))  # fmt: skip
    return found


@none_when_empty
def weak_sources(sources: pd.DataFrame, lang: str = "en") -> list[Finding]:
    """Sources whose mature-lead interval lies wholly below the overall rate, and the ones too
    young to judge (never called weak)."""
    overall = sources["mature_rate"].iloc[0]
    found = []
    for row in sources.iloc[1:].itertuples():
        if row.is_weak:
            lost_revenue = (
                (overall - row.mature_rate) * row.n * (row.avg_check if np.isfinite(row.avg_check) else 0)
            )
            found.append(
                Finding.at_stake(
                    lost_revenue,
                    say(
                        "finding_weak_source",
                        lang,
                        source=row.source,
                        rate=row.mature_rate,
                        low=row.mature_rate_low,
                        high=row.mature_rate_high,
                        n=int(row.n_mature),
                        overall=overall,
                        leads=int(row.n),
                    ),
                )
            )
        elif row.n >= SMALL_N and row.n_mature < SMALL_N:
            found.append(
                Finding(
                    0.0,
                    say(
                        "finding_young_source",
                        lang,
                        source=row.source,
                        n=int(row.n),
                        mature=int(row.n_mature),
                    ),
                )
            )
    return found


@none_when_empty
def forecast_summary(forecast: pd.DataFrame, currency: str, lang: str = "en") -> list[Finding]:
    team = forecast[forecast["level"] == "team"].iloc[0]
    if team["n_deals"] == 0:
        return []
    counts = {key: int(team[column]) for key, column in
              (("n", "n_deals"), ("unpriced", "n_unpriced"), ("unknown", "n_unknown"))}  # fmt: skip
    if not np.isfinite(team["p50"]):  # no deal with both an amount and a known chance: unknown, not 0
        text = say("finding_forecast_unknown", lang, n=counts["n"])
    else:
        text = say(
            "finding_forecast",
            lang,
            days=team["horizon_days"],
            n=counts["n"],
            p50=estimate(team["p50"], currency, lang),
            p10=estimate(team["p10"], currency, lang),
            p90=estimate(team["p90"], currency, lang),
            weighted=estimate(team["weighted_pipeline"], currency, lang),
        )
    for key, count in (("finding_forecast_unpriced", "unpriced"), ("finding_forecast_unfollowed", "unknown")):
        if counts[count]:
            text += " " + say(key, lang, **{count: counts[count]})
    return [Finding(0.0, text)]  # a statement of what to expect, not a problem: it follows the problems


@none_when_empty
def backtest_coverage(backtest: pd.DataFrame, currency: str, lang: str = "en") -> list[Finding]:
    """How often the calibrated range held what happened, with the Wilson interval and n; a
    backtest that could judge no date says it validates nothing."""
    if backtest.empty:
        return []
    judged = backtest[backtest["covered"].notna()]
    if judged.empty:
        return [Finding(0.0, say("finding_backtest_none", lang))]
    covered = int(judged["covered"].sum())
    low, high = stats.wilson(covered, len(judged))
    return [
        Finding(
            0.0,
            say(
                "finding_backtest",
                lang,
                covered=covered,
                dates=len(judged),
                share=covered / len(judged),
                low=low,
                high=high,
                error=estimate(float(judged["error"].median()), currency, lang),
            ),
        )
    ]


@none_when_empty
def adoption(
    effects: pd.DataFrame, roi: pd.DataFrame, goals: pd.DataFrame, lang: str = "en"
) -> list[Finding]:
    """The revenue effect with seasonality controlled beside the naive figure, ROI and payback,
    and the weighted goal attainment."""
    found = []
    revenue = effects.set_index("metric").loc["revenue"]
    spans = _inconclusive(revenue["segmented_low"], revenue["segmented_high"])
    effect_key = "finding_adoption_effect" + spans
    found.append(
        Finding(
            1.0,
            say(
                effect_key,
                lang,
                metric=t("revenue", lang).lower(),
                effect=revenue["segmented"],
                low=revenue["segmented_low"],
                high=revenue["segmented_high"],
                naive=revenue["naive"],
            ),
        )
    )
    row = roi.iloc[0]
    payback = f"{row['payback_month']:.0f}" if np.isfinite(row["payback_month"]) else "—"
    found.append(
        Finding(
            0.5,
            say(
                "finding_roi" + _inconclusive(row["roi_low"], row["roi_high"]),
                lang,
                roi=row["roi"],
                low=row["roi_low"],
                high=row["roi_high"],
                gain=money(row["incremental_gross_profit"], row["currency"], lang),
                cost=money(row["total_cost"], row["currency"], lang),
                payback=payback,
                share=row["share_paid_back"],
            ),
        )
    )
    weighted = goals[goals["goal"] == "—weighted—"]
    if len(weighted):
        found.append(Finding(0.0, say("finding_goals", lang, score=weighted["attainment"].iloc[0])))
    return found


def _inconclusive(low: float, high: float) -> str:
    """An interval that spans zero is no result: such an estimate is said as inconclusive."""
    return "_inconclusive" if low <= 0 <= high else ""


def _p(value: float, lang: str = "en") -> str:
    """A p-value in a sentence: "p < 0.001", «p = 0,023»."""
    shown = localize.p_value(value, lang)
    return f"p {shown}" if shown.startswith("<") else f"p = {shown}"


@none_when_empty
def weekly_advice(
    balance: pd.DataFrame, flags: pd.DataFrame, missed: pd.DataFrame, response: pd.DataFrame, lang: str = "en"
) -> list[Finding]:
    """The seed's advice block: problem, what to do, what it affects, the ratio behind it."""
    found = []
    last = balance.iloc[-1]
    if last["diagnosis"]:
        key = "advice_clog" if last["diagnosis"] == "clog" else "advice_shortage"
        found.append(
            Finding(
                3.0,
                t(
                    key,
                    lang,
                    ratio=last["state_balance"],
                    k=int(last["weeks_in_state"]),
                    leads=int(last["state_leads"]),
                    closes=int(last["state_closes"]),
                    tol=last["tolerance"],
                ),
            )
        )
    for row in flags.itertuples():
        if row.is_fall:
            found.append(
                Finding(
                    2.0 + abs(row.change),
                    say(
                        "advice_fall",
                        lang,
                        name=row.name,
                        change=-row.change,
                        before=row.baseline,
                        now=row.activities,
                    ),  # fmt: skip
                )
            )
        elif row.is_low:
            found.append(
                Finding(
                    1.5,
                    say(
                        "advice_low",
                        lang,
                        name=row.name,
                        now=row.activities,
                        ratio=row.ratio_to_median,
                        median=row.team_median,
                    ),  # fmt: skip
                )
            )
    team = missed[missed["level"] == "team"].iloc[0]
    if team["n"] and team["missed_share"] > 0.15:
        hours = missed[(missed["level"] == "hour") & (missed["n"] >= SMALL_N)]
        worst = int(hours.sort_values("missed_share").iloc[-1]["name"]) if len(hours) else 0
        found.append(
            Finding(
                1.0,
                say(
                    "advice_missed",
                    lang,
                    share=team["missed_share"],
                    low=team["missed_share_low"],
                    high=team["missed_share_high"],
                    n=int(team["n"]),
                    hour=worst,
                ),
            )
        )
    lead = response[response["level"] == "team"].iloc[0]
    if np.isfinite(lead["median_minutes"]) and lead["median_minutes"] > 15:
        found.append(
            Finding(
                1.0,
                say(
                    "advice_response",
                    lang,
                    median=lead["median_minutes"],
                    low=lead["median_minutes_low"],
                    high=lead["median_minutes_high"],
                    n=int(lead["n"]),
                    within=lead["within_15m"],
                ),
            )
        )
    return found


_ROW_OF_TABLE = re.compile(r"\b([a-z_]+) row (\d+)")
_RECORD = re.compile(r"\b(deal|activity) (\S+?)(?=,|$)")


def examples(text: str, lang: str = "en") -> str:
    """Example ids as the reader's language names them: the audit's "deals row 3003" (a row of a
    loaded file) becomes «Сделки, строка 3003» in Russian."""
    if lang == "en":
        return text

    def named(match: re.Match) -> str:
        key = f"table_{match[1]}"
        return t("row_of_table", lang, table=t(key, lang) if key in LABELS else match[1], row=match[2])

    def record(match: re.Match) -> str:
        return t(f"example_{match[1]}", lang, id=match[2])

    return _RECORD.sub(record, _ROW_OF_TABLE.sub(named, text))


# The loader's reasons for a rejected row (crmkit.importers.base), in Russian: the shapes of the
# message with the column, value or table kept as they are (names from the data).
_REASONS_RU = [
    (r"duplicate key \((.+?)\) within the file", r"повтор ключа (\1) в файле"),
    (r"^(.+?): (.*?): cannot read as a date and time from 1970 to 2100$",
     r"\1: «\2» не читается как дата и время в 1970–2100 гг."),
    (r"^(.+?): (.*?): cannot read as a date from 1970 to 2100$",
     r"\1: «\2» не читается как дата в 1970–2100 гг."),
    (r"^(.+?): (.*?): cannot read as a whole number up to 2147483647$",
     r"\1: «\2» не читается как целое число до 2147483647"),
    (r"^(.+?): (.*?): cannot read as a number$", r"\1: «\2» не читается как число"),
    (r"^(.+?): (.*?): cannot read as yes/no$", r"\1: «\2» не читается как да/нет"),
    (r"^(.+?): (.*?): not one of (.+)$", r"\1: «\2» — не из списка \3"),
    (r"^(.+?): (.*?): below (.+)$", r"\1: «\2» меньше \3"),
    (r"^(.+?) is missing$", r"нет значения \1"),
    (r"^(.+?) not found in (.+)$", r"\1 нет в \2"),
    (r"^(.+?) repeats an earlier row: only the first is joined$",
     r"\1 повторяет более раннюю строку: взята первая"),
    (r"^a totals row \((.*)\), not a record$", r"строка итогов (\1), не запись"),
    (r"^deleted in (.+)$", r"удалена в \1"),
    (r"^(.+?): not a stage change$", r"\1: не смена этапа"),
    (r"^no stage change: a save of amount, probability or close date$",
     "не смена этапа: сохранены сумма, вероятность или дата закрытия"),
    (r"^legacy date entered: the v2 property gives this stage entry$",
     "старое свойство даты входа: вход в этап даёт свойство v2"),
]  # fmt: skip


def reason(text: str | None, lang: str = "en") -> str | None:
    """A rejected row's reason (several joined by "; ") in the reader's language; a shape not
    listed stays as the loader wrote it."""
    if lang == "en" or not isinstance(text, str):
        return text
    parts = []
    for part in str(text).split("; "):
        for pattern, russian in _REASONS_RU:
            if re.search(pattern, part):
                part = re.sub(pattern, russian, part)
                break
        parts.append(part)
    return "; ".join(parts)


@none_when_empty
def audit(checks: pd.DataFrame, trust: pd.DataFrame, lang: str = "en") -> list[Finding]:
    """Every check that found something, by the share of deals it touches, and every metric
    family that is not well supported."""
    found = [
        Finding(
            float(row.share),
            say(
                "finding_audit",
                lang,
                check=t(row.check_name, lang),
                n=int(row.found),
                share=row.share,
                basis=t(f"basis_{row.basis_unit}", lang),
                examples=examples(row.examples, lang),
            ),
        )
        for row in checks.itertuples()
        if row.found > 0
    ]
    found += [
        Finding(
            2.0,
            say(
                "finding_trust",
                lang,
                family=t(row.family, lang),
                share=row.share,
                supported=int(row.supported),
                basis=int(row.basis),
                verdict=t(row.verdict, lang),
            ),
        )
        for row in trust.itertuples()
        if row.verdict != "good"
    ]
    return found
