"""The named CRM importers on hand-made exports in tests/fixtures/<crm>/, written from each
vendor's documented format. Every expected row below was read off the fixture by hand:
times are converted to UTC from the account's zone (Moscow = UTC+3, Berlin in September = UTC+2)
or from the offset / Unix time the file states."""

import shutil
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from crmkit.db import connect
from crmkit.errors import CrmkitError
from crmkit.importers import detect, load

FIXTURES = Path(__file__).parent / "fixtures"
MSK = "Europe/Moscow"


def rows(con, sql):
    return con.execute(sql).fetchall()


def counts(con):
    tables = ("pipelines", "stages", "users", "deals", "stage_changes", "activities", "loads", "rejects")
    return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in tables}


def by_table(results):
    out = {}
    for r in results:
        assert r.rows_read == r.rows_loaded + r.rows_rejected, r
        out[(r.file.name, r.table)] = (r.rows_read, r.rows_loaded, r.rows_rejected)
    return out


# --- amoCRM: the web interface's export --------------------------------------------------------

AMO_DEALS = [
    # deal_id, pipeline, stage, status, amount, currency, owner, source, client, created_at UTC, closed_at UTC
    ("101", "Основная воронка", "Переговоры", "open", Decimal("1234567.89"), "RUB", "Иванов Иван", "Сайт",
     "ООО «Ромашка»", datetime(2026, 11, 22, 11, 5), None),
    ("102", "Основная воронка", "Успешно реализовано", "won", Decimal("45000.00"), "RUB", "Петрова Анна", "Авито",
     "ИП Сидоров", datetime(2026, 11, 1, 6, 0), datetime(2026, 11, 20, 15, 30)),
    ("103", "Основная воронка", "Закрыто и не реализовано", "lost", Decimal("12500.50"), "RUB", "Иванов Иван",
     "Звонок", None, datetime(2026, 11, 5, 7, 0), datetime(2026, 11, 15, 9, 0)),
    ("105", "Партнёры", "Первичный контакт", "open", Decimal("300000.00"), "RUB", "Сидоров Пётр", "Партнёр", None,
     datetime(2026, 11, 10, 8, 0), None),
]  # fmt: skip
AMO_DEAL_SQL = """select deal_id, pipeline_id, stage_id, status, amount, currency, owner_id, source, client,
                         created_at, closed_at from deals order by deal_id"""
BAD_DATE = "created_at: 31.02.2026 10:00:00: cannot read as a date and time from 1970 to 2100"


def amo_export_as(tmp_path, encoding, newline="\n", delimiter=";") -> Path:
    text = (FIXTURES / "amocrm" / "export.csv").read_text(encoding="utf-8").replace(";", delimiter)
    if encoding == "cp1251":  # cp1251 has no ₽: amoCRM writes the currency out
        text = text.replace("Бюджет ₽", "Бюджет, руб.")
    path = tmp_path / "amocrm_export.csv"
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path


@pytest.mark.parametrize(
    ("encoding", "newline"),
    [("cp1251", "\n"), ("utf-8-sig", "\r\n")],
    ids=["cp1251-semicolon", "utf8-bom-crlf"],
)
def test_amocrm_export(tmp_path, encoding, newline):
    path = amo_export_as(tmp_path, encoding, newline)
    assert detect([path]) == "amocrm"
    con = connect(tmp_path / "crm.duckdb")
    results = by_table(load(con, [path], time_zone=MSK))
    assert results[(path.name, "deals")] == (5, 4, 1)
    assert rows(con, AMO_DEAL_SQL) == AMO_DEALS
    assert rows(con, "select source_row, reason from rejects") == [(4, BAD_DATE)]
    # Default stages first, then the order met; won, lost last.
    assert rows(con, "select pipeline_id, position, stage_id, kind from stages order by 1, 2") == [
        ("Основная воронка", 1, "Первичный контакт", "open"),
        ("Основная воронка", 2, "Переговоры", "open"),
        ("Основная воронка", 3, "Успешно реализовано", "won"),
        ("Основная воронка", 4, "Закрыто и не реализовано", "lost"),
        ("Партнёры", 1, "Первичный контакт", "open"),
    ]


