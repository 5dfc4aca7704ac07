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
    assert deals.top_reasons == [("deleted in Salesforce (IsDeleted)", 1)]
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
