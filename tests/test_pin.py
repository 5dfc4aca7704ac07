"""Pinning a read-only connection to the report's as_of (the two stage sequences and deals_at
built once into tables) changes no number: every metric equals the live views' under each
filter, any other as_of cut from the pinned sequences equals the live derivation, and a
connection that can write is never pinned. Rows come
through Arrow with the types DuckDB's own .df() gives."""

import inspect

import duckdb
import pandas as pd
import pytest

from crmkit import metrics
from crmkit.db import build_pins, connect, frame, pin, query

AS_OF = "2026-11-01"


def _every_metric(con, adoption, **filters) -> dict[str, pd.DataFrame]:
    tables = {}
    for name, (func, _) in sorted(metrics.REGISTRY.items()):
        options = {"adoption": str(adoption)} if "adoption" in inspect.signature(func).parameters else {}
        try:
            tables[name] = metrics.compute(name, con, as_of=AS_OF, **filters, **options)
        except Exception as exc:  # noqa: BLE001 — a refusal (too few months for one manager) must match too
            tables[name] = pd.DataFrame({"refused": [str(exc)]})
    return tables


@pytest.mark.parametrize("filters", [{}, {"pipeline": "Основная воронка", "owner": "Анна Смирнова"}])
def test_every_metric_pinned_equals_live(sample_db, filters):
    adoption = sample_db.parent / "adoption.yml"
    live = connect(sample_db, read_only=True)
    pinned = connect(sample_db, read_only=True)
    pin(pinned, pd.Timestamp(AS_OF))
    expected, got = _every_metric(live, adoption, **filters), _every_metric(pinned, adoption, **filters)
    built = {
        name
        for (name,) in pinned.execute("select table_name from duckdb_tables() where temporary").fetchall()
    }
    # each used and built once
    assert built == {"pinned_deals_at", "pinned_stage_change_spans", "pinned_stage_visit_sequence"}
    assert len(expected) >= 37
    for name, table in expected.items():
        pd.testing.assert_frame_equal(got[name], table, obj=name)


def test_a_pinned_connection_cuts_other_dates_as_live_derives_them(sample_db):
    live, pinned = connect(sample_db, read_only=True), connect(sample_db, read_only=True)
    pin(pinned, pd.Timestamp(AS_OF))
    build_pins(pinned)
    # moments between changes, the pinned one, and one at the very time of a change (it does not
    # count yet: events strictly before as_of), of a deal that changed again later
    (at_a_change,) = live.execute(
        "select min(entered_at) from stage_changes as c where not is_synthetic and exists "
        "(select 1 from stage_changes as d where d.deal_id = c.deal_id and d.entered_at > c.entered_at)"
    ).fetchone()
    for view in ("deals_at", "deal_stage_intervals"):
        sql = f"select * from {view}(?::timestamp) order by all"
        for moment in ("2026-03-01", AS_OF, "2026-10-15 12:00", at_a_change):
            got, expected = pinned.execute(sql, [moment]).df(), live.execute(sql, [moment]).df()
            assert len(expected) > 0
            pd.testing.assert_frame_equal(got, expected, obj=f"{view}({moment})")
    # a new pin replaces the old: its tables go, the views are live until first used again
    pin(pinned, pd.Timestamp("2026-06-01"))
    assert not pinned.execute("select * from duckdb_tables() where temporary").fetchall()
    sql = "select * from deals_at(?::timestamp) order by deal_id"
    pd.testing.assert_frame_equal(pinned.execute(sql, [AS_OF]).df(), live.execute(sql, [AS_OF]).df())


def test_a_writable_connection_is_never_pinned(make_db):
    # one deal, then a second loaded through the same connection: a pin would have kept one
    con, _ = make_db(
        {
            "pipelines": "pipeline_id,name\np,Sales\n",
            "stages": "pipeline_id,stage_id,name,position,kind\np,a,New,1,open\np,w,Won,2,won\n",
            "deals": "deal_id,pipeline_id,stage_id,created_at\n1,p,a,2026-01-05 10:00\n",
        }
    )
    pin(con, pd.Timestamp(AS_OF))
    params = {"as_of": pd.Timestamp(AS_OF).to_pydatetime(), "pipeline": None, "owner": None}
    assert len(query(con, "metrics/open_deals", **params)) == 1
    con.execute("insert into main.deals (deal_id, pipeline_id, stage_id, created_at, status) "
                "values ('2', 'p', 'a', timestamp '2026-02-01 10:00', 'open')")  # fmt: skip
    assert len(query(con, "metrics/open_deals", **params)) == 2


def test_rows_come_with_the_types_duckdb_gives():
    con = duckdb.connect()
    sql = (
        "select 1.5::decimal(18, 2) as money, date '2026-01-01' as day, v::int as maybe, 3 as whole, "
        "v is null as flag, (case when v is null then null else true end) as maybe_flag, "
        "'x' as word, 2::utinyint as small from (values (1), (null)) as t(v)"
    )
    expected, got = con.execute(sql).df(), frame(con.sql(sql).to_arrow_table())
    pd.testing.assert_frame_equal(got, expected, check_dtype=True)
    assert str(got["maybe"].dtype) == "Int32" and str(got["maybe_flag"].dtype) == "boolean"