def test_amocrm_xlsx_with_title_merged_header_and_totals(tmp_path):
    """A spreadsheet made for people: a title row, group titles merged over the columns, the
    ID header merged down over two rows, a date as an Excel serial number, a totals row."""
    lines = (FIXTURES / "amocrm" / "export.csv").read_text(encoding="utf-8").splitlines()
    header, data = lines[0].split(";"), [line.split(";") for line in lines[1:]]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Сделки за ноябрь 2026"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    sheet.append(["ID", "Сделка", None, None, "Даты", None, "Воронка и этап"])
    sheet.merge_cells("B2:D2")
    sheet.merge_cells("A2:A3")
    sheet.append([None, *header[1:]])
    for values in data:
        sheet.append(values)
    sheet.cell(row=5, column=6).value = 46346.6875  # 20.11.2026 16:30 as Excel stores it
    sheet.append(["Итого", None, "1 593 068,39"])
    path = tmp_path / "export.xlsx"
    book.save(path)
    assert detect([path]) == "amocrm"
    con = connect(tmp_path / "crm.duckdb")
    results = by_table(load(con, [path], time_zone=MSK))
    assert results[("export.xlsx", "deals")] == (6, 4, 2)
    expected = [list(d) for d in AMO_DEALS]
    expected[1][10] = datetime(2026, 11, 20, 13, 30)  # the serial date, 16:30 Moscow
    assert rows(con, AMO_DEAL_SQL) == [tuple(d) for d in expected]
    assert rows(con, "select source_row, reason from rejects order by 1") == [
        (4, BAD_DATE),
        (6, "a totals row (Итого), not a record"),
    ]


