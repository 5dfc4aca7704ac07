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


@pytest.mark.parametrize(("keys_per_bucket", "listed"), [(20_000_000, 10_000), (3, 0)])
def test_bad_rows_go_to_rejects_with_reasons(make_db, monkeypatch, keys_per_bucket, listed):
    # the repeated keys are grouped a bucket at a time at ten million rows: with 3 rows a bucket
    # these 12 keyed rows go through 5 buckets, and the same rows are rejected; the rejects' raw
    # text is found by their row numbers listed, or (beyond RAW_ROWS_LISTED) by a subquery
    monkeypatch.setattr("crmkit.importers.base.KEYS_PER_BUCKET", keys_per_bucket)
    monkeypatch.setattr("crmkit.importers.base.RAW_ROWS_LISTED", listed)
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
    assert reasons[3] == "created_at: 31.02.2026: cannot read as a date and time from 1970 to 2100"
    assert reasons[4] == "amount: ten: cannot read as a number"
    assert reasons[5] == "pipeline_id/stage_id P/ZZ not found in stages"
    assert reasons[6] == "duplicate key (deal_id) within the file"
    assert reasons[13].startswith("unreadable line")
    # each reject keeps its row as read: the repeated ok1 its own (stage B), not the first ok1's
    raw = dict(con.execute("select source_row, raw_row from rejects").fetchall())
    assert '"deal_id":"ok1"' in raw[6] and '"stage_id":"B"' in raw[6]
    assert '"created_at":"2026-01-02"' in raw[6]
    assert '"amount":"ten"' in raw[4] and '"deal_id":null' in raw[2]
    # Grouped without the values: one line per kind of problem, with an example.
    grouped = ("amount: cannot read as a number", 1, "amount: ten: cannot read as a number")
    assert grouped in deals_result.top_reasons
    loads = con.execute("select rows_read, rows_loaded + rows_rejected from loads").fetchall()
    assert all(read == total for read, total in loads)


@pytest.mark.parametrize("broken", [False, True])
def test_rows_of_a_file_read_in_parallel_keep_their_numbers(make_db, broken):
    """A 600,000-row file (about 17 MB) is read by several threads, in 8 MB parts; each row is
    numbered by its place in the file all the same, with a broken line too (the rows after it are
    counted around it). Row k holds deal dk, so a reject's row number and raw text name one deal."""
    lines = ["deal_id,pipeline_id,stage_id,amount,owner_id,created_at,closed_at"]
    lines += [f"d{k},P,A,10,u1,2026-01-01," for k in range(1, 600_001)]
    if broken:
        lines[300_001] = "broken,line"  # row 300,001 (line 1 is the header)
    lines[450_000] = "d450000,P,A,10,u1,31.02.2026,"  # row 450,000: no such date
    lines[590_000] = "d5,P,B,10,u1,2026-01-01,"  # row 590,000 repeats row 5's key
    con, results = make_db({**BASE, "deals": "\n".join(lines) + "\n"})
    deals = next(r for r in results if r.table == "deals")
    # 600,000 read = 599,998 loaded + 2 rejected, one fewer loaded with the broken line
    counts = (deals.rows_read, deals.rows_loaded, deals.rows_rejected)
    assert counts == (600_000, 599_998 - broken, 2 + broken)
    rejects = con.execute("select source_row, reason, raw_row from rejects order by source_row").fetchall()
    assert [(row, reason.split(":")[0]) for row, reason, _ in rejects] == [
        *([(300_001, "unreadable line")] if broken else []),
        (450_000, "created_at"),
        (590_000, "duplicate key (deal_id) within the file"),
    ]
    assert '"deal_id":"d450000"' in rejects[-2][2] and '"stage_id":"B"' in rejects[-1][2]
    # the row kept for d5 is row 5's (stage A); d300001 was the broken line, its neighbours load
    assert con.execute("select stage_id from deals where deal_id = 'd5'").fetchone() == ("A",)
    found = con.execute("select count(*) from deals where deal_id in ('d300000', 'd300001', 'd300002')")
    assert found.fetchone() == (3 - broken,)


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
    assert "3 × created_at: cannot read as a date and time from 1970 to 2100 (e.g. created_at: " in message
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


