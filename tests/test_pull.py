"""`crmkit pull amocrm` against amoCRM's API mocked on 127.0.0.1 (tests/fixtures/mock_amocrm.py):
every page pulled through a 429 and a 500, the canonical rows exactly those of loading the same
documented responses as files; a second pull asks only for what changed and its load keeps the
history already stored; an expired token is one line; an interrupted pull resumes."""

import json
import time
from datetime import UTC, datetime

import pytest

from crmkit.cli import main
from crmkit.db import connect
from crmkit.importers import load
from crmkit.pull import amocrm, base, bitrix24, hubspot, pipedrive
from tests.fixtures.mock_amocrm import API, MockAmoCRM
from tests.fixtures.mock_bitrix24 import FIXTURES as FIXTURES_B24
from tests.fixtures.mock_bitrix24 import MockBitrix24
from tests.fixtures.mock_hubspot import API as HUBSPOT_API
from tests.fixtures.mock_hubspot import MockHubSpot
from tests.fixtures.mock_pipedrive import API as PIPEDRIVE_API
from tests.fixtures.mock_pipedrive import MockPipedrive
from tests.fixtures.mock_salesforce import EXPORT as FIXTURES_SF
from tests.fixtures.mock_salesforce import MockSalesforce

TABLES = ("pipelines", "stages", "users", "deals", "stage_changes", "activities")


@pytest.fixture
def mock(monkeypatch):
    monkeypatch.setattr(amocrm, "PER_SECOND", 100)  # pacing runs, at a test's speed
    with MockAmoCRM() as server:
        monkeypatch.setenv("CRMKIT_AMOCRM_TOKEN", server.token)
        yield server


def _rows(db) -> dict:
    con = connect(db, read_only=True)
    rows = {t: con.execute(f"select * from main.{t} order by all").fetchall() for t in TABLES}
    con.close()
    return rows


def test_a_pull_pages_to_the_end_through_a_429_and_a_500(mock, tmp_path):
    mock.trouble = {("/api/v4/leads", 2): [429], ("/api/v4/events", 1): [500]}
    pulled = amocrm.run(tmp_path / "raw", mock.base_url)
    # 4 leads, 2 a page: 2 pages; 5 of the 6 events are stage changes or calls (a tag event is not
    # asked for): 3 pages; 3 users: 2 pages; 3 notes: 2; 2 tasks: 1; the pipelines: 1 response.
    assert pulled.pages == {"pipelines": 1, "users": 2, "leads": 2, "events": 3, "tasks": 1, "notes": 2}
    assert pulled.records["leads"] == 4 and pulled.records["events"] == 5
    assert pulled.since is None and pulled.waits >= 1.0  # Retry-After: 1 was honoured
    assert sorted(p.name for p in pulled.folder.iterdir())[:2] == ["events-0001.json", "events-0002.json"]
    assert not (tmp_path / "raw" / ".partial").exists()
    events = [q for path, q in mock.requests if path == "/api/v4/events"]
    asked = "lead_status_changed,incoming_call,outgoing_call,lead_deleted,lead_restored"
    assert events[0]["filter[type]"] == asked


def test_the_pulled_files_load_as_the_documented_responses_do(mock, tmp_path):
    """The exact canonical rows: those the importer makes of the same responses saved as files."""
    db = tmp_path / "pulled.duckdb"
    code = main(["pull", "amocrm", "--out", str(tmp_path / "raw"), "--base-url", mock.base_url,
                 "--load", "--db", str(db), "--tz", "Europe/Moscow"])  # fmt: skip
    assert code == 0
    reference = connect(tmp_path / "files.duckdb")
    load(reference, [API], time_zone="Europe/Moscow")
    reference.close()
    assert _rows(db) == _rows(tmp_path / "files.duckdb")


