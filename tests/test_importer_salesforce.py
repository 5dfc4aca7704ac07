"""The Salesforce Data Export importer on a hand-made export: repeated saves collapse into stage
entries, a deleted record is rejected with its reason, stages take the export's order."""

from pathlib import Path

import pytest

from crmkit import metrics
from crmkit.db import connect
from crmkit.importers import load
from tests.conftest import write_tables

EXPORT = {
    "Opportunity": """
        "Id","IsDeleted","Name","StageName","StageSortOrder","Amount","CloseDate","LeadSource","IsClosed","IsWon","OwnerId","CreatedDate"
        "006A","0","Acme","Closed Won","9","1000","2024-03-10","Web","1","1","005U","2024-03-01 09:00:00"
        "006B","0","Globex","Qualification","2","500","2024-06-30","Partner","0","0","005U","2024-03-05 09:00:00"
        "006C","1","Deleted","Prospecting","1","","","","0","0","005U","2024-03-06 09:00:00"
    """,
    "OpportunityHistory": """
        "Id","OpportunityId","CreatedById","CreatedDate","StageName","Amount","Probability"
        "008A1","006A","005U","2024-03-01 09:00:00","Prospecting","800","10"
        "008A2","006A","005U","2024-03-02 09:00:00","Prospecting","1000","10"
        "008A3","006A","005U","2024-03-04 09:00:00","Qualification","1000","20"
        "008A4","006A","005U","2024-03-10 09:00:00","Closed Won","1000","100"
        "008B1","006B","005U","2024-03-05 09:00:00","Qualification","500","20"
        "008C1","006C","005U","2024-03-06 09:00:00","Prospecting","0","10"
    """,
    "User": """
        "Id","Name"
        "005U","Ann Lee"
    """,
}


def test_salesforce_export(tmp_path):
    folder = write_tables(tmp_path / "export", EXPORT)
    con = connect(tmp_path / "crm.duckdb")
    results = {r.table: r for r in load(con, [folder])}
    deals = results["deals"]
    assert (deals.rows_read, deals.rows_loaded, deals.rows_rejected) == (3, 2, 1)
    assert deals.top_reasons == [("deleted in Salesforce (IsDeleted)", 1, "deleted in Salesforce (IsDeleted)")]
    history = results["stage_changes"]
    # 006A: Prospecting twice (one entry), Qualification, Closed Won; 006B: one; 006C: its deal was rejected
    assert (history.rows_read, history.rows_loaded, history.rows_rejected) == (6, 4, 2)
    entries = con.execute(
        "select deal_id, stage_id, entered_at::varchar from stage_changes "
        "where not is_synthetic order by deal_id, entered_at"
    ).fetchall()
    assert entries[:3] == [
        ("006A", "Prospecting", "2024-03-01 09:00:00"),
        ("006A", "Qualification", "2024-03-04 09:00:00"),
        ("006A", "Closed Won", "2024-03-10 09:00:00"),
    ]
    stages = con.execute("select stage_id, kind from stages order by position").fetchall()
    assert stages[:2] == [("Prospecting", "open"), ("Qualification", "open")] and stages[-1] == (
        "Closed Won",
        "won",
    )
    status = dict(con.execute("select deal_id, status from deals").fetchall())
    assert status == {"006A": "won", "006B": "open"}
    assert con.execute("select name from users").fetchall() == [("Ann Lee",)]
    assert con.execute("select closed_at::varchar from deals where deal_id = '006B'").fetchone() == (None,)


