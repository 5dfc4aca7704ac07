"""Generic tests over the scoped views, as dbt tests a model's grain: each view's key is unique,
a deal has at most one current stage visit, nothing ends before it began, and every scoped view
narrowed by a filter is a subset of the same view unfiltered. Run on the sample and on the
hand-built scenarios, at several as_of dates."""

from __future__ import annotations

import pytest

from crmkit.db import connect
from tests.fixtures.scenarios import SCENARIOS

AS_OFS = ("2026-01-05", "2026-03-01", "2026-10-01 12:30:00")

# view call (with $as_of) → its key
KEYS = {
    "deals_at($as_of)": ["deal_id"],
    "deals_in_scope($as_of, null, null)": ["deal_id"],
    "activities_in_scope($as_of, null, null)": ["activity_id"],
    "stage_moves_in_scope($as_of, null, null)": ["deal_id", "pipeline_id", "stage_id", "entered_at"],
    "deal_stage_intervals($as_of)": ["deal_id", "pipeline_id", "stage_id", "visit_number"],
    "stage_visits_in_scope($as_of, null, null)": ["deal_id", "pipeline_id", "stage_id", "visit_number"],
}


@pytest.fixture(params=["sample", "scenarios"])
def con(request, make_db, sample_db):
    if request.param == "sample":
        return connect(sample_db, read_only=True)
    return make_db(SCENARIOS)[0]


def _rows(con, sql, as_of):
    return con.execute(sql.replace("$as_of", "?::timestamp"), [as_of] * sql.count("$as_of")).fetchone()


@pytest.mark.parametrize("as_of", AS_OFS)
@pytest.mark.parametrize("view", sorted(KEYS))
def test_each_view_key_is_unique(con, view, as_of):
    key = ", ".join(KEYS[view])
    total, distinct = _rows(con, f"select count(*), count(distinct ({key})) from {view}", as_of)
    assert total == distinct, f"{view}: {total - distinct} rows repeat a key ({key})"


@pytest.mark.parametrize("as_of", AS_OFS)
def test_a_deal_is_in_at_most_one_stage_and_no_visit_ends_before_it_began(con, as_of):
    several, backwards, current_but_closed = _rows(
        con,
        """
        select
            (select count(*) from (select deal_id from deal_stage_intervals($as_of)
                                   where is_current group by deal_id having count(*) > 1)),
            (select count(*) from deal_stage_intervals($as_of) where exited_at < entered_at),
            (select count(*) from deal_stage_intervals($as_of) where is_current <> (exited_at is null))
        """,
        as_of,
    )
    assert (several, backwards, current_but_closed) == (0, 0, 0)


@pytest.mark.parametrize("as_of", AS_OFS)
def test_a_deal_stands_where_its_current_visit_is(con, as_of):
    """deals_at and the stage visits agree on where a deal with history stands at as_of."""
    (disagree,) = _rows(
        con,
        """
        select count(*)
        from deals_at($as_of) as deals
        inner join deal_stage_intervals($as_of) as visits
            on visits.deal_id = deals.deal_id and visits.is_current and not visits.is_synthetic
        where deals.has_history
            and (visits.pipeline_id, visits.stage_id) <> (deals.pipeline_id, deals.stage_id)
        """,
        as_of,
    )
    assert disagree == 0


@pytest.mark.parametrize("view", ["deals_in_scope", "activities_in_scope", "stage_moves_in_scope",
                                  "stage_visits_in_scope"])  # fmt: skip
def test_a_filtered_view_is_a_part_of_the_unfiltered_one(con, view):
    """Each pipeline and each owner selects a subset; together the pipelines hold every deal."""
    as_of = "2026-10-01"
    columns = ", ".join(KEYS[f"{view}($as_of, null, null)"])
    pipelines = [row[0] for row in con.execute("select name from main.pipelines").fetchall()]
    owners = [row[0] for row in con.execute("select name from main.users").fetchall()]
    for kind, values in (("pipeline", pipelines), ("owner", owners)):
        for value in values:
            call = f"{view}($as_of, ?, null)" if kind == "pipeline" else f"{view}($as_of, null, ?)"
            narrowed = f"select {columns} from {call}"
            whole = f"select {columns} from {view}($as_of, null, null)"
            sql = f"select count(*) from ({narrowed} except {whole})".replace("$as_of", "?::timestamp")
            (extra,) = con.execute(sql, [as_of, value, as_of]).fetchone()
            assert extra == 0, (view, kind, value)
    per_pipeline = sum(
        con.execute("select count(*) from deals_in_scope(?::timestamp, ?, null)", [as_of, p]).fetchone()[0]
        for p in pipelines
    )
    assert per_pipeline == con.execute("select count(*) from deals_at(?::timestamp)", [as_of]).fetchone()[0]