def test_amocrm_export_missing_stage_column(tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text("ID;Название сделки;Бюджет\n1;Сделка;100\n", encoding="utf-8")
    con = connect(tmp_path / "crm.duckdb")
    with pytest.raises(CrmkitError) as err:
        load(con, [path], fmt="amocrm")
    message = str(err.value)
    assert "deals.csv" in message and "«Этап сделки»" in message and "'Название сделки'" in message
    assert counts(con)["loads"] == 0


# --- amoCRM: API v4 ------------------------------------------------------------------------------


def test_amocrm_api(tmp_path):
    api = FIXTURES / "amocrm" / "api"
    assert detect([api]) == "amocrm"
    con = connect(tmp_path / "crm.duckdb")
    results = by_table(load(con, [api], time_zone=MSK))
    assert results[("leads.json", "deals")] == (4, 3, 1)
    # Six events: four stage changes, a tag (rejected), and a call, which goes to activities.
    assert results[("events.json", "stage_changes")] == (5, 4, 1)
    assert results[("events.json", "activities")] == (1, 1, 0)
    assert [r for (r,) in rows(con, "select reason from rejects order by 1")] == [
        "deleted in amoCRM (is_deleted)",  # lead 204, as a deal (it has no events: no entry either)
        "event type 'entity_tag_added': not a stage change",
    ]
    assert rows(con, "select deal_id, pipeline_id, stage_id, status, amount, owner_id, source, client, "
                     "loss_reason, created_at, closed_at from deals order by 1") == [
        ("201", "2002", "142", "won", Decimal("500000.00"), "5001", "yandex", "3001", None,
         datetime(2025, 11, 3, 9, 0), datetime(2025, 11, 17, 12, 0)),
        ("202", "1001", "143", "lost", Decimal("80000.00"), "5002", None, None, "Дорого",
         datetime(2025, 11, 4, 9, 0), datetime(2025, 11, 11, 9, 0)),
        ("203", "1001", "12", "open", Decimal("0.00"), "5003", None, None, None, datetime(2025, 11, 13, 9, 0), None),
    ]  # fmt: skip
    # 201 moved from the main pipeline to «Партнёры» and was won there: both pipelines kept.
    assert rows(con, "select deal_id, pipeline_id, stage_id, entered_at, changed_by, is_synthetic "
                     "from stage_changes order by deal_id, entered_at") == [
        ("201", "1001", "11", datetime(2025, 11, 3, 9, 0), "5001", False),
        ("201", "1001", "12", datetime(2025, 11, 4, 10, 0), "5001", False),
        ("201", "2002", "21", datetime(2025, 11, 11, 13, 0), "5002", False),
        ("201", "2002", "142", datetime(2025, 11, 17, 12, 0), "5001", False),
        ("202", "1001", "11", datetime(2025, 11, 4, 9, 0), "5002", False),
        ("202", "1001", "143", datetime(2025, 11, 11, 9, 0), "5002", False),
        # 203 has no stage-change event: its path is unknown, so its entry is the flagged synthetic one
        ("203", "1001", "12", datetime(2025, 11, 13, 9, 0), None, True),
    ]  # fmt: skip
    assert rows(con, "select pipeline_id, position, stage_id, kind from stages where pipeline_id = '1001' "
                     "order by position") == [
        ("1001", 1, "10", "open"), ("1001", 2, "11", "open"), ("1001", 3, "12", "open"),
        ("1001", 4, "142", "won"), ("1001", 5, "143", "lost"),
    ]  # fmt: skip
    assert rows(con, "select user_id, name, team, is_active from users order by 1") == [
        ("5001", "Иван Иванов", "Отдел продаж", True),  # group 0: the main group
        ("5002", "Анна Петрова", "Продажи Москва", True),  # groups named by /users?with=group
        ("5003", "5003", None, True),  # an owner users.json does not list
        ("5004", "Олег Уволенный", "Продажи Москва", False),
    ]
    assert rows(con, "select activity_id, deal_id, owner_id, kind, direction, status, started_at, due_at, "
                     "duration_s from activities order by 1") == [
        ("note-7001", "202", "5002", "call", "in", "done", datetime(2025, 11, 5, 10, 53, 20), None, 95),
        ("note-7002", "203", "5003", "call", "out", "missed", datetime(2025, 11, 14, 9, 0), None, 0),
        ("note-7003", "203", "5003", "note", None, "done", datetime(2025, 11, 14, 10, 0), None, None),
        ("task-8001", "201", "5001", "call", "out", "done", datetime(2025, 11, 4, 9, 53, 20),
         datetime(2025, 11, 4, 14, 0), 600),
        ("task-8002", "203", "5003", "meeting", None, "planned", None, datetime(2025, 11, 23, 9, 0), None),
    ]  # fmt: skip


def test_amocrm_export_resolves_names_with_pipelines(tmp_path):
    """With pipelines.json the export's «Воронка»/«Этап сделки» names become the API's ids."""
    con = connect(tmp_path / "crm.duckdb")
    load(
        con,
        [FIXTURES / "amocrm" / "export.csv", FIXTURES / "amocrm" / "api" / "pipelines.json"],
        time_zone=MSK,
    )
    assert rows(con, "select deal_id, pipeline_id, stage_id, status from deals order by 1") == [
        ("101", "1001", "12", "open"),
        ("102", "1001", "142", "won"),
        ("103", "1001", "143", "lost"),
        ("105", "2002", "21", "open"),
    ]


def test_amocrm_incremental_load(tmp_path):
    """A newer export of the same account: deal 203 won since, one more event; no duplicates;
    loading the same files again changes nothing."""
    api = tmp_path / "api"
    shutil.copytree(FIXTURES / "amocrm" / "api", api)
    con = connect(tmp_path / "crm.duckdb")
    load(con, [api])
    before = counts(con)
    assert all(r.load_id is None for r in load(con, [api]))
    assert counts(con) == before
    newer = tmp_path / "newer"
    newer.mkdir()
    leads = (api / "leads.json").read_text(encoding="utf-8")
    leads = leads.replace('"status_id": 12, "pipeline_id": 1001', '"status_id": 142, "pipeline_id": 1001')
    leads = leads.replace('"created_at": 1763024400, "updated_at": 1763024400, "closed_at": null,\n      '
                          '"closest_task_at": 1763888400', '"created_at": 1763024400, "updated_at": 1763632800, '
                          '"closed_at": 1763632800,\n      "closest_task_at": 1763888400')  # fmt: skip
    (newer / "leads.json").write_text(leads, encoding="utf-8")
    events = (
        (api / "events.json")
        .read_text(encoding="utf-8")
        .replace(
            "]}}\n",
            ',\n  {"id": "01pz58t6p04thvvewpbvhd7kgz", "type": "lead_status_changed", "entity_id": 203, '
            '"entity_type": "lead", "created_by": 5003, "created_at": 1763632800, "value_after": [{"lead_status": '
            '{"id": 142, "pipeline_id": 1001}}], "value_before": [{"lead_status": {"id": 12, "pipeline_id": 1001}}], '
            '"account_id": 777}\n]}}\n',
        )
    )
    (newer / "events.json").write_text(events, encoding="utf-8")
    shutil.copy(api / "pipelines.json", newer / "pipelines.json")
    load(con, [newer])
    after = counts(con)
    assert after["deals"] == before["deals"] and after["stage_changes"] == before["stage_changes"] + 1
    assert rows(con, "select status, closed_at from deals where deal_id = '203'") == [
        ("won", datetime(2025, 11, 20, 10, 0))
    ]
    assert rows(con, "select count(*), count(distinct (deal_id, entered_at, pipeline_id, stage_id)) "
                     "from stage_changes") == [(after["stage_changes"], after["stage_changes"])]  # fmt: skip


# --- Bitrix24 ----------------------------------------------------------------------------------


def test_bitrix24(tmp_path):
    folder = FIXTURES / "bitrix24"
    assert detect([folder]) == "bitrix24"
    con = connect(tmp_path / "crm.duckdb")
    results = by_table(load(con, [folder]))
    assert results[("crm.status.list.json", "stages")] == (11, 9, 2)  # two lead-source entries
    assert rows(con, "select * from pipelines order by 1") == [("0", "Общая"), ("1", "Дилеры")]
    assert rows(con, "select stage_id, position, kind from stages where pipeline_id = '0' order by position") == [
        ("NEW", 1, "open"), ("PREPARATION", 2, "open"), ("EXECUTING", 3, "open"),
        ("WON", 4, "won"), ("LOSE", 5, "lost"), ("APOLOGY", 6, "lost"),
    ]  # fmt: skip
    assert rows(con, "select deal_id, pipeline_id, stage_id, status, amount, currency, owner_id, source, client, "
                     "created_at, closed_at from deals order by 1") == [
        ("11", "0", "WON", "won", Decimal("250000.00"), "RUB", "1", "Звонок", "company 7",
         datetime(2026, 11, 2, 7, 15), datetime(2026, 11, 12, 14, 40)),  # entered WON (history), not CLOSEDATE
        ("12", "0", "EXECUTING", "open", Decimal("1200.50"), "USD", "2", "Веб-сайт", "contact 5",
         datetime(2026, 11, 5, 6, 0), None),  # CLOSEDATE is only planned while open
        ("13", "1", "C1:LOSE", "lost", Decimal("0.00"), "RUB", "9", "PARTNER", "company 9",
         datetime(2026, 11, 3, 9, 0), datetime(2026, 11, 20, 9, 0)),  # entered C1:LOSE (history)
    ]  # fmt: skip
    # Deal 13 moved from the main pipeline to «Дилеры».
    assert rows(con, "select pipeline_id, stage_id, entered_at from stage_changes where deal_id = '13' "
                     "order by entered_at") == [
        ("0", "NEW", datetime(2026, 11, 3, 9, 0)),
        ("1", "C1:NEW", datetime(2026, 11, 10, 9, 0)),
        ("1", "C1:LOSE", datetime(2026, 11, 20, 9, 0)),
    ]  # fmt: skip
    # The telephony record of activity 501 replaces it (one call, not two); a missed call stays one.
    assert rows(con, "select activity_id, deal_id, owner_id, kind, direction, status, started_at, due_at, "
                     "duration_s from activities order by 1") == [
        ("activity-501", "11", "1", "call", "out", "done", datetime(2026, 11, 3, 8, 0), None, 240),
        ("activity-502", "12", "2", "task", None, "planned", None, datetime(2026, 11, 25, 7, 0), None),
        ("activity-503", None, "1", "email", "in", "done", datetime(2026, 11, 4, 12, 0),
         datetime(2026, 11, 4, 12, 0), None),
        ("call-9002", "12", "2", "call", "in", "missed", datetime(2026, 11, 6, 16, 30), None, 0),
    ]  # fmt: skip
    assert rows(con, "select user_id, name, team, is_active from users order by 1") == [
        ("1", "Мария Кузнецова", "department 3", True),
        ("2", "Павел Орлов", "department 3", False),
        ("9", "9", None, True),
    ]


def test_bitrix24_deals_without_stage_list(tmp_path):
    con = connect(tmp_path / "crm.duckdb")
    with pytest.raises(CrmkitError, match="crm.deal.list.json: .*crm.status.list"):
        load(con, [FIXTURES / "bitrix24" / "crm.deal.list.json"])
    assert counts(con)["loads"] == 0


# --- HubSpot -----------------------------------------------------------------------------------


def test_hubspot_legacy_and_v2_date_entered(tmp_path):
    """UTF-8 with a BOM and CRLF; both the legacy and the v2 "date entered" properties."""
    path = FIXTURES / "hubspot" / "deals.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf") and b"\r\n" in path.read_bytes()
    assert detect([path]) == "hubspot"
    con = connect(tmp_path / "crm.duckdb")
    results = by_table(load(con, [path]))
    # 16 filled cells: 6 legacy ones repeat a v2 entry; 10 entries remain.
    assert results[("deals.csv", "stage_changes")] == (16, 10, 6)
    assert rows(con, "select distinct reason from rejects") == [
        ("legacy date entered: the v2 property gives this stage entry",)
    ]
    assert rows(con, "select deal_id, pipeline_id, stage_id, entered_at from stage_changes "
                     "order by deal_id, entered_at") == [
        ("9001", "default", "appointmentscheduled", datetime(2026, 10, 1, 9, 0)),
        ("9001", "default", "qualifiedtobuy", datetime(2026, 10, 5, 10, 0)),
        ("9001", "default", "closedwon", datetime(2026, 10, 20, 15, 30)),
        ("9002", "default", "appointmentscheduled", datetime(2026, 10, 3, 8, 0)),  # legacy only: kept
        ("9002", "default", "closedlost", datetime(2026, 10, 25, 12, 0)),
        ("9003", "default", "appointmentscheduled", datetime(2026, 10, 10, 9, 30)),  # v2, not legacy 09:00
        ("9003", "default", "qualifiedtobuy", datetime(2026, 10, 15, 9, 0)),
        ("9004", "default", "appointmentscheduled", datetime(2026, 10, 12, 9, 0)),  # then moved pipelines
        ("9004", "partners", "1122334", datetime(2026, 10, 18, 9, 0)),
        ("9004", "partners", "1122335", datetime(2026, 10, 30, 9, 0)),
    ]  # fmt: skip
    assert rows(con, "select deal_id, stage_id, status, amount, currency, owner_id, closed_at, loss_reason "
                     "from deals order by 1") == [
        ("9001", "closedwon", "won", Decimal("12500.00"), "USD", "301", datetime(2026, 10, 20, 15, 30), None),
        ("9002", "closedlost", "lost", Decimal("4000.00"), "EUR", "302", datetime(2026, 10, 25, 12, 0), "Budget"),
        ("9003", "qualifiedtobuy", "open", Decimal("7000.00"), "USD", "301", None, None),
        ("9004", "1122335", "won", Decimal("900.00"), "USD", "303", datetime(2026, 10, 30, 9, 0), None),
    ]  # fmt: skip
    assert rows(con, "select pipeline_id, position, stage_id, kind from stages order by 1, 2") == [
        ("default", 1, "appointmentscheduled", "open"), ("default", 2, "qualifiedtobuy", "open"),
        ("default", 3, "closedwon", "won"), ("default", 4, "closedlost", "lost"),
        ("partners", 1, "1122334", "open"), ("partners", 2, "1122335", "won"),
    ]  # fmt: skip


