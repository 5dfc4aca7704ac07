"""Hostile and broken input: no script from CRM text in any report, the bundle or a
CSV; no silent loss; no traceback for a user's mistake — each one line, exit 2."""

import csv
import errno
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkit import charts, cli, render, report
from crmkit.db import connect
from crmkit.errors import CrmkitError
from crmkit.importers import load
from crmkit.inert import FORMULA_STARTS
from crmkit.paths import NOTEBOOKS_DIR
from tests.conftest import write_tables
from tests.fixtures.scenarios import AS_OF, PERIOD_START, SCENARIOS

# What CRM text may hold: markup that runs, a comment that swallows the page, a formula.
PAYLOAD = '<img src=x onerror=alert(1)><!--<script>'
TEXT_FIELDS = {  # every text field a report shows, by table
    "pipelines": ["name"],
    "stages": ["name"],
    "users": ["name", "team"],
    "deals": ["title", "source", "loss_reason"],
}


def hostile_tables() -> dict[str, str]:
    """SCENARIOS with the payload in front of every shown text (kept distinct by the original)."""
    tables = dict(SCENARIOS)
    for table, fields in TEXT_FIELDS.items():
        rows = list(csv.DictReader(io.StringIO(textwrap.dedent(SCENARIOS[table]).strip())))
        for row in rows:
            for field in fields:
                if row.get(field):
                    row[field] = f"{PAYLOAD}{row[field]}"
        if table == "deals":
            for row in rows:
                row["client"] = f"{PAYLOAD}=HYPERLINK(\"http://x\")"
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        tables[table] = out.getvalue()
    return tables


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    con = connect(root / "crm.duckdb")
    load(con, [write_tables(root / "csv", hostile_tables())])
    con.close()
    return root / "crm.duckdb"


def assert_inert(page: str):
    """The payload shows as text or sits \\u-escaped inside chart JSON: never as markup."""
    assert "<img src=x" not in page and "<!--<script>" not in page


def test_every_report_escapes_crm_text(hostile_db, tmp_path):
    results = render.render_all(
        db=hostile_db, out_root=tmp_path, as_of=AS_OF, period="p", jobs=2,
        extra={"period_start": PERIOD_START},
    )  # fmt: skip
    assert [r.error for r in results] == [None] * len(results)
    for result in results:
        page = result.html.read_text(encoding="utf-8")
        assert_inert(page)
    shown = (tmp_path / "p" / "06_sources_and_forecast.html").read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=alert(1)&gt;" in shown  # the stage names, as text


def test_the_bundle_escapes_crm_text_and_nothing_runs(hostile_db, tmp_path):
    from crmkit.bundle import build

    out = build(hostile_db, tmp_path / "audit.html", client=PAYLOAD, as_of=AS_OF, jobs=2)
    page = out.read_text(encoding="utf-8")
    assert_inert(page)
    from tests.test_reports import chromium, headless

    chromium()  # skips without a browser
    dom = headless(out, "--dump-dom", budget_ms=15000).stdout
    # parsed as markup, the payload would be serialised as an element: <img src="x" onerror="alert(1)">
    assert 'onerror="alert(1)"' not in dom and "&lt;img src=x onerror=alert(1)&gt;" in dom


def _markup(html: str) -> list:
    """The sequence of tags, comments and declarations an HTML parser finds."""
    from html.parser import HTMLParser

    found = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append(("start", tag, tuple(name for name, _ in attrs)))

        def handle_endtag(self, tag):
            found.append(("end", tag))

        def handle_comment(self, data):
            found.append(("comment",))

        def handle_decl(self, decl):
            found.append(("decl",))

    Collect().feed(html)
    return found


@settings(max_examples=60, deadline=None)
@given(text=st.text(alphabet="<>&\"'/=+-@!;()\\\u2028 abcscriptimgonerrorHYPERLINK", max_size=40))
def test_any_crm_string_is_inert_in_html_json_and_csv(text):
    """Tables, section texts and findings escape it; chart JSON \\u-escapes < > &; CSV output never
    starts a cell with a formula sign."""
    import pandas as pd

    from crmkit.findings import Finding

    def page(value):
        frame = pd.DataFrame({"owner": [value], "n": [3], "share": [0.5]})
        html = report.table(frame, {"owner": "text", "n": "int", "share": "share"}, "en").data
        return html + report.findings([Finding(1.0, value)], "en").data

    # the page's elements are exactly those of the same page with a harmless name: the text
    # opened, closed or commented nothing (its own "</th>" is not the text's doing)
    assert _markup(page(text)) == _markup(page("x"))
    payload = charts.script_json({"title": text})
    assert json.loads(payload) == {"title": text}
    for bad in ("<" + "script", "<img", "<!--", "</"):
        if bad in text:
            assert bad not in payload
    frame = pd.DataFrame({"owner": [text], "n": [3], "share": [0.5]})
    safe = cli.spreadsheet_safe(frame)
    cell = safe["owner"].iloc[0]
    assert cell == ("'" + text if text.startswith(FORMULA_STARTS) else text)


