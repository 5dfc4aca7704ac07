"""Why deals are lost (METRICS.md §8) on a hand-built account whose every figure is counted in
the comments. Pipeline P: A → B → Won | Lost. Анна loses 12 deals at B for «Дорого» in January
(100 ₽ each) and one at A with no reason and no amount; Борис loses 12 at B for «Нет бюджета» in
February (200 ₽ each) and wins 3 that month."""

import math

import pandas as pd
import pytest

from crmkit import metrics

AS_OF = "2026-03-01"


def account():
    deals = ["deal_id,pipeline_id,stage_id,amount,currency,owner_id,created_at,closed_at,loss_reason"]
    changes = ["deal_id,pipeline_id,stage_id,entered_at"]
    for i in range(12):
        deals.append(f"a{i},P,L,100,RUB,u1,2026-01-02 00:00:00,2026-01-{10 + i} 00:00:00,Дорого")
        changes += [
            f"a{i},P,A,2026-01-02 00:00:00",
            f"a{i},P,B,2026-01-05 00:00:00",
            f"a{i},P,L,2026-01-{10 + i} 00:00:00",
        ]
        deals.append(f"b{i},P,L,200,RUB,u2,2026-02-01 00:00:00,2026-02-{10 + i} 00:00:00,Нет бюджета")
        changes += [
            f"b{i},P,A,2026-02-01 00:00:00",
            f"b{i},P,B,2026-02-03 00:00:00",
            f"b{i},P,L,2026-02-{10 + i} 00:00:00",
        ]
    deals.append("a99,P,L,,RUB,u1,2026-01-03 00:00:00,2026-01-20 00:00:00,")
    changes += ["a99,P,A,2026-01-03 00:00:00", "a99,P,L,2026-01-20 00:00:00"]
    for i in range(3):
        deals.append(f"w{i},P,W,500,RUB,u2,2026-02-01 00:00:00,2026-02-2{i} 00:00:00,")
        changes += [f"w{i},P,A,2026-02-01 00:00:00", f"w{i},P,W,2026-02-2{i} 00:00:00"]
    return {
        "pipelines": "pipeline_id,name\nP,Main\n",
        "stages": "pipeline_id,stage_id,name,position,kind\n"
        "P,A,A,1,open\nP,B,B,2,open\nP,W,Won,3,won\nP,L,Lost,4,lost\n",
        "users": "user_id,name\nu1,Анна\nu2,Борис\n",
        "deals": "\n".join(deals) + "\n",
        "stage_changes": "\n".join(changes) + "\n",
    }


@pytest.fixture
def con(make_db):
    return make_db(account())[0]


def test_losses_by_reason(con):
    table = metrics.losses_by(con, as_of=AS_OF).set_index(
        metrics.losses_by(con, as_of=AS_OF)["reason"].fillna("—")
    )
    # 25 lost: 12 + 12 with a reason, 1 without (shown last)
    assert list(table.index) == ["Дорого", "Нет бюджета", "—"]
    assert table.loc["Дорого", "n"] == 12 and table.loc["Дорого", "share"] == pytest.approx(12 / 25)
    assert table.loc["Дорого", "amount_lost"] == 1200  # 12 × 100
    assert table.loc["Нет бюджета", "amount_lost"] == 2400  # 12 × 200
    assert table.loc["Дорого", "top_stage"] == "B" and table.loc["Дорого", "top_stage_n"] == 12
    # the deal without an amount: money lost unknown, not 0; lost from A
    assert math.isnan(table.loc["—", "amount_lost"]) and table.loc["—", "n_priced"] == 0
    assert table.loc["—", "top_stage"] == "A"


def test_losses_by_stage_and_owner(con):
    stages = metrics.losses_by(con, as_of=AS_OF, by="stage").set_index("stage")
    assert stages.loc["B", "n"] == 24 and stages.loc["B", "amount_lost"] == 3600
    assert stages.loc["A", "n"] == 1 and pd.isna(stages.loc["A", "top_reason"])  # no reason given
    owners = metrics.losses_by(con, as_of=AS_OF, by="owner").set_index("owner")
    assert owners.loc["Анна", "n"] == 13 and owners.loc["Борис", "n"] == 12
    # under the owner filter only that manager's losses count
    only = metrics.losses_by(con, as_of=AS_OF, owner="Борис")
    assert list(only["reason"]) == ["Нет бюджета"] and only["share"].iloc[0] == 1.0