def test_hubspot_labels_export(tmp_path):
    """The export with labels: `Date entered "Stage (Pipeline)"`, a "(Legacy)" twin."""
    path = tmp_path / "hubspot-crm-exports-all-deals.csv"
    path.write_text(
        "Record ID,Deal Name,Pipeline,Deal Stage,Amount,Create Date,Close Date,Deal owner,Is Closed Won,Is Deal Closed?,"
        '"Date entered ""Qualified (Sales Pipeline)""","(Legacy) Date entered ""Qualified (Sales Pipeline)""",'
        '"Date entered ""Closed Won (Sales Pipeline)"""\n'
        "1,Alpha,Sales Pipeline,Closed Won,100,2026-10-01 09:00,2026-10-09 17:00,Ann Lee,true,true,"
        "2026-10-01 09:05,2026-10-01 09:00,2026-10-09 17:00\n"
        "2,Beta,Sales Pipeline,Qualified,50,2026-10-02 09:00,2026-12-31,Bob Ray,false,false,,2026-10-02 09:00,\n",
        encoding="utf-8",
    )
    con = connect(tmp_path / "crm.duckdb")
    load(con, [path], fmt="hubspot")
    assert rows(
        con, "select deal_id, pipeline_id, stage_id, entered_at from stage_changes order by 1, 4"
    ) == [
        ("1", "Sales Pipeline", "Qualified", datetime(2026, 10, 1, 9, 5)),
        ("1", "Sales Pipeline", "Closed Won", datetime(2026, 10, 9, 17, 0)),
        ("2", "Sales Pipeline", "Qualified", datetime(2026, 10, 2, 9, 0)),
    ]
    assert rows(con, "select deal_id, status, owner_id, closed_at from deals order by 1") == [
        ("1", "won", "Ann Lee", datetime(2026, 10, 9, 17, 0)),
        ("2", "open", "Bob Ray", None),
    ]


