"""Generic tests over the scoped views, as dbt tests a model's grain: each view's key is unique,
a deal has at most one current stage visit, nothing ends before it began, and every scoped view
narrowed by a filter is a subset of the same view unfiltered. Run on the sample and on the
hand-built scenarios, at several as_of dates."""

from __future__ import annotations

import pandas as pd
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


def _changes_before(con, as_of, where):
    """The stage changes (with their stage's position and kind) entered before as_of, in each
    deal's order — read plainly, for the oracles below."""
    changes = con.execute(
        f"select c.deal_id, c.pipeline_id, c.stage_id, c.entered_at, s.position, s.kind, c.is_synthetic "
        f"from stage_changes as c join stages as s using (pipeline_id, stage_id) "
        f"where c.entered_at < ?::timestamp and {where}",
        [as_of],
    ).df()
    return changes.sort_values(["deal_id", "entered_at", "position"], ignore_index=True)


@pytest.mark.parametrize("as_of", [*AS_OFS, "at a change"])
def test_the_cut_sequences_equal_deriving_at_as_of(con, as_of):
    """deals_at and deal_stage_intervals cut as_of-free sequences at as_of; here the same rows are
    derived the plain way from the changes before as_of only (pandas): the deal's latest real
    change (a tie: the later stage), and each visit's next change, number and length."""
    if as_of == "at a change":  # a change made exactly at as_of does not count yet
        (as_of,) = con.execute(
            "select max(entered_at) from stage_changes as c where not is_synthetic and entered_at < "
            "(select max(entered_at) from stage_changes as d where d.deal_id = c.deal_id)"
        ).fetchone()
    real = _changes_before(con, as_of, "not c.is_synthetic")
    latest = real.groupby("deal_id").tail(1).set_index("deal_id")
    deals = con.execute(
        "select deal_id, stage_id, status, stage_entered_at from deals_at(?::timestamp) where has_history",
        [as_of],
    ).df().set_index("deal_id").sort_index()  # fmt: skip
    assert len(deals) == len(latest) > 0
    expected = latest.loc[deals.index]
    assert deals["stage_id"].tolist() == expected["stage_id"].tolist()
    assert deals["status"].tolist() == expected["kind"].tolist()
    assert (deals["stage_entered_at"] == expected["entered_at"]).all()

    visits = _changes_before(con, as_of, "not s.is_inbox")
    by_deal = visits.groupby("deal_id")
    visits["exited_at"] = by_deal["entered_at"].shift(-1)
    visits["next_stage_id"] = by_deal["stage_id"].shift(-1)
    visits["visit_number"] = visits.groupby(["deal_id", "pipeline_id", "stage_id"]).cumcount() + 1
    end = visits["exited_at"].fillna(pd.Timestamp(as_of))
    visits["days"] = (end - visits["entered_at"]).dt.total_seconds() / 86400
    got = con.execute(
        "select deal_id, pipeline_id, stage_id, entered_at, exited_at, next_stage_id, visit_number, days "
        "from deal_stage_intervals(?::timestamp) order by deal_id, entered_at, position",
        [as_of],
    ).df()
    columns = ["deal_id", "pipeline_id", "stage_id", "entered_at", "exited_at", "next_stage_id"]
    columns.append("visit_number")
    assert len(got) == len(visits) > 0
    pd.testing.assert_frame_equal(got[columns], visits[columns], check_dtype=False)
    assert got["days"].to_numpy() == pytest.approx(visits["days"].to_numpy())
