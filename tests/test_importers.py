"""Importer accounting: every row loaded or rejected with a reason, idempotent reloads,
incremental updates, clear errors for missing columns, Russian number and date formats."""

import subprocess
import sys

import pytest

from tests.fixtures.scenarios import SCENARIOS

BASE = {k: SCENARIOS[k] for k in ("pipelines", "stages", "users")}


def snapshot(con):
    return {
        t: con.execute(f"select * from {t} order by all").fetchall()
        for t in ("deals", "stage_changes", "users", "stages", "pipelines")
    }


def test_bad_rows_go_to_rejects_with_reasons(make_db):
    deals = """
        deal_id,pipeline_id,stage_id,amount,owner_id,created_at,closed_at
        ok1,P,A,10,u1,2026-01-01,
        ,P,A,10,u1,2026-01-01,
        bad_date,P,A,10,u1,31.02.2026,
        bad_amount,P,A,ten,u1,2026-01-01,
        no_stage,P,ZZ,10,u1,2026-01-01,
        ok1,P,B,10,u1,2026-01-02,
        ok2,P,A,10,u1,2026-01-01,
        ok3,P,A,10,u1,2026-01-01,
        ok4,P,A,10,u1,2026-01-01,
        ok5,P,A,10,u1,2026-01-01,
        ok6,P,A,10,u1,2026-01-01,
        ok7,P,A,10,u1,2026-01-01,
        broken,line
    """
    con, results = make_db({**BASE, "deals": deals})
    deals_result = [r for r in results if r.table == "deals"][0]
    # 13 rows: ok1..ok7 loaded; 6 rejected (fewer than half, so the load stands)
    assert (deals_result.rows_read, deals_result.rows_loaded, deals_result.rows_rejected) == (13, 7, 6)
    reasons = dict(con.execute("select source_row, reason from rejects order by source_row").fetchall())
    assert reasons[2] == "deal_id is missing"
    assert reasons[3] == "created_at: 31.02.2026: cannot read as a date and time"
    assert reasons[4] == "amount: ten: cannot read as a number"
    assert reasons[5] == "pipeline_id/stage_id P/ZZ not found in stages"
    assert reasons[6] == "duplicate key (deal_id) within the file"
    assert reasons[13].startswith("unreadable line")
    # Grouped without the values: one line per kind of problem, with an example.
    grouped = ("amount: cannot read as a number", 1, "amount: ten: cannot read as a number")
    assert grouped in deals_result.top_reasons
    loads = con.execute("select rows_read, rows_loaded + rows_rejected from loads").fetchall()
    assert all(read == total for read, total in loads)


def test_a_file_mostly_rejected_fails_the_load_with_grouped_reasons(make_db):
    """3 of 4 rows unreadable (> half): the load is refused, nothing kept, the reasons grouped."""
    from crmkit.errors import CrmkitError

    deals = """
        deal_id,pipeline_id,stage_id,created_at
        a,P,A,2026-01-01
        b,P,A,yesterday
        c,P,A,tomorrow
        d,P,A,soon
    """
    with pytest.raises(CrmkitError) as err:
        make_db({**BASE, "deals": deals})
    message = str(err.value)
    assert "deals.csv [deals]: 3 of 4 rows rejected, so nothing was loaded" in message
    assert "3 × created_at: cannot read as a date and time (e.g. created_at: " in message
    assert "the database is unchanged" in message