def test_metrics_csv_neutralises_formulas(make_db, tmp_path):
    deals = SCENARIOS["deals"].replace("<script>alert(1)</script>", "=HYPERLINK(1)")
    make_db({**SCENARIOS, "deals": deals})
    out = tmp_path / "stale.csv"
    code = cli.main(["metrics", "stale_deals", "--db", str(tmp_path / "crm.duckdb"), "--as-of", AS_OF,
                     "--param", "threshold_days=0", "--csv", str(out)])  # fmt: skip
    assert code == 0
    titles = [row["title"] for row in csv.DictReader(out.open(encoding="utf-8"))]
    assert "'=HYPERLINK(1)" in titles and not any(t.startswith("=") for t in titles)


# --- no silent loss ------------------------------------------------------------------------------


def test_two_canonical_files_of_one_table_are_both_loaded(tmp_path):
    base = {k: SCENARIOS[k] for k in ("pipelines", "stages", "users")}
    first = write_tables(tmp_path / "a", {**base, "deals": "deal_id,pipeline_id,stage_id\nx1,P,A\n"})
    second = write_tables(tmp_path / "b", {"deals": "deal_id,pipeline_id,stage_id\nx2,P,B\n"})
    con = connect(tmp_path / "crm.duckdb")
    results = [r for r in load(con, [first / "deals.csv", first, second / "deals.csv"]) if r.table == "deals"]
    assert sorted(str(r.file.parent.name) for r in results if r.load_id) == ["a", "b"]
    assert con.execute("select deal_id from deals order by 1").fetchall() == [("x1",), ("x2",)]
    assert con.execute("select count(*) from loads where file_name like 'deals.csv%'").fetchone() == (2,)


def test_two_salesforce_exports_are_refused_naming_both(tmp_path):
    fixture = Path(__file__).parent / "fixtures" / "salesforce"
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "Opportunity.csv").write_bytes((fixture / "Opportunity.csv").read_bytes())
    with pytest.raises(CrmkitError, match=r"two Opportunity.csv files given \(.*a/Opportunity.csv and .*b/"):
        load(connect(tmp_path / "crm.duckdb"), [tmp_path / "a", tmp_path / "b"])


def test_a_second_account_is_refused_without_append(make_db, tmp_path):
    con, _ = make_db(SCENARIOS)
    other = write_tables(tmp_path / "other", {
        "pipelines": "pipeline_id,name\nZ,Другая компания\n",
        "stages": "pipeline_id,stage_id,name,position,kind\nZ,Z1,Новая,1,open\nZ,ZW,Успех,2,won\n",
        "deals": "deal_id,pipeline_id,stage_id\nz1,Z,Z1\n",
    })  # fmt: skip
    with pytest.raises(CrmkitError, match=r"already holds another account .* add --append"):
        load(con, [other])
    assert con.execute("select count(*) from deals where deal_id = 'z1'").fetchone() == (0,)
    load(con, [other], append=True)
    assert con.execute("select count(*) from deals where deal_id = 'z1'").fetchone() == (1,)


# --- values the columns cannot hold --------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("duration_s", "3000000000", "duration_s: 3000000000: cannot read as a whole number up to 2147483647"),
        ("duration_s", "-5", "duration_s: -5: below 0"),
        ("started_at", "0001-01-01 00:00:00", "started_at: 0001-01-01 00:00:00: cannot read as a date and time from 1970 to 2100"),
        ("started_at", "-infinity", "started_at: -infinity: cannot read as a date and time from 1970 to 2100"),
        ("started_at", "9999-12-31 23:00:00", "started_at: 9999-12-31 23:00:00: cannot read as a date and time from 1970 to 2100"),
    ],
)  # fmt: skip
def test_an_impossible_value_rejects_its_row_not_the_load(make_db, column, value, reason):
    rows = {"duration_s": "60", "started_at": "2026-01-02 10:00:00"} | {column: value}
    activities = (
        "activity_id,deal_id,owner_id,kind,status,started_at,duration_s\n"
        "ok1,d1,u1,call,done,2026-01-02 10:00:00,60\nok2,d1,u1,call,done,2026-01-02 11:00:00,60\n"
        f"bad,d1,u1,call,done,{rows['started_at']},{rows['duration_s']}\n"
    )
    # Moscow: 0001-01-01 would become a year-1-BC UTC time, which no report can show
    con, _ = make_db({**SCENARIOS, "activities": activities}, time_zone="Europe/Moscow")
    assert con.execute("select reason from rejects where table_name = 'activities'").fetchall() == [(reason,)]
    assert con.execute("select count(*) from activities").fetchone() == (2,)