def test_loss_rate_by_month(con):
    months = metrics.loss_rate_by_month(con, as_of=AS_OF).set_index("month")
    jan, feb = months.iloc[0], months.iloc[1]
    assert (jan["n"], jan["n_lost"], jan["loss_rate"]) == (13, 13, 1.0)  # Анна's 13, nothing won
    assert (feb["n"], feb["n_lost"]) == (15, 12) and feb["loss_rate"] == pytest.approx(0.8)
    # Wilson 95% for 12 of 15: centre (0.8 + 1.92/15) / (1 + 3.84/15) = 0.739, half-width 0.191
    assert feb["loss_rate_low"] == pytest.approx(0.548, abs=1e-3)
    assert feb["loss_rate_high"] == pytest.approx(0.930, abs=1e-3)
    assert feb["top_reason"] == "Нет бюджета" and feb["top_reason_n"] == 12


def test_reasons_that_differ_between_managers(con):
    table = metrics.loss_reasons_by_owner(con, as_of=AS_OF).set_index(["owner", "reason"])
    # Анна: all 12 of her reasoned losses «Дорого», the rest of the team 0 of 12: Fisher's exact
    # p = 2 / C(24, 12) = 2 / 2,704,156 = 7.4e-7 — beyond noise after Benjamini–Hochberg
    row = table.loc[("Анна", "Дорого")]
    assert (row["n"], row["n_owner_lost"], row["share"], row["team_share"]) == (12, 12, 1.0, 0.0)
    assert row["p"] == pytest.approx(2 / math.comb(24, 12))
    assert row["is_different"]
    assert table.loc[("Борис", "Нет бюджета"), "is_different"]


def test_no_difference_on_evenly_spread_reasons(make_db):
    tables = account()
    # Борис's losses get Анна's reason: both managers lose only for «Дорого», nothing differs
    tables["deals"] = tables["deals"].replace("Нет бюджета", "Дорого")
    con = make_db(tables)[0]
    table = metrics.loss_reasons_by_owner(con, as_of=AS_OF)
    assert len(table) == 2 and not table["is_different"].any()


def test_loss_reasons_on_the_sample_equal_an_independent_count(sample_db):
    """The sample's lost deals of the 12 months before 1 November 2026, counted with pandas
    from the generator's own tables (not the database): per reason, per stage lost from and per
    manager, the count and the money lost."""
    from crmkit import sample
    from crmkit.db import connect

    tables = {name: frame.astype({c: str for c in frame.columns if c.endswith("_id")})
              for name, frame in sample.generate(3000).items()}  # fmt: skip
    deals, stages, changes = tables["deals"], tables["stages"], tables["stage_changes"]
    users = tables["users"]
    deals = deals.drop_duplicates("deal_id")  # the planted repeated row is rejected by the load
    kinds = stages.set_index(["pipeline_id", "stage_id"])["kind"]

    def is_lost(frame):
        return [kinds.get(key) == "lost" for key in zip(frame["pipeline_id"], frame["stage_id"], strict=True)]

    deals = deals[is_lost(deals)]
    lost = deals[(deals["closed_at"] >= "2025-11-01") & (deals["closed_at"] < "2026-11-01")].copy()
    # the stage each was lost from: the stage entered just before its entry into the lost stage
    ordered = changes.sort_values(["deal_id", "entered_at"])
    ordered["before"] = ordered.groupby("deal_id")["stage_id"].shift()
    into_lost = ordered[is_lost(ordered)]
    names = stages.set_index(["pipeline_id", "stage_id"])["name"]
    before = into_lost.groupby("deal_id").last()
    pairs = zip(lost["deal_id"], lost["pipeline_id"], strict=True)
    lost["stage"] = [names.get((pipeline, before["before"].get(deal))) for deal, pipeline in pairs]
    lost["owner"] = lost["owner_id"].map(users.set_index("user_id")["name"])
    con = connect(sample_db, read_only=True)
    for by, column in (("reason", "loss_reason"), ("stage", "stage"), ("owner", "owner")):
        ours = metrics.losses_by(con, as_of="2026-11-01", by=by).set_index(by)
        theirs = lost.groupby(column).agg(n=("deal_id", "size"), amount=("amount", "sum"))
        assert ours["n"].sum() == len(lost)
        for value, row in theirs.iterrows():
            assert ours.loc[value, "n"] == row["n"], (by, value)
            assert ours.loc[value, "amount_lost"] == pytest.approx(row["amount"]), (by, value)
