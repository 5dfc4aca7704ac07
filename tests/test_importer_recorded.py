"""The HubSpot, Pipedrive and Bitrix24 importers on records those CRMs really gave (connector and
SDK fixtures, recorded responses, the vendor's documented answers; each folder's README cites
where they come from), with the awkward cases real accounts add written out here. Every expected
figure is read off the records by hand in the comments."""

import json
import shutil
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from crmkit import metrics
from crmkit.db import connect
from crmkit.errors import CrmkitError
from crmkit.importers import load

FIXTURES = Path(__file__).parent / "fixtures"


def rows(con, sql):
    return con.execute(sql).fetchall()


def accounted(results):
    for r in results:
        assert r.rows_read == r.rows_loaded + r.rows_rejected, r
    return {(r.file.name, r.table): (r.rows_read, r.rows_loaded, r.rows_rejected) for r in results}


# --- HubSpot: Airbyte's recorded deals and legacy pipelines --------------------------------------

HS = FIXTURES / "hubspot" / "recorded"
NEW_BUSINESS = "b9152945-a594-4835-9676-a6f405fecd71"


def test_hubspot_recorded_legacy_pipelines_and_open_deals(tmp_path):
    con = connect(tmp_path / "crm.duckdb")
    accounted(load(con, [HS / "deals.json", HS / "pipelines_v1.json"], fmt="hubspot"))
    # The legacy pipeline by its pipelineId and label; the deals' own pipeline `default`, which the
    # pipelines file does not list, by its id.
    assert rows(con, "select pipeline_id, name from pipelines order by name") == [
        (NEW_BUSINESS, "New Business Pipeline"),
        ("default", "default"),
    ]
    # Its stages by stageId: open ones by displayOrder 0, 1, 3, then the won one. «Closed Lost» says
    # isClosed "false", so by its metadata it is open.
    assert rows(con, f"select stage_id, name, kind, position from stages where pipeline_id = '{NEW_BUSINESS}' "
                     "order by position") == [
        ("9567448", "Initial Qualification", "open", 1),
        ("9567449", "Negotiation", "open", 2),
        ("66894120", "Closed Lost", "open", 3),
        ("customclosedwonstage", "Success! Closed Won", "won", 4),
    ]  # fmt: skip
    # The default pipeline's stage the deals are in: HubSpot's first default stage, open.
    assert rows(con, "select stage_id, kind from stages where pipeline_id = 'default'") == [
        ("appointmentscheduled", "open")
    ]
    # Three open deals of owner 52550153, amounts 6, 10 and 60, no close time: each closedate is an
    # expected close (Test Deal 332's is 2014-08-31, seven years before its creation).
    assert rows(con, "select deal_id, status, amount, owner_id, created_at, closed_at from deals order by deal_id") == [
        ("4280411910", "open", Decimal("6.00"), "52550153", datetime(2021, 2, 22, 14, 1, 11, 762000), None),
        ("4315375411", "open", Decimal("10.00"), "52550153", datetime(2021, 2, 23, 20, 20, 10, 826000), None),
        ("5313445525", "open", Decimal("60.00"), "52550153", datetime(2021, 5, 21, 10, 21, 28, 593000), None),
    ]  # fmt: skip
    # One stage entry each: the filled hs_date_entered_appointmentscheduled (the other ten are null).
    assert rows(con, "select deal_id, stage_id, entered_at from stage_changes where not is_synthetic order by 1") == [
        ("4280411910", "appointmentscheduled", datetime(2021, 2, 22, 14, 1, 11, 762000)),
        ("4315375411", "appointmentscheduled", datetime(2021, 2, 23, 20, 21, 32, 862000)),
        ("5313445525", "appointmentscheduled", datetime(2021, 5, 21, 10, 22, 40, 228000)),
    ]  # fmt: skip
    audit = metrics.data_audit(con, as_of="2026-01-01").set_index("check_name")["found"]
    assert audit["closed_before_created"] == 0  # an expected close before creation is no close
    assert audit["flags_contradict_stage"] == 0