def test_a_stage_position_beyond_integer_is_rejected(make_db):
    stages = SCENARIOS["stages"].rstrip() + "\n        P,X,Лишний,3000000000,open\n"
    con, _ = make_db({**SCENARIOS, "stages": stages})
    assert con.execute("select reason from rejects where table_name = 'stages'").fetchall() == [
        ("position: 3000000000: cannot read as a whole number up to 2147483647",)
    ]


def test_deep_json_is_a_clear_error(tmp_path):
    path = tmp_path / "leads.json"
    path.write_text('{"_embedded": {"leads": ' + "[" * 100_000 + "]" * 100_000 + "}}", encoding="utf-8")
    with pytest.raises(CrmkitError, match="leads.json: JSON nested too deep"):
        load(connect(tmp_path / "crm.duckdb"), [path], fmt="amocrm")


# --- encodings -----------------------------------------------------------------------------------

EXPORT = (Path(__file__).parent / "fixtures" / "amocrm" / "export.csv").read_text(encoding="utf-8")


def test_utf16_excel_unicode_text_loads(tmp_path):
    path = tmp_path / "deals.txt.csv"
    path.write_text(EXPORT.replace(";", "\t"), encoding="utf-16")  # BOM + UTF-16LE, tabs: Excel's "Unicode text"
    results = {r.table: r for r in load(connect(tmp_path / "crm.duckdb"), [path], time_zone="Europe/Moscow")}
    assert (results["deals"].rows_read, results["deals"].rows_loaded) == (5, 4)


def test_koi8r_is_named_and_loads_with_encoding(tmp_path):
    path = tmp_path / "deals.csv"
    path.write_bytes(EXPORT.replace("₽", "руб.").replace("«", "\"").replace("»", "\"").encode("koi8-r"))
    with pytest.raises(CrmkitError, match="most likely koi8-r: load it with --encoding koi8-r"):
        load(connect(tmp_path / "a.duckdb"), [path], fmt="amocrm", time_zone="Europe/Moscow")
    results = {r.table: r for r in load(connect(tmp_path / "b.duckdb"), [path], fmt="amocrm", encoding="koi8-r")}
    assert results["deals"].rows_loaded == 4


@pytest.mark.parametrize(
    "tail, utf8",
    [
        ("Д".encode(), True),  # a Cyrillic letter's two bytes split over the 1 MB blocks read
        # its first byte, a whole block of ASCII, then a byte that would finish it: not UTF-8
        (b"\xd0" + b"b" * (1 << 20) + b"\x94", False),
        (b"\n" + "Дата".encode("cp1251"), False),  # one cp1251 word after a megabyte of ASCII
    ],
    ids=["utf8-across-blocks", "cut-character", "cp1251-late"],
)
def test_encoding_is_told_from_the_whole_file(tmp_path, tail, utf8):
    """ASCII blocks are skipped by the UTF-8 check, but never after a character left unfinished
    at a block's end; the whole file decides, not its first megabyte (not UTF-8: cp1251 or cp1252,
    whichever the detector finds likelier for a few stray bytes)."""
    from crmkit.importers.files import encoding

    path = tmp_path / "deals.csv"
    path.write_bytes(b"a" * ((1 << 20) - 1) + tail + b"abc\n" * 3)
    assert encoding(path) in (("utf-8",) if utf8 else ("cp1251", "cp1252"))


def test_shift_jis_is_named(tmp_path):
    path = tmp_path / "deals.csv"
    text = "ID;名前;金額\n1;東京の取引先と長期契約;1000\n2;大阪支店の新規顧客;2000\n3;名古屋の見込み客との商談;3000\n"
    path.write_bytes(text.encode("shift_jis"))
    with pytest.raises(CrmkitError, match=r"deals.csv: read as cp125\d, the text looks wrong; it is most likely (cp932|shift_jis)"):
        load(connect(tmp_path / "crm.duckdb"), [path], fmt="amocrm")


# --- the command line: one line, exit 2, no traceback --------------------------------------------


def run_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crmkit.cli", *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def tiny_db(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    con = connect(root / "crm.duckdb")
    load(con, [write_tables(root / "csv", SCENARIOS)])
    con.close()
    return root / "crm.duckdb"