def test_salesforce_tasks_and_events(tmp_path):
    """Task.csv and Event.csv become activities; only those about an Opportunity keep a deal."""
    tables = dict(EXPORT)
    tables["Task"] = """
        "Id","WhatId","WhoId","OwnerId","Subject","ActivityDate","Status","IsClosed","TaskSubtype","CallType","CallDurationInSeconds","CompletedDateTime","IsDeleted","CreatedDate"
        "00T1","006A","003X","005U","Call","2024-03-02","Completed","1","Call","Outbound","125","2024-03-02 10:15:00","0","2024-03-02 10:00:00"
        "00T2","006B","","005U","Send quote","2024-07-01","Not Started","0","Task","","","","0","2024-03-05 09:30:00"
        "00T3","001Z","","005V","Email","2024-03-03","Completed","1","Email","","","2024-03-03 08:00:00","0","2024-03-03 08:00:00"
        "00T4","006A","","005U","Old","2024-03-01","Completed","1","Call","Inbound","30","2024-03-01 12:00:00","1","2024-03-01 12:00:00"
    """
    tables["Event"] = """
        "Id","WhatId","OwnerId","Subject","StartDateTime","EndDateTime","DurationInMinutes","IsDeleted","CreatedDate"
        "00U1","006A","005U","Demo","2024-03-03 14:00:00","2024-03-03 15:00:00","60","0","2024-03-02 11:00:00"
        "00U2","006B","005U","Follow-up","2024-07-02 10:00:00","2024-07-02 10:30:00","30","0","2024-03-06 09:00:00"
    """
    folder = write_tables(tmp_path / "export", tables)
    con = connect(tmp_path / "crm.duckdb")
    results = {(r.file.name, r.table): r for r in load(con, [folder])}
    tasks = results[("Task.csv", "activities")]
    assert (tasks.rows_read, tasks.rows_loaded, tasks.rows_rejected) == (4, 3, 1)
    assert tasks.top_reasons == [("deleted in Salesforce (IsDeleted)", 1, "deleted in Salesforce (IsDeleted)")]
    assert con.execute(
        "select activity_id, deal_id, owner_id, kind, direction, status, started_at::varchar, due_at::varchar, "
        "duration_s from activities order by 1"
    ).fetchall() == [
        ("00T1", "006A", "005U", "call", "out", "done", "2024-03-02 10:15:00", "2024-03-02 00:00:00", 125),
        ("00T2", "006B", "005U", "task", None, "planned", None, "2024-07-01 00:00:00", None),
        ("00T3", None, "005V", "email", None, "done", "2024-03-03 08:00:00", "2024-03-03 00:00:00", None),
        ("00U1", "006A", "005U", "meeting", None, "done", "2024-03-03 14:00:00", "2024-03-03 14:00:00", 3600),
        # starts after the export's latest event was created: still planned
        ("00U2", "006B", "005U", "meeting", None, "planned", "2024-07-02 10:00:00", "2024-07-02 10:00:00", 1800),
    ]
    assert con.execute("select user_id from users order by 1").fetchall() == [("005U",), ("005V",)]


# --- a real-shaped Data Export (tests/fixtures/salesforce/README.md) ------------------------------

FIXTURE = Path(__file__).parent / "fixtures" / "salesforce"


def test_real_shaped_export_loads_every_file(tmp_path):
    con = connect(tmp_path / "crm.duckdb")
    results = {(r.file.name, r.table): (r.rows_read, r.rows_loaded, r.rows_rejected) for r in load(con, [FIXTURE])}
    assert results[("Opportunity.csv", "deals")] == (9, 8, 1)  # 006A9 deleted
    assert results[("User.csv", "users")] == (2, 2, 0)  # accounted like every file
    assert results[("Opportunity.csv", "users")] == (1, 1, 0)  # 005U3, an owner User.csv lacks
    # 15 saves: 006A2's second Discovery save (amount only) is not a stage change
    assert results[("OpportunityHistory.csv", "stage_changes")] == (15, 14, 1)
    assert results[("CurrencyType.csv", "currency_rates")] == (4, 4, 0)
    assert results[("DatedConversionRate.csv", "currency_rates")] == (2, 2, 0)
    assert con.execute("select user_id, name, team, is_active from users order by 1").fetchall() == [
        ("005U1", "Ann Lee", "Sales", True),
        ("005U2", "Bob Stone", None, False),
        ("005U3", "005U3", None, True),
    ]
    # Discovery is seen only in the history: the votes of the deals that entered it (006A2, 006A5,
    # 006A7 all entered Prospecting first and Qualification after) put it between the two.
    assert con.execute("select stage_id, position, kind from stages order by position").fetchall() == [
        ("Prospecting", 1, "open"),
        ("Discovery", 2, "open"),
        ("Qualification", 3, "open"),
        ("Closed Won", 4, "won"),
        ("Closed Lost", 5, "lost"),
    ]
    # AccountId gives the client base of the weekly table: by the week of 18 March, clients
    # Acme Corp, Globex and 001Z have deals (3); Acme's and Globex's first deals fell in the week of
    # 4 March, 001Z's in the week of 11 March.
    weekly = metrics.weekly_kpi(con, as_of="2024-03-25", period_start="2024-03-04")
    team = weekly[(weekly["level"] == "team") & (weekly["week"] >= "2024-03-04")]
    assert team["client_base"].tolist() == [2, 3, 3]
    assert team["new_clients"].tolist() == [2, 1, 0]
    assert dict(con.execute("select deal_id, client from deals").fetchall()) == {
        "006A1": "Acme Corp", "006A2": "Globex", "006A3": "001Z", "006A4": "Acme Corp",
        "006A5": "Globex", "006A6": "Acme Corp", "006A7": "Globex", "006A8": "Acme Corp",
    }  # fmt: skip