def test_hubspot_a_deal_flag_does_not_make_its_stage_won(tmp_path):
    """What real accounts have: a deal in the open `appointmentscheduled` flagged
    hs_is_closed_won true (and closed). Without a pipelines file the old reading made the whole
    stage won — win rate 100 %. The stage is HubSpot's default open stage: every deal stays open,
    the flagged one is listed by the audit, its closedate is no close."""
    doc = json.loads((HS / "deals.json").read_text())
    flagged = json.loads(json.dumps(doc["results"][1]))
    flagged["id"] = flagged["properties"]["hs_object_id"] = "4315375499"
    flagged["properties"].update(hs_is_closed_won=True, hs_is_closed=True)
    doc["results"].append(flagged)
    (tmp_path / "deals.json").write_text(json.dumps(doc))
    con = connect(tmp_path / "crm.duckdb")
    accounted(load(con, [tmp_path / "deals.json"], fmt="hubspot"))
    assert rows(con, "select stage_id, kind from stages") == [("appointmentscheduled", "open")]
    # four deals, all open, none with a close time
    assert rows(con, "select status, count(*), count(closed_at) from deals group by 1") == [("open", 4, 0)]
    notes = rows(con, "select record_id, note from load_notes")
    assert [n[0] for n in notes] == ["4315375499"]
    assert "hs_is_closed_won true but stage appointmentscheduled is open" in notes[0][1]
    audit = metrics.data_audit(con, as_of="2026-01-01").set_index("check_name")
    assert audit.loc["flags_contradict_stage", "found"] == 1
    assert audit.loc["flags_contradict_stage", "examples"] == "4315375499"
    # A later export with the flag cleared replaces the note: the audit no longer lists it.
    flagged["properties"].update(hs_is_closed_won=False, hs_is_closed=False)
    (tmp_path / "again.json").write_text(json.dumps({"results": [flagged]}))
    load(con, [tmp_path / "again.json"], fmt="hubspot")
    assert rows(con, "select count(*) from load_notes") == [(0,)]


def test_hubspot_custom_stage_kind_is_what_most_of_its_deals_say(tmp_path):
    """A custom stage no pipelines file lists: 2 of its 3 deals flagged won make it won; the third,
    flagged open, is kept won and listed. A custom stage with 1 won flag of 3 stays open."""
    doc = json.loads((HS / "deals.json").read_text())
    base = doc["results"][0]
    deals = []
    for i, (stage, won) in enumerate([("777", True), ("777", True), ("777", False),
                                      ("888", True), ("888", False), ("888", False)]):  # fmt: skip
        deal = json.loads(json.dumps(base))
        deal["id"] = deal["properties"]["hs_object_id"] = str(900 + i)
        deal["properties"].update(dealstage=stage, hs_is_closed_won=won, hs_is_closed=won)
        deals.append(deal)
    (tmp_path / "deals.json").write_text(json.dumps({"results": deals}))
    con = connect(tmp_path / "crm.duckdb")
    accounted(load(con, [tmp_path / "deals.json"], fmt="hubspot"))
    assert rows(con, "select stage_id, kind from stages where stage_id in ('777', '888') order by 1") == [
        ("777", "won"), ("888", "open")
    ]
    # 902 (open flag in a won stage) and 903 (won flag in an open stage) are the contradictions
    assert rows(con, "select record_id from load_notes order by 1") == [("902",), ("903",)]
    # the won stage's deals close at their closedate (2014-08-31, the recorded one)
    assert rows(con, "select deal_id, status, closed_at from deals where stage_id = '777' order by 1") == [
        ("900", "won", datetime(2014, 8, 31)), ("901", "won", datetime(2014, 8, 31)), ("902", "won", datetime(2014, 8, 31)),
    ]  # fmt: skip
    audit = metrics.data_audit(con, as_of="2026-01-01").set_index("check_name")["found"]
    assert audit["closed_before_created"] == 3  # a close recorded before the creation is an error


def test_hubspot_v3_pipelines_still_read(tmp_path):
    con = connect(tmp_path / "crm.duckdb")
    accounted(load(con, [FIXTURES / "hubspot" / "api"], fmt="hubspot"))
    assert rows(con, "select count(*) from pipelines where name = 'Sales Pipeline'") == [(1,)]


# --- Pipedrive: recorded deals, a partial stages list, pipelines beside them ----------------------

PD = FIXTURES / "pipedrive" / "recorded"


def test_pipedrive_recorded_deals_keep_their_own_pipeline(tmp_path):
    con = connect(tmp_path / "crm.duckdb")
    results = accounted(load(con, [PD], fmt="pipedrive"))
    assert results[("deal_1315.json", "deals")] == (1, 1, 0)  # loaded, not refused for its unlisted stage
    # Every pipeline /v1/pipelines lists, by name — «Тендеры» has no deal and is kept.
    assert rows(con, "select pipeline_id from pipelines order by 1") == [("Партнёры",), ("Продажи",), ("Тендеры",)]
    # Deal 1: stage 3 of pipeline 1, «Коммерческое предложение» in «Продажи», 4 000 RUB, its owner
    # by user_id.name. Deal 1315: its own pipeline_id 2, «Партнёры»; stage 14 is listed nowhere, so
    # it is named by its id; its user_id is a bare id, so the owner is its owner_name.
    assert rows(con, "select deal_id, pipeline_id, stage_id, status, amount, currency, owner_id, created_at "
                     "from deals order by deal_id::int") == [
        ("1", "Продажи", "Коммерческое предложение", "open", Decimal("4000.00"), "RUB", "Менеджер Один",
         datetime(2015, 2, 10, 13, 41, 27)),
        ("1315", "Партнёры", "14", "open", Decimal("9999.00"), "EUR", "owner name", datetime(2018, 7, 3, 8, 38, 17)),
    ]  # fmt: skip
    # The listed stages in order_nr, then each pipeline's Won and Lost; «Тендеры»'s stage kept.
    assert rows(con, "select stage_id, position from stages where pipeline_id = 'Продажи' and kind = 'open' "
                     "order by position") == [
        ("Первый контакт", 1), ("Выявление потребности", 2), ("Коммерческое предложение", 3), ("Договор", 4)
    ]  # fmt: skip
    assert rows(con, "select stage_id, kind from stages where pipeline_id = 'Тендеры' order by position") == [
        ("Заявка", "open")
    ]
    assert rows(con, "select stage_id, kind from stages where pipeline_id = 'Партнёры' order by position") == [
        ("14", "open"), ("Won", "won"), ("Lost", "lost")
    ]
    # Nothing rejected anywhere.
    assert rows(con, "select count(*) from rejects") == [(0,)]