# --- Pipedrive ---------------------------------------------------------------------------------


def test_pipedrive(tmp_path):
    folder = FIXTURES / "pipedrive"
    assert detect([folder]) == "pipedrive"
    con = connect(tmp_path / "crm.duckdb")
    results = by_table(load(con, [folder], time_zone="Europe/Berlin"))
    assert results[("flow.json", "stage_changes")] == (6, 3, 3)
    assert rows(con, "select deal_id, pipeline_id, stage_id, status, amount, currency, owner_id, created_at, "
                     "closed_at, loss_reason from deals order by 1") == [
        ("1", "Sales", "Won", "won", Decimal("15000.00"), "EUR", "Jane Doe", datetime(2026, 9, 1, 7, 0),
         datetime(2026, 9, 20, 14, 0), None),
        ("2", "Sales", "Lost", "lost", Decimal("800.00"), "EUR", "John Roe", datetime(2026, 9, 3, 8, 0),
         datetime(2026, 9, 10, 9, 0), "Too expensive"),
        ("3", "Sales", "Proposal Made", "open", Decimal("2500.50"), "USD", "Jane Doe", datetime(2026, 9, 5, 10, 0),
         None, None),
        ("4", "Partners", "Qualified", "open", Decimal("1200.00"), "EUR", "John Roe", datetime(2026, 9, 7, 6, 0),
         None, None),
    ]  # fmt: skip
    # The export's times are Berlin's (09:00 CEST is 07:00 UTC); the flow's log_time comes from the
    # API, in UTC (2026-09-04 09:00:00 is 09:00 UTC).
    assert rows(con, "select deal_id, stage_id, entered_at from stage_changes order by 1, 3") == [
        ("1", "Qualified", datetime(2026, 9, 1, 7, 0)),  # the first change's old stage, at creation
        ("1", "Proposal Made", datetime(2026, 9, 4, 9, 0)),
        ("1", "Negotiations Started", datetime(2026, 9, 12, 14, 0)),
        ("1", "Won", datetime(2026, 9, 20, 14, 0)),
        ("2", "Contact Made", datetime(2026, 9, 3, 8, 0)),
        ("2", "Lost", datetime(2026, 9, 10, 9, 0)),
        ("3", "Contact Made", datetime(2026, 9, 5, 10, 0)),
        ("3", "Proposal Made", datetime(2026, 9, 6, 10, 0)),
        ("4", "Qualified", datetime(2026, 9, 7, 6, 0)),
    ]
    assert rows(con, "select pipeline_id, position, stage_id, kind from stages where pipeline_id = 'Sales' "
                     "order by 2") == [
        ("Sales", 1, "Qualified", "open"), ("Sales", 2, "Contact Made", "open"), ("Sales", 3, "Proposal Made", "open"),
        ("Sales", 4, "Negotiations Started", "open"), ("Sales", 5, "Won", "won"), ("Sales", 6, "Lost", "lost"),
    ]  # fmt: skip


