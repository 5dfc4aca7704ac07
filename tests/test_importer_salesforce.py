"""The Salesforce Data Export importer on a hand-made export: repeated saves collapse into stage
entries, a deleted record is rejected with its reason, stages take the export's order."""

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
