"""Repeat business (METRICS.md §9) on a hand-built account; as_of 2026-03-01, the window the 12
months before. Won deals: C1 by Анна 2025-01-10 (its first purchase), by Борис 2025-06-01 and by
Анна 2026-02-10 (300 ₽); C2 by Анна 2025-03-01 (its only one); C3 by Борис 2026-01-15. Every
other amount 100 ₽. A deal without a client (d9) is in no client's history."""

import math

import pytest

from crmkit import metrics

AS_OF = "2026-03-01"
WON = [
    ("d1", "u1", "C1", 100, "2025-01-10"),
    ("d2", "u2", "C1", 100, "2025-06-01"),
    ("d3", "u1", "C1", 300, "2026-02-10"),
    ("d4", "u1", "C2", 100, "2025-03-01"),
    ("d5", "u2", "C3", 100, "2026-01-15"),
    ("d9", "u2", "", 500, "2025-09-01"),
]


@pytest.fixture
def con(make_db):
    deals = ["deal_id,pipeline_id,stage_id,amount,currency,owner_id,client,created_at,closed_at"]
    deals += [f"{d},P,W,{amount},RUB,{owner},{client},{day} 00:00:00,{day} 12:00:00"
              for d, owner, client, amount, day in WON]  # fmt: skip
    return make_db({
        "pipelines": "pipeline_id,name\nP,Main\n",
        "stages": "pipeline_id,stage_id,name,position,kind\nP,A,A,1,open\nP,W,Won,2,won\nP,L,Lost,3,lost\n",
        "users": "user_id,name\nu1,Анна\nu2,Борис\n",
        "deals": "\n".join(deals) + "\n",
    })[0]  # fmt: skip


def test_repeat_business_of_the_team(con):
    team = metrics.repeat_business(con, as_of=AS_OF).set_index("level").loc["team"]
    # in the window (2025-03-01 … 2026-03-01): d4 (C2's first), d2 and d3 (C1 again), d5 (C3's
    # first); d1 is before it, d9 names no client
    assert (team["n"], team["n_repeat"], team["repeat_share"]) == (4, 2, 0.5)
    # revenue 100 + 100 + 300 + 100 = 600, of it from returning clients 100 + 300 = 400
    assert (team["revenue"], team["repeat_revenue"]) == (600, 400)
    assert team["repeat_revenue_share"] == pytest.approx(400 / 600)
    # followed a full year from the first purchase: only C1 (2025-01-10) — C2's year ends at noon on
    # 2026-03-01, twelve hours after as_of, and C3's later still. C1 bought again within it: 1 of 1
    assert (team["n_clients_followed"], team["n_returned"], team["return_rate"]) == (1, 1, 1.0)


def test_repeat_business_per_manager_and_under_the_owner_filter(con):
    table = metrics.repeat_business(con, as_of=AS_OF).set_index("name")
    anna, boris = table.loc["Анна"], table.loc["Борис"]
    # Анна's window: d4 (first) and d3 (C1 again, 300): 1 of 2 repeat, 300 of 400 ₽
    assert (anna["n"], anna["n_repeat"], anna["revenue"], anna["repeat_revenue"]) == (2, 1, 400, 300)
    # she made C1's first purchase (followed; C2's is not yet a year old); C1 came back, to Борис
    assert (anna["n_clients_followed"], anna["n_returned"]) == (1, 1)
    # Борис: d2 (C1 again) and d5 (C3's first); he made no followed first purchase: unknown, not 0
    assert (boris["n"], boris["n_repeat"], boris["n_clients_followed"]) == (2, 1, 0)
    assert math.isnan(boris["return_rate"])
    only = metrics.repeat_business(con, as_of=AS_OF, owner="Борис").set_index("level")
    # his page: his row, and the team of his page is he; C1's history is the team's (d2 is repeat)
    assert only.loc["owner", "name"] == "Борис" and only.loc["owner", "n_repeat"] == 1
    assert only.loc["team", "n"] == 2