def test_a_second_pull_asks_only_for_changes_and_keeps_the_stored_history(mock, tmp_path):
    db, raw = tmp_path / "crm.duckdb", tmp_path / "raw"
    pull = ["pull", "amocrm", "--out", str(raw), "--base-url", mock.base_url, "--load", "--db", str(db)]
    assert main(pull) == 0
    before = _rows(db)
    cursor = json.loads((raw / "cursor.json").read_text())["since"]
    # Lead 202 moves on, after the first pull: the lead is updated and a stage-change event added.
    now = int(time.time())
    lead = next(r for r in mock.data["/api/v4/leads"] if r["id"] == 202)
    stages = [s["id"] for p in mock.pipelines["_embedded"]["pipelines"] for s in p["_embedded"]["statuses"]
              if p["id"] == lead["pipeline_id"] and s["id"] not in (lead["status_id"], 142, 143)]  # fmt: skip
    mock.update_lead(202, status_id=stages[-1], pipeline_id=lead["pipeline_id"], at=now, event_id="new-1")
    mock.requests.clear()
    time.sleep(1)  # a new folder: named by the second
    assert main(pull) == 0
    asked = {path: q for path, q in mock.requests if "since" not in path}
    assert asked["/api/v4/leads"]["filter[updated_at][from]"] == str(cursor)
    assert asked["/api/v4/events"]["filter[created_at][from]"] == str(cursor)
    second = max(p for p in raw.iterdir() if p.is_dir() and not p.name.startswith("."))
    leads = json.loads((second / "leads-0001.json").read_text())["_embedded"]["leads"]
    assert [lead["id"] for lead in leads] == [202]  # only the changed lead
    assert not (second / "tasks-0001.json").exists()  # nothing changed: 204, no page
    after = _rows(db)
    old = [r for r in before["stage_changes"] if r[0] == "202"]
    new = [r for r in after["stage_changes"] if r[0] == "202"]
    added = set(new) - set(old)
    assert set(old) <= set(new) and len(added) == 1  # its history kept (its first stage too), one added
    assert next(iter(added))[2] == str(stages[-1])
    others = [r for r in after["stage_changes"] if r[0] != "202"]
    assert others == [r for r in before["stage_changes"] if r[0] != "202"]


def test_the_cursor_is_the_databases_when_the_pull_is_loaded(mock, tmp_path):
    """A pull loaded into a database keeps its cursor in that database's loads; a pull into a new
    database asks for everything, though the raw folder has pulled before."""
    raw = tmp_path / "raw"
    first = ["pull", "amocrm", "--out", str(raw), "--base-url", mock.base_url, "--load", "--db"]
    assert main([*first, str(tmp_path / "a.duckdb")]) == 0
    con = connect(tmp_path / "a.duckdb", read_only=True)
    kept = con.execute("select distinct pull_cursor from main.loads where source_format = 'amocrm'")
    kept = kept.fetchall()
    con.close()
    assert kept == [(json.loads((raw / "cursor.json").read_text())["since"],)]
    mock.requests.clear()
    time.sleep(1)
    assert main([*first, str(tmp_path / "b.duckdb")]) == 0
    leads = [q for path, q in mock.requests if path == "/api/v4/leads"]
    assert leads and all("filter[updated_at][from]" not in q for q in leads)  # everything again
    assert _rows(tmp_path / "b.duckdb")["deals"] == _rows(tmp_path / "a.duckdb")["deals"]


def test_a_lead_deleted_in_amocrm_leaves_the_database(mock, tmp_path):
    """API v4 lists a deleted lead only by its lead_deleted event: the next pull brings the event,
    and the lead leaves deals, its history and its activities (lead 201 has a call and notes)."""
    db, raw = tmp_path / "crm.duckdb", tmp_path / "raw"
    pull = ["pull", "amocrm", "--out", str(raw), "--base-url", mock.base_url, "--load", "--db", str(db)]
    assert main(pull) == 0
    before = _rows(db)
    assert any(r[0] == "201" for r in before["activities"] + before["stage_changes"])
    mock.delete_lead(201, at=int(time.time()))
    time.sleep(1)
    assert main(pull) == 0
    after = _rows(db)
    assert [r for r in after["deals"] if r[0] == "201"] == []
    assert not [r for table in ("stage_changes", "activities") for r in after[table] if "201" in r[:2]]
    assert len(after["deals"]) == len(before["deals"]) - 1