def test_pipedrive_cp1252_export(tmp_path):
    """A Western European export saved as cp1252: accents read right, not as Cyrillic."""
    path = tmp_path / "deals.csv"
    path.write_bytes(
        "Deal - ID,Deal - Title,Deal - Value,Deal - Owner,Deal - Pipeline,Deal - Stage,Deal - Status,Deal - Deal created\n"
        '7,Société Générale – étude,"1.250,50",Jürgen Müller,Vente,Qualifié,Open,2026-09-01 09:00:00\n'.encode(
            "cp1252"
        )
    )
    con = connect(tmp_path / "crm.duckdb")
    by_table(load(con, [path]))
    assert rows(con, "select title, owner_id, stage_id from deals") == [
        ("Société Générale – étude", "Jürgen Müller", "Qualifié")
    ]


# --- any format: safety ------------------------------------------------------------------------


def test_failed_load_leaves_database_as_it_was(tmp_path):
    con = connect(tmp_path / "crm.duckdb")
    load(con, [FIXTURES / "pipedrive" / "deals.csv"])
    before = counts(con)
    broken = tmp_path / "api"
    shutil.copytree(FIXTURES / "amocrm" / "api", broken)
    text = (broken / "events.json").read_text(encoding="utf-8")
    (broken / "events.json").write_text(text[: len(text) // 2], encoding="utf-8")  # truncated mid-way
    with pytest.raises(CrmkitError) as err:
        load(con, [broken])
    assert "events.json: not valid JSON" in str(err.value) and "truncated" in str(err.value)
    assert counts(con) == before


def test_wrong_format_and_unknown_files(tmp_path):
    con = connect(tmp_path / "crm.duckdb")
    with pytest.raises(
        CrmkitError, match=r"deals.csv: not a Pipedrive deals export: missing 'Deal - ID', 'Deal - Stage'"
    ):
        load(con, [FIXTURES / "hubspot" / "deals.csv"], fmt="pipedrive")
    other = tmp_path / "report.csv"
    other.write_text("month,revenue\n2026-10,100\n", encoding="utf-8")
    with pytest.raises(CrmkitError, match="cannot tell the format of report.csv.*--format"):
        load(con, [other])
    assert counts(con)["loads"] == 0


@pytest.mark.parametrize("crm", ["amocrm/api", "bitrix24", "hubspot", "pipedrive"])
def test_reload_changes_nothing(tmp_path, crm):
    con = connect(tmp_path / "crm.duckdb")
    load(con, [FIXTURES / crm])
    before = rows(con, "select * from deals order by deal_id"), counts(con)
    load(con, [FIXTURES / crm], force=True)  # read again, merged by key
    after = rows(con, "select * from deals order by deal_id"), counts(con)
    assert after[0] == before[0]
    assert {k: v for k, v in after[1].items() if k not in ("loads", "rejects")} == {
        k: v for k, v in before[1].items() if k not in ("loads", "rejects")
    }


def test_hubspot_with_pipelines(tmp_path):
    """The pipelines response gives names, order (displayOrder) and kinds (isClosed, probability)."""
    con = connect(tmp_path / "crm.duckdb")
    by_table(load(con, [FIXTURES / "hubspot"]))
    assert rows(con, "select * from pipelines order by 1") == [
        ("default", "Sales Pipeline"),
        ("partners", "Partner deals"),
    ]
    assert rows(con, "select pipeline_id, position, stage_id, name, kind from stages order by 1, 2") == [
        ("default", 1, "appointmentscheduled", "Appointment Scheduled", "open"),
        ("default", 2, "qualifiedtobuy", "Qualified To Buy", "open"),
        ("default", 3, "closedwon", "Closed Won", "won"),
        ("default", 4, "closedlost", "Closed Lost", "lost"),
        ("partners", 1, "1122334", "Partner onboarding", "open"),
        ("partners", 2, "1122335", "Partner signed", "won"),
        ("partners", 3, "1122336", "Partner declined", "lost"),
    ]
    assert rows(con, "select deal_id, status from deals order by 1") == [
        ("9001", "won"), ("9002", "lost"), ("9003", "open"), ("9004", "won"),
    ]  # fmt: skip


def test_pipedrive_newer_export_replaces_the_creation_entry(tmp_path):
    """Without the flow, a deal's creation entry is its stage in the export; a newer export
    (the deal moved on) replaces that entry instead of adding a second one at the same moment."""
    con = connect(tmp_path / "crm.duckdb")
    first = tmp_path / "first" / "deals.csv"
    first.parent.mkdir()
    shutil.copy(FIXTURES / "pipedrive" / "deals.csv", first)
    load(con, [first])
    newer = tmp_path / "newer" / "deals.csv"
    newer.parent.mkdir()
    newer.write_text(first.read_text().replace("3,Gamma deal,\"2,500.50\",USD,Jane Doe,Sales,Proposal Made",
                                               "3,Gamma deal,\"2,500.50\",USD,Jane Doe,Sales,Negotiations Started"))  # fmt: skip
    load(con, [newer])
    assert rows(con, "select stage_id, entered_at from stage_changes where deal_id = '3'") == [
        ("Negotiations Started", datetime(2026, 9, 5, 12, 0))
    ]


def test_truncated_export_fails_and_changes_nothing(tmp_path):
    con = connect(tmp_path / "crm.duckdb")
    load(con, [FIXTURES / "pipedrive" / "deals.csv"])
    before = counts(con)
    data = (FIXTURES / "amocrm" / "export.csv").read_bytes()
    cut = tmp_path / "export.csv"
    cut.write_bytes(data[: data.rindex("Сидоров".encode())])  # the last row, cut off mid-way
    with pytest.raises(
        CrmkitError, match="export.csv: ends in the middle of a line.*truncated.*export it again"
    ):
        load(con, [cut], fmt="amocrm")
    assert counts(con) == before


def test_amocrm_call_events_without_notes(tmp_path):
    """Calls known only from events: an activity with the note's id, no duration or outcome (the
    event does not say them); a robot (user 0) is no owner."""
    api = FIXTURES / "amocrm" / "api"
    con = connect(tmp_path / "crm.duckdb")
    load(con, [api / n for n in ("pipelines.json", "users.json", "leads.json", "events.json")])
    assert rows(con, "select activity_id, deal_id, owner_id, kind, direction, status, started_at, duration_s "
                     "from activities") == [
        ("note-7001", "202", None, "call", "in", None, datetime(2025, 11, 5, 10, 53, 20), None)
    ]  # fmt: skip


def test_audit_counts_rejects_against_rows_read(tmp_path):
    """The data audit's "rows rejected in the last load" is a share of the rows that load read
    (32 over ten file-table loads of the amoCRM fixture: the creation entries are derived for the
    two leads with stage-change events only), not of the deals."""
    from crmkit import metrics

    con = connect(tmp_path / "crm.duckdb")
    load(con, [FIXTURES / "amocrm" / "api"])
    assert rows(con, "select sum(rows_read) from loads") == [(32,)]
    check = metrics.data_audit(con, as_of="2026-01-01").set_index("check_name").loc["rejected_last_load"]
    # rejected: lead 204 (deleted) and the tag event
    assert (check["found"], check["share"]) == (2, pytest.approx(2 / 32))