# --- any CSV through a mapping, as real files come ----------------------

LEADS_MAPPING = """
source_format: leads
pipeline: {id: p, name: Leads}
stages: [MQL, {name: Won, kind: won}, {name: Lost, kind: lost}]
deals:
  file: leads.csv
  join: {file: closed.csv, key: mql_id}
  columns:
    deal_id: mql_id
    stage: {sql: "case when won_date is null then 'MQL' else 'Won' end"}
    created_at: first_contact_date
    closed_at: won_date
"""


def _mapped(tmp_path, leads: str, closed: str, mapping: str = LEADS_MAPPING):
    from crmkit.db import connect
    from crmkit.importers import load

    (tmp_path / "leads.csv").write_text(leads, encoding="utf-8")
    (tmp_path / "closed.csv").write_text(closed, encoding="utf-8")
    (tmp_path / "map.yml").write_text(mapping, encoding="utf-8")
    con = connect(tmp_path / "crm.duckdb")
    return con, load(con, [tmp_path], mapping_file=tmp_path / "map.yml")


def test_mapping_tells_the_date_layout_from_the_values(tmp_path):
    """A funnel re-saved by Excel: `2018.02.01` and `26.02.2018 19:58` — no date_formats given."""
    con, results = _mapped(
        tmp_path,
        "mql_id,first_contact_date\na,2018.02.01\nb,2018.02.13\nc,2017.12.31\n",
        "mql_id,won_date\na,26.02.2018 19:58\n",
    )
    by_file = {(r.file.name, r.joined): (r.rows_read, r.rows_loaded, r.rows_rejected) for r in results}
    assert by_file[("leads.csv", False)] == (3, 3, 0)
    assert by_file[("closed.csv", True)] == (1, 1, 0)  # joined into the deals, not deals of its own
    sql = "select deal_id, created_at::varchar, closed_at::varchar from deals order by 1"
    assert con.execute(sql).fetchall() == [
        ("a", "2018-02-01 00:00:00", "2018-02-26 19:58:00"),
        ("b", "2018-02-13 00:00:00", None),
        ("c", "2017-12-31 00:00:00", None),
    ]


def test_mapping_day_first_slashes_decided_by_the_values(tmp_path):
    """13/02/2018 can only be day-first, so 01/02/2018 is the 1st of February too."""
    con, _ = _mapped(tmp_path, "mql_id,first_contact_date\na,01/02/2018\nb,13/02/2018\n", "mql_id,won_date\n")
    assert con.execute("select created_at::varchar from deals order by deal_id").fetchall() == [
        ("2018-02-01 00:00:00",), ("2018-02-13 00:00:00",)
    ]  # fmt: skip


def test_mapping_ambiguous_dates_are_refused_with_what_to_write(tmp_path):
    from crmkit.errors import CrmkitError

    with pytest.raises(CrmkitError) as err:
        _mapped(tmp_path, "mql_id,first_contact_date\na,01/02/2018\nb,03/04/2018\n", "mql_id,won_date\n")
    message = str(err.value)
    assert "leads.csv: column created_at" in message and "no value tells day from month" in message
    assert 'date_formats: ["%d/%m/%Y"] or date_formats: ["%m/%d/%Y"]' in message