def test_loading_twice_changes_nothing_and_newer_export_updates(make_db, tmp_path):
    from crmkit.importers import load

    con, _ = make_db(SCENARIOS)
    before, n_loads = snapshot(con), con.execute("select count(*) from loads").fetchone()[0]
    folder = tmp_path / "csv_crm.duckdb"
    assert all(r.load_id is None for r in load(con, [folder]))  # same files: skipped
    assert snapshot(con) == before and con.execute("select count(*) from loads").fetchone()[0] == n_loads
    load(con, [folder], force=True)  # re-read anyway: merged by key, still nothing changes
    assert snapshot(con) == before
    # A newer export: d3 moved on to C; its history gains one row, nothing is duplicated.
    (folder / "deals.csv").write_text(
        (folder / "deals.csv").read_text().replace("d3,P,B,<script>", "d3,P,C,<script>")
    )
    (folder / "stage_changes.csv").write_text(
        (folder / "stage_changes.csv").read_text() + "d3,P,C,2026-02-20 00:00:00,u1\n"
    )
    load(con, [folder])
    assert con.execute("select stage_id from deals where deal_id = 'd3'").fetchone()[0] == "C"
    assert con.execute("select count(*) from stage_changes where deal_id = 'd3'").fetchone()[0] == 3
    assert con.execute("select count(*) from deals").fetchone()[0] == 10


def test_missing_column_names_it_and_what_was_found(make_db):
    from crmkit.errors import CrmkitError

    with pytest.raises(
        CrmkitError, match=r"deals.csv: missing column 'stage_id'.*found: 'deal_id', 'pipeline_id'"
    ):
        make_db({**BASE, "deals": "deal_id,pipeline_id\nx,P\n"})


def test_cli_error_is_one_line_without_traceback(tmp_path):
    (tmp_path / "deals.csv").write_text("deal_id\nx\n")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "crmkit.cli",
            "load",
            str(tmp_path / "deals.csv"),
            "--db",
            str(tmp_path / "x.duckdb"),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert "missing column" in run.stderr and "Traceback" not in run.stderr


def test_mapping_reads_russian_formats_and_time_zone(tmp_path):
    from crmkit.db import connect
    from crmkit.importers import load

    (tmp_path / "export.csv").write_text(
        "ID;Этап;Ответственный;Бюджет;Дата создания\n"
        "1;Переговоры;Анна;1 234 567,89;22.11.2026 14:05:00\n"
        "2;Неизвестный;Анна;10;22.11.2026\n",
        encoding="cp1251",
    )
    (tmp_path / "map.yml").write_text(
        "time_zone: Europe/Moscow\ndecimal: ','\npipeline: {id: amo, name: Воронка}\n"
        "stages: [Переговоры, {name: Успешно, kind: won}]\n"
        "deals:\n  file: export.csv\n  columns: {deal_id: ID, stage: Этап, owner: Ответственный,"
        " amount: Бюджет, created_at: Дата создания}\n",
        encoding="utf-8",
    )
    con = connect(tmp_path / "db.duckdb")
    results = load(con, [], mapping_file=tmp_path / "map.yml")
    deals = [r for r in results if r.table == "deals"][0]
    assert (deals.rows_read, deals.rows_loaded, deals.rows_rejected) == (2, 1, 1)
    amount, created = con.execute("select amount, created_at from deals").fetchone()
    assert float(amount) == 1234567.89
    assert str(created) == "2026-11-22 11:05:00"  # Moscow is UTC+3


def test_mapping_errors_name_the_field(tmp_path):
    from crmkit.errors import CrmkitError
    from crmkit.importers.mapping import Mapping

    (tmp_path / "m.yml").write_text(
        "pipeline: {id: p}\nstages: [A, {name: W, kind: won}]\ndeals: {file: x.csv, columns: {stage: s}}\n"
    )
    with pytest.raises(CrmkitError, match="deals.columns.deal_id is missing"):
        Mapping(tmp_path / "m.yml")


def test_utf8_with_bom_and_semicolons_read_like_plain_csv(tmp_path):
    from crmkit.db import connect
    from crmkit.importers import load

    (tmp_path / "pipelines.csv").write_bytes("\ufeffpipeline_id;name\nP;Основная\n".encode())
    con = connect(tmp_path / "db.duckdb")
    result = load(con, [tmp_path])[0]
    assert (result.rows_read, result.rows_loaded) == (1, 1)
    assert con.execute("select pipeline_id, name from pipelines").fetchall() == [("P", "Основная")]