def mistakes(db: Path, tmp: Path) -> list[tuple[list, str]]:
    (tmp / "folder").mkdir(exist_ok=True)
    mapping = tmp / "map.yml"
    (tmp / "leads.csv").write_text("id,first\na,2018-01-01\n", encoding="utf-8")
    return [
        (["metrics", "won_cycle", "--db", db, "--as-of", AS_OF, "--csv", tmp / "missing" / "x.csv"], "does not exist"),
        (["metrics", "won_cycle", "--db", db, "--as-of", AS_OF, "--csv", tmp / "folder"], "a folder"),
        (["metrics", "won_cycle", "--db", tmp / "some.csv", "--as-of", AS_OF], "names an export"),
        (["report", "--db", db, "--jobs", "0"], "a whole number of 1 or more"),
        (["report", "--db", db, "--month", "9999-12"], "a month from 1970 to 2100"),
        (["report", "--db", db, "--param", "__import__('os').system('echo x')#=1"], "no report takes it"),
        (["report", "--db", db, "--param", "db_path=/tmp/other.duckdb"], "set it with --db"),
        (["audit", "--db", db, "--client", "X", "--out", tmp / "folder"], "a folder"),
        (["audit", "--db", db, "--client", "X", "--out", tmp / "a.html", "--logo", tmp / "folder"], "not an image"),
        (["load", tmp, "--mapping", mapping, "--db", tmp / "m.duckdb"], "mapping map.yml"),
    ]  # fmt: skip


MAPPINGS = {
    "join key with a quote": ("join: {file: leads.csv, key: \"it's\"}", "has no column \"it's\""),
    "date_formats: 5": ("date_formats: 5", "date_formats must be a list"),
    "a bad strftime code": ("date_formats: ['%Q']", "'%Q' is not a date format"),
    "a bad sql expression": (None, "the sql expression 'nope(' is not an expression DuckDB reads"),
}


@pytest.mark.parametrize("case", range(10))
def test_user_mistakes_get_one_line_and_exit_2(tiny_db, tmp_path, case):
    args, expected = mistakes(tiny_db, tmp_path)[case]
    (tmp_path / "map.yml").write_text(
        "pipeline: {id: p}\nstages: [A, {name: W, kind: won}]\ndeals:\n  file: leads.csv\n"
        "  columns: {deal_id: id, stage: {sql: 'nope('}}\n", encoding="utf-8",
    )  # fmt: skip
    run = run_cli(*args)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert "Traceback" not in run.stderr and expected in run.stderr
    assert run.stderr.count("error:") == 1 and expected in run.stderr.strip().splitlines()[-1]  # one line


@pytest.mark.parametrize("name", list(MAPPINGS))
def test_mapping_mistakes_are_one_line(tmp_path, name):
    line, expected = MAPPINGS[name]
    (tmp_path / "leads.csv").write_text("id,first\na,2018-01-01\n", encoding="utf-8")
    body = "pipeline: {id: p}\nstages: [A, {name: W, kind: won}]\n"
    columns = "  columns: {deal_id: id, stage: {sql: 'nope('}}\n" if line is None else "  columns: {deal_id: id, stage: id}\n"
    if line and line.startswith("join"):
        body += f"deals:\n  file: leads.csv\n  {line}\n{columns}"
    else:
        body = (line + "\n" if line else "") + body + f"deals:\n  file: leads.csv\n{columns}"
    (tmp_path / "map.yml").write_text(body, encoding="utf-8")
    with pytest.raises(CrmkitError, match=expected.replace("(", r"\(").replace("'", "'")):
        load(connect(tmp_path / "crm.duckdb"), [tmp_path], mapping_file=tmp_path / "map.yml")


def test_metrics_into_a_closed_pipe_is_quiet(tiny_db):
    run = subprocess.run(
        f"{sys.executable} -m crmkit.cli metrics stage_intervals --db {tiny_db} --as-of {AS_OF} | head -1",
        shell=True, capture_output=True, text=True,
    )  # fmt: skip
    assert "Traceback" not in run.stderr and "BrokenPipe" not in run.stderr


# --- a full disk ---------------------------------------------------------------------------------


def test_a_full_disk_keeps_the_earlier_report_and_says_so(tiny_db, tmp_path, monkeypatch):
    source = NOTEBOOKS_DIR / "00_data_audit.py"
    good = render.render_one(source, tmp_path, {"db_path": str(tiny_db), "as_of": AS_OF})
    before = good.html.read_bytes()

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_text", full)
    failed = render.render_one(source, tmp_path, {"db_path": str(tiny_db), "as_of": AS_OF})
    assert failed.error and "No space left on device" in failed.error
    assert good.html.read_bytes() == before  # the earlier report, whole


def test_a_full_disk_at_load_is_one_line(tmp_path, monkeypatch, capsys):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "crm.duckdb"))

    monkeypatch.setattr(cli, "cmd_load", full)
    assert cli.main(["load", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("crmkit: error: No space left on device") and "Traceback" not in err


def test_make_report_keeps_the_sample_in_its_own_database():
    makefile = (Path(__file__).parent.parent / "Makefile").read_text(encoding="utf-8")
    assert "DB     ?= data/sample/crm.duckdb" in makefile  # `rm -f $(DB)` never removes data/crm.duckdb