def test_mapping_that_reads_no_row_exits_non_zero_and_keeps_nothing(tmp_path):
    """Every date unreadable (and no layout fits): the CLI says why, grouped, and exits 2; the
    database it would have created is not left behind."""
    leads = "mql_id,first_contact_date\na,someday\nb,later\nc,soon\n"
    (tmp_path / "leads.csv").write_text(leads, encoding="utf-8")
    (tmp_path / "closed.csv").write_text("mql_id,won_date\na,2018-02-03\n", encoding="utf-8")
    (tmp_path / "map.yml").write_text(LEADS_MAPPING, encoding="utf-8")
    db = tmp_path / "crm.duckdb"
    run = subprocess.run(
        [sys.executable, "-m", "crmkit.cli", "load", str(tmp_path), "--mapping", str(tmp_path / "map.yml"),
         "--db", str(db)], capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "leads.csv [deals]: 3 of 3 rows rejected, so nothing was loaded" in run.stderr
    assert "3 × created_at: cannot read as a date and time from 1970 to 2100 (e.g. created_at: " in run.stderr
    assert "fix the mapping" in run.stderr
    assert not db.exists()


def test_mapping_missing_column_names_both_files_of_the_join(tmp_path):
    from crmkit.errors import CrmkitError

    mapping = LEADS_MAPPING.replace("closed_at: won_date", "closed_at: won_at")
    with pytest.raises(CrmkitError) as err:
        _mapped(tmp_path, "mql_id,first_contact_date\na,2018-02-01\n", "mql_id,won_date\na,2018-02-03\n",
                mapping)  # fmt: skip
    message = str(err.value)
    assert "deals.columns.closed_at names the column 'won_at'" in message
    assert "neither leads.csv (columns: 'mql_id', 'first_contact_date')" in message
    assert "nor the joined closed.csv (columns: 'mql_id', 'won_date')" in message


def test_a_load_holds_memory_to_its_limit_and_gives_it_back(tmp_path, monkeypatch):
    """The load runs under CRMKIT_MEMORY_LIMIT (default 2.5 GB; DuckDB spills beyond it), restores
    DuckDB's own limit afterwards, and a value DuckDB cannot read is one clear line."""
    import pytest

    from crmkit import sample
    from crmkit.db import connect
    from crmkit.errors import CrmkitError
    from crmkit.importers import load

    sample.write(sample.generate(200), tmp_path / "csv")
    con = connect(tmp_path / "crm.duckdb")
    before = con.execute("select current_setting('memory_limit')").fetchone()[0]
    seen = []
    original = con.execute

    class Spy:  # what the load set, read while it runs
        def __getattr__(self, name):
            return getattr(con, name)

        def execute(self, sql, *args):
            if "memory_limit" in sql:
                seen.append(sql)
            return original(sql, *args)

    load(Spy(), [tmp_path / "csv"])
    assert seen == ["set memory_limit = '2.5GB'", "reset memory_limit"]
    assert con.execute("select current_setting('memory_limit')").fetchone()[0] == before
    monkeypatch.setenv("CRMKIT_MEMORY_LIMIT", "lots")
    with pytest.raises(CrmkitError, match="CRMKIT_MEMORY_LIMIT='lots'.*give a size such as 4GB"):
        load(connect(tmp_path / "b.duckdb"), [tmp_path / "csv"])


def test_trimming_only_the_values_that_can_change_trims_as_trim_does():
    """`trimmed` skips trim() for ASCII values without an end space; every value below, spaces of
    each kind at each end, Cyrillic, a tab (which trim keeps), must read as trim() reads it."""
    import duckdb

    from crmkit.importers.base import trimmed

    values = [" a", "a ", " a b ", "a b", "\u00a0a", "a\u202f", "абв ", " абв", "аб в", "\ta", "a\t",
              "x\u2003", "\u3000", "", " ", None, "12,5"]  # fmt: skip
    con = duckdb.connect()
    con.execute("create table t (v varchar)")
    con.executemany("insert into t values (?)", [[v] for v in values])
    got = con.execute(f"select v, {trimmed('v')}, nullif(trim(v), '') from t").fetchall()
    assert [(v, fast) for v, fast, _ in got] == [(v, slow) for v, _, slow in got]
    # by hand: the spaces go, the tab stays, a blank is null
    assert dict((v, fast) for v, fast, _ in got)["\u00a0a"] == "a"
    assert dict((v, fast) for v, fast, _ in got)["\ta"] == "\ta"
    assert dict((v, fast) for v, fast, _ in got)[" "] is None