def test_an_expired_token_is_one_line_naming_the_setting(mock, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CRMKIT_AMOCRM_TOKEN", "tok-3f9a-expired")
    assert main(["pull", "amocrm", "--out", str(tmp_path / "raw"), "--base-url", mock.base_url]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "CRMKIT_AMOCRM_TOKEN" in error and "401" in error
    assert "tok-3f9a" not in error  # the secret is never printed
    assert not [p for p in (tmp_path / "raw").iterdir() if not p.name.startswith(".")]


def test_an_interrupted_pull_resumes_where_it_stopped(mock, tmp_path, monkeypatch):
    monkeypatch.setattr(base, "ATTEMPTS", 2)
    mock.trouble = {("/api/v4/tasks", 1): [500, 500]}
    raw = tmp_path / "raw"
    with pytest.raises(Exception, match="HTTP 500"):
        amocrm.run(raw, mock.base_url)
    assert (raw / ".partial" / "leads-0002.json").exists() and not (raw / "cursor.json").exists()
    mock.requests.clear()
    pulled = amocrm.run(raw, mock.base_url)
    assert {path for path, _ in mock.requests} == {"/api/v4/tasks", "/api/v4/leads/notes"}
    assert pulled.pages == {"pipelines": 1, "users": 2, "leads": 2, "events": 3, "tasks": 1, "notes": 2}
    assert (raw / "cursor.json").exists() and not (raw / ".partial").exists()


def test_an_expired_oauth_token_is_renewed_once_and_the_new_refresh_token_kept(mock, tmp_path, monkeypatch):
    """amoCRM's OAuth: the access token is refused (401), the refresh token (single use) buys a new
    pair, the pull goes on; the new pair is kept, readable by its owner only, and the next pull
    starts with it (no refresh)."""
    store = tmp_path / "oauth.json"
    monkeypatch.setenv("CRMKIT_AMOCRM_TOKEN_FILE", str(store))
    monkeypatch.setenv("CRMKIT_AMOCRM_TOKEN", "expired-access")
    monkeypatch.setenv("CRMKIT_AMOCRM_REFRESH_TOKEN", "refresh-1")
    for key, value in mock.client.items():
        monkeypatch.setenv(f"CRMKIT_AMOCRM_{key.upper()}", value)
    pulled = amocrm.run(tmp_path / "raw", mock.base_url)
    assert mock.refreshes == 1 and pulled.records["leads"] == 4
    assert json.loads(store.read_text()) == {"access_token": "access-2", "refresh_token": "refresh-2"}
    assert store.stat().st_mode & 0o077 == 0
    amocrm.run(tmp_path / "raw", mock.base_url)
    assert mock.refreshes == 1  # the kept access token was good
    mock.refresh_token = "revoked"  # and when the refresh token itself is refused: one clear line
    mock.token = "rotated"
    with pytest.raises(Exception, match="refused the refresh token"):
        amocrm.run(tmp_path / "raw", mock.base_url)


@pytest.fixture
def portal(monkeypatch):
    monkeypatch.setattr(bitrix24, "PER_SECOND", 100)
    with MockBitrix24() as server:
        monkeypatch.setenv("CRMKIT_BITRIX24_TOKEN", server.code)
        yield server


def test_bitrix24_pages_by_start_through_query_limit_and_loads_as_its_responses_do(portal, tmp_path, capsys):
    portal.trouble = {("crm.deal.list", 2): [503]}
    db = tmp_path / "pulled.duckdb"
    command = ["pull", "bitrix24", "--out", str(tmp_path / "raw"), "--base-url", portal.base_url, "--load",
               "--db", str(db)]  # fmt: skip
    assert main(command) == 0
    assert portal.code not in capsys.readouterr().out  # the webhook's secret is never printed
    folder = next(p for p in (tmp_path / "raw").iterdir() if p.is_dir())
    # 3 deals, 2 a response: 2 pages (start 0, start 2 after a 503); 8 history entries: 4 pages
    assert sorted(p.name for p in folder.glob("crm.deal.list-*")) == ["crm.deal.list-0001.json",
                                                                       "crm.deal.list-0002.json"]  # fmt: skip
    assert len(list(folder.glob("crm.stagehistory.list-*"))) == 4
    starts = [q.get("start", "0") for method, q in portal.requests if method == "crm.deal.list"]
    assert starts == ["0", "2"]
    reference = connect(tmp_path / "files.duckdb")
    load(reference, [FIXTURES_B24])
    reference.close()
    assert _rows(db) == _rows(tmp_path / "files.duckdb")


def test_bitrix24_second_pull_asks_only_for_changes(portal, tmp_path):
    raw = tmp_path / "raw"
    assert bitrix24.run(raw, portal.base_url).since is None
    cursor = json.loads((raw / "cursor.json").read_text())["since"]
    portal.requests.clear()
    time.sleep(1)
    second = bitrix24.run(raw, portal.base_url)
    asked = dict(portal.requests)
    since = datetime.fromtimestamp(cursor, UTC).isoformat(timespec="seconds")
    assert asked["crm.deal.list"]["filter[>DATE_MODIFY]"] == since
    assert asked["crm.stagehistory.list"]["filter[>CREATED_TIME]"] == since
    assert second.records["crm.deal.list"] == 0 and second.records["crm.status.list"] == 11  # stages whole


def test_a_wrong_webhook_is_one_line(portal, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CRMKIT_BITRIX24_TOKEN", "wrong-code-77")
    assert main(["pull", "bitrix24", "--out", str(tmp_path / "raw"), "--base-url", portal.base_url]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "CRMKIT_BITRIX24_TOKEN" in error and "wrong-code-77" not in error


@pytest.fixture
def pipedrive_api(monkeypatch):
    monkeypatch.setattr(pipedrive, "PER_SECOND", 100)
    with MockPipedrive() as server:
        monkeypatch.setenv("CRMKIT_PIPEDRIVE_TOKEN", server.token)
        yield server


def test_pipedrive_deals_and_each_flow_load_as_its_responses_do(pipedrive_api, tmp_path):
    pipedrive_api.trouble = {("/deals", 2): [429]}
    db = tmp_path / "pulled.duckdb"
    command = ["pull", "pipedrive", "--out", str(tmp_path / "raw"), "--base-url", pipedrive_api.base_url,
               "--load", "--db", str(db), "--tz", "Europe/Berlin"]  # fmt: skip
    assert main(command) == 0
    folder = next(p for p in (tmp_path / "raw").iterdir() if p.is_dir())
    # 5 stages, 2 a page: 3 pages; 4 deals: 2 pages (the second after a 429); a flow per deal, asked
    # for its deal changes only: deal 1 has 4 (2 pages), deal 3 one, deals 2 and 4 none (no data)
    names = sorted(p.name for p in folder.iterdir())
    assert {"deals-0001.json", "deals-0002.json", "stages-0003.json"} <= set(names)
    assert sorted(n for n in names if n.startswith("flow-")) == [
        "flow-1-0001.json", "flow-1-0002.json", "flow-2-0001.json", "flow-3-0001.json", "flow-4-0001.json"]
    assert {q.get("items") for path, q in pipedrive_api.requests if path.endswith("/flow")} == {"dealChange"}
    reference = connect(tmp_path / "files.duckdb")
    load(reference, [PIPEDRIVE_API], time_zone="Europe/Berlin")
    reference.close()
    rows = _rows(db)
    assert rows == _rows(tmp_path / "files.duckdb")
    # by hand, from deals.json: deal 1 was created 2026-09-01 06:00 UTC and won 2026-09-20 13:00 UTC
    # (the API's times are UTC whatever --tz says); its path: Qualified, Proposal Made, Negotiations
    # Started (from its flow), Won
    assert sorted(rows["users"]) == [
        ("Jane Doe", "Jane Doe", None, True), ("John Roe", "John Roe", None, True),
        ("Old Hand", "Old Hand", None, False),  # from /v1/users: inactive, and owns no deal
    ]  # fmt: skip
    path = [(r[2], r[3]) for r in rows["stage_changes"] if r[0] == "1"]
    assert sorted(path, key=lambda r: r[1]) == [
        ("Qualified", datetime(2026, 9, 1, 6, 0)),
        ("Proposal Made", datetime(2026, 9, 4, 9, 0)),
        ("Negotiations Started", datetime(2026, 9, 12, 14, 0)),
        ("Won", datetime(2026, 9, 20, 13, 0)),
    ]


def test_pipedrive_second_pull_asks_for_recent_deals_and_their_flow_only(pipedrive_api, tmp_path):
    raw = tmp_path / "raw"
    pipedrive.run(raw, pipedrive_api.base_url)
    pipedrive_api.move(3, 4, datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"))
    pipedrive_api.requests.clear()
    time.sleep(1)
    second = pipedrive.run(raw, pipedrive_api.base_url)
    paths = [path for path, _ in pipedrive_api.requests]
    assert "/recents" in paths and "/deals" not in paths
    assert [p for p in paths if p.endswith("/flow")] == ["/deals/3/flow"]  # the changed deal's flow only
    assert second.records["deals"] == 1


@pytest.fixture
def hubspot_api(monkeypatch):
    monkeypatch.setattr(hubspot, "PER_SECOND", 100)
    with MockHubSpot() as server:
        monkeypatch.setenv("CRMKIT_HUBSPOT_TOKEN", server.token)
        yield server


def test_hubspot_deals_with_every_stages_date_entered_load_as_its_responses_do(hubspot_api, tmp_path):
    hubspot_api.trouble = {("/crm/v3/objects/deals", "2"): [429]}
    db = tmp_path / "pulled.duckdb"
    command = ["pull", "hubspot", "--out", str(tmp_path / "raw"), "--base-url", hubspot_api.base_url,
               "--load", "--db", str(db)]  # fmt: skip
    assert main(command) == 0
    deals = [q for path, q in hubspot_api.requests if path == "/crm/v3/objects/deals"]
    asked = deals[0]["properties"].split(",")
    # the 7 stages of the two pipelines (pipelines.json), each v2 and legacy, besides the usual 13
    assert len(asked) == 13 + 7 * 2 and "hs_v2_date_entered_1122335" in asked
    assert [q.get("after") for q in deals] == [None, "2"]  # page two after a 429
    reference = connect(tmp_path / "files.duckdb")
    load(reference, [HUBSPOT_API])
    reference.close()
    rows = _rows(db)
    assert rows == _rows(tmp_path / "files.duckdb")
    assert sorted({r[0] for r in rows["users"]}) == ["Ann Lee", "Bob Ray", "Cy Fox"]  # owners by name


def test_hubspot_second_pull_searches_what_was_modified_since(hubspot_api, tmp_path):
    raw = tmp_path / "raw"
    hubspot.run(raw, hubspot_api.base_url)
    since = json.loads((raw / "cursor.json").read_text())["since"]
    changed = hubspot_api.deals[2]["properties"]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    changed.update(dealstage="closedwon", hs_lastmodifieddate=now)
    hubspot_api.requests.clear()
    time.sleep(1)
    second = hubspot.run(raw, hubspot_api.base_url)
    search = [body for path, body in hubspot_api.requests if path == "/crm/v3/objects/deals/search"]
    assert search[0]["filterGroups"][0]["filters"][0] == {
        "propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(since * 1000)}  # fmt: skip
    assert second.records["deals"] == 1
    assert not [path for path, _ in hubspot_api.requests if path == "/crm/v3/objects/deals"]


@pytest.fixture
def salesforce_org(monkeypatch):
    from crmkit.pull import salesforce

    monkeypatch.setattr(salesforce, "PER_SECOND", 100)
    with MockSalesforce() as server:
        monkeypatch.setenv("CRMKIT_SALESFORCE_TOKEN", server.token)
        yield server


def test_salesforce_queries_become_the_data_export_and_load_as_it_does(salesforce_org, tmp_path):
    db = tmp_path / "pulled.duckdb"
    command = ["pull", "salesforce", "--out", str(tmp_path / "raw"), "--base-url", salesforce_org.base_url,
               "--load", "--db", str(db)]  # fmt: skip
    assert main(command) == 0
    folder = next(p for p in (tmp_path / "raw").iterdir() if p.is_dir())
    # 9 opportunities, 3 a page: 3 pages, kept as they came in pages/; one CSV per object
    assert len(list((folder / "pages").glob("Opportunity-*.json"))) == 3
    assert {"Opportunity.csv", "OpportunityHistory.csv", "User.csv", "CurrencyType.csv"} <= {
        p.name for p in folder.iterdir()}  # fmt: skip
    assert all(q.startswith("SELECT FIELDS(STANDARD) FROM ") for q in salesforce_org.queries)
    reference = connect(tmp_path / "files.duckdb")
    load(reference, [FIXTURES_SF])
    reference.close()
    assert _rows(db) == _rows(tmp_path / "files.duckdb")


def test_salesforce_second_pull_asks_for_what_changed_and_keeps_the_stages(salesforce_org, tmp_path):
    """An opportunity saved again after the first pull with only its amount changed: the second
    pull asks by SystemModstamp and CreatedDate; the new save is not a new stage entry."""
    db, raw = tmp_path / "crm.duckdb", tmp_path / "raw"
    pull = ["pull", "salesforce", "--out", str(raw), "--base-url", salesforce_org.base_url, "--load",
            "--db", str(db)]  # fmt: skip
    assert main(pull) == 0
    before = _rows(db)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    opportunity = next(r for r in salesforce_org.objects["Opportunity"] if r["Id"] == "006A5")
    opportunity.update(Amount=7777.0, SystemModstamp=now)
    last = [r for r in salesforce_org.objects["OpportunityHistory"] if r["OpportunityId"] == "006A5"][-1]
    salesforce_org.objects["OpportunityHistory"].append(
        {**last, "Id": "008A599", "Amount": 7777.0, "CreatedDate": now, "SystemModstamp": now})
    salesforce_org.absent = {"CurrencyType", "DatedConversionRate"}  # an org without several currencies
    salesforce_org.queries.clear()
    time.sleep(1)
    assert main(pull) == 0
    changed = [q for q in salesforce_org.queries if " WHERE " in q]
    assert {q.split(" FROM ")[1].split(" WHERE ")[0] for q in changed} == {
        "Opportunity", "OpportunityHistory", "Task", "Event"}  # fmt: skip
    after = _rows(db)
    assert [r for r in after["stage_changes"] if r[0] == "006A5"] == [
        r for r in before["stage_changes"] if r[0] == "006A5"]  # the amount save is no stage entry
    amount = next(r for r in after["deals"] if r[0] == "006A5")
    assert 7777 in amount


def test_a_raw_folder_rebuilds_what_the_pulls_loaded(mock, tmp_path, capsys):
    """Two pulls with a change between, each loaded as it came (`--load`); then the raw folder
    loaded into a new database: every canonical table the same, the cursor the same, and the
    cursor file (and an unfinished pull) named as left aside."""
    pulled, raw = tmp_path / "pulled.duckdb", tmp_path / "raw"
    pull = ["pull", "amocrm", "--out", str(raw), "--base-url", mock.base_url, "--load", "--db", str(pulled)]
    assert main(pull) == 0
    lead = next(r for r in mock.data["/api/v4/leads"] if r["id"] == 202)
    stages = [s["id"] for p in mock.pipelines["_embedded"]["pipelines"] for s in p["_embedded"]["statuses"]
              if p["id"] == lead["pipeline_id"] and s["id"] not in (lead["status_id"], 142, 143)]  # fmt: skip
    mock.update_lead(202, status_id=stages[-1], pipeline_id=lead["pipeline_id"], at=int(time.time()),
                     event_id="new-1")  # fmt: skip
    time.sleep(1)  # a new folder: named by the second
    assert main(pull) == 0
    (raw / ".partial").mkdir()  # a pull interrupted since: not loaded
    capsys.readouterr()
    rebuilt = tmp_path / "rebuilt.duckdb"
    assert main(["load", "--format", "amocrm", str(raw), "--db", str(rebuilt), "--tz", "UTC"]) == 0
    out = capsys.readouterr().out
    assert "2 pulls loaded in order; left aside: .partial/, cursor.json" in out
    assert _rows(rebuilt) == _rows(pulled)
    cursors = []
    for db in (pulled, rebuilt):
        con = connect(db, read_only=True)
        kept = "select max(pull_cursor), count(distinct pull_cursor) from main.loads"
        cursors.append(con.execute(kept).fetchone())
        con.close()
    assert cursors[0] == cursors[1] and cursors[0][1] == 2
    assert cursors[0][0] == json.loads((raw / "cursor.json").read_text())["since"]