def test_real_shaped_export_close_times_and_won_cycle(tmp_path):
    con = connect(tmp_path / "crm.duckdb")
    load(con, [FIXTURE])
    closed = dict(con.execute("select deal_id, closed_at::varchar from deals where status <> 'open'").fetchall())
    assert closed == {
        "006A1": "2024-03-04 16:35:00",  # entered Closed Won (history), not CloseDate's midnight
        "006A2": "2024-03-08 12:00:00",
        "006A3": "2024-03-11 15:00:00",  # no history: the close day, not before the creation at 15:00
        "006A4": "2024-03-15 00:00:00",  # really closed before created (2024-03-20): kept as it is
        "006A7": "2024-03-09 15:00:00",
    }
    window = {"as_of": "2024-04-01", "period_start": "2024-01-01"}
    team = metrics.won_cycle(con, **window).query("level == 'team'").iloc[0]
    # won: 006A1 2.5 h = 0.10417 d, 006A2 3 d 3 h = 3.125 d, 006A3 0 d -> median 0.10417 d, n 3
    assert team["n"] == 3 and team["n_excluded"] == 0
    assert team["median_days"] == pytest.approx(2.5 / 24)
    assert team["mean_days"] == pytest.approx((2.5 / 24 + 3.125 + 0) / 3)
    audit = metrics.data_audit(con, **window).set_index("check_name")
    assert audit.loc["closed_before_created", "found"] == 1  # 006A4 only


def test_real_shaped_export_money_in_the_corporate_currency(tmp_path):
    con = connect(tmp_path / "crm.duckdb")
    load(con, [FIXTURE])
    money = con.execute(
        "select deal_id, amount_original::double, currency_original, amount::double, currency, is_priced "
        "from deals_at('2024-04-01'::timestamp) order by deal_id"
    ).fetchall()
    assert money == [
        ("006A1", 1000, "USD", 1000, "USD", True),
        ("006A2", 2000, "EUR", 2500, "USD", True),  # won 03-08: dated rate 0.8 EUR per USD
        ("006A3", 30000, "MXN", 1764.71, "USD", True),  # undated 17 MXN per USD
        ("006A4", 500, "USD", 500, "USD", True),
        ("006A5", 5000, "EUR", 5555.56, "USD", True),  # open: the rate on as_of (0.9 from 03-10)
        ("006A6", 100000, "COP", 25, "USD", True),  # 4000 COP per USD
        ("006A7", 700, "USD", 700, "USD", True),
        ("006A8", 800, "GBP", None, "USD", False),  # no GBP rate: not priced, never at 1
    ]
    window = {"as_of": "2024-04-01", "period_start": "2024-01-01"}
    team = metrics.won_cycle(con, **window).query("level == 'team'").iloc[0]
    assert team["won_amount"] == pytest.approx(1000 + 2500 + 1764.71)
    wip = metrics.stage_durations(con, **window).set_index("stage")
    # Prospecting holds 006A6 (25 USD) and 006A8 (GBP, unpriced): 25 USD, not 825 "USD"
    assert wip.loc["Prospecting", "wip_amount"] == pytest.approx(25)
    assert wip.loc["Prospecting", "currency"] == "USD"


def test_rates_file_converts_and_the_report_says_what_it_priced(tmp_path):
    """A user's rates file in place of the export's: EUR at 1.25 USD until 10 March, then 1.2;
    GBP still has none. The report's data note says what share was priced."""
    from crmkit import report

    folder = tmp_path / "export"
    folder.mkdir()
    for name in ("Opportunity", "OpportunityHistory", "User"):
        (folder / f"{name}.csv").write_bytes((FIXTURE / f"{name}.csv").read_bytes())
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,date,rate\nUSD,,1\nEUR,2024-01-01,1.25\nEUR,2024-03-10,1.2\n", encoding="utf-8")
    con = connect(tmp_path / "crm.duckdb")
    load(con, [folder], rates_file=rates)
    amounts = dict(con.execute(
        "select deal_id, amount::double from deals_at('2024-04-01'::timestamp) where currency_original <> 'USD'"
    ).fetchall())
    # 006A2: 2000 EUR × 1.25 (won 03-08); 006A5: 5000 × 1.2 (open: rate on as_of); MXN, COP, GBP: no rate given
    assert amounts == {"006A2": 2500.0, "006A5": 6000.0, "006A3": None, "006A6": None, "006A8": None}
    con.close()
    ctx = report.open_report(str(tmp_path / "crm.duckdb"), as_of="2024-04-01", period_start="2024-01-01")
    html = report.header(ctx, "01", {}).data
    assert "Money is in USD: 5 of 8\u00a0deals with an amount (62%)" in html  # a count and its noun never part
    assert "latest dated rate 2024-03-10" in html
    assert "100,000 COP (n=1); 30,000 MXN (n=1); 800 GBP (n=1)" in html