def test_pipedrive_bare_owner_id_is_named_from_users(tmp_path):
    shutil.copytree(PD, tmp_path / "in")
    users = {"success": True, "data": [
        {"id": 4011602, "name": "Дарья Смирнова", "email": "d@example.com", "active_flag": True},
        {"id": 487920, "name": "Менеджер Один", "email": "manager@example.com", "active_flag": False},
    ]}  # fmt: skip
    (tmp_path / "in" / "users.json").write_text(json.dumps(users, ensure_ascii=False))
    con = connect(tmp_path / "crm.duckdb")
    accounted(load(con, [tmp_path / "in"], fmt="pipedrive"))
    # 4011602 by its user's name, not by the deal's owner_name; deal 1's owner is inactive.
    assert rows(con, "select deal_id, owner_id from deals order by deal_id::int") == [
        ("1", "Менеджер Один"), ("1315", "Дарья Смирнова")
    ]
    assert rows(con, "select user_id, is_active from users order by 1") == [
        ("Дарья Смирнова", True), ("Менеджер Один", False)
    ]


# --- Bitrix24: batch answers ----------------------------------------------------------------------

BX = FIXTURES / "bitrix24"


def bitrix_folder(tmp_path, *names, batch=None) -> Path:
    folder = tmp_path / "in"
    folder.mkdir(parents=True)
    for name in names:
        shutil.copy(BX / name, folder / name)
    if batch is not None:
        (folder / "batch.json").write_text(json.dumps(batch, ensure_ascii=False))
    return folder


def test_bitrix_batch_answer_loads_every_command(tmp_path):
    """The batch holds the two deal pages and the stage history: the same account as the plain
    files give, table by table."""
    plain = connect(tmp_path / "plain.duckdb")
    load(plain, [bitrix_folder(tmp_path / "a", "crm.status.list.json", "crm.category.list.json",
                               "crm.deal.list.json", "crm.stagehistory.list.json")], fmt="bitrix24")  # fmt: skip
    batched = connect(tmp_path / "batch.duckdb")
    folder = bitrix_folder(tmp_path / "b", "crm.status.list.json", "crm.category.list.json")
    shutil.copy(BX / "batch" / "batch.json", folder)
    results = load(batched, [folder], fmt="bitrix24")
    accounted(results)
    assert results.not_read == {}
    for table in ("pipelines", "stages", "users", "deals", "stage_changes"):
        query = f"select * from {table} order by all"
        assert batched.execute(query).fetchall() == plain.execute(query).fetchall(), table
    n_deals = sum(len(p["result"]) for p in json.loads((BX / "crm.deal.list.json").read_text()))
    assert rows(batched, "select count(*) from deals") == [(n_deals,)]
    # one load row per table the batch filled: deals (both pages) and the stage history
    tables = {r.table for r in results if r.file.name == "batch.json"}
    assert {"deals", "stage_changes"} <= tables


def test_bitrix_batch_with_a_failed_command_is_refused_naming_it(tmp_path):
    batch = json.loads((BX / "batch" / "batch.json").read_text())
    del batch["result"]["result"]["deals_next"]
    batch["result"]["result_error"] = {"deals_next": {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}}
    con = connect(tmp_path / "crm.duckdb")
    with pytest.raises(CrmkitError) as caught:
        load(con, [bitrix_folder(tmp_path, "crm.status.list.json", batch=batch)], fmt="bitrix24")
    message = str(caught.value)
    assert "batch.json" in message and "deals_next: QUERY_LIMIT_EXCEEDED (Too many requests)" in message
    assert "\n" not in message


def test_bitrix_batch_alone_is_not_a_silent_empty_load(tmp_path):
    """A batch of deals beside the category list only: the deals need their stages, said so
    (the old reading took the batch for an empty file and loaded nothing with success)."""
    con = connect(tmp_path / "crm.duckdb")
    folder = bitrix_folder(tmp_path, "crm.category.list.json")
    shutil.copy(BX / "batch" / "batch.json", folder)
    with pytest.raises(CrmkitError, match="batch.json: Bitrix24 deals need their stages"):
        load(con, [folder], fmt="bitrix24")
