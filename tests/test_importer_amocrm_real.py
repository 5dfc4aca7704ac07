"""amoCRM as real accounts give it, shaped as amoCRM documents its API v4
(`/api/v4/leads`, `/leads/pipelines` with status `type` 1 for «Неразобранное», `/events` of type
`lead_status_changed`) and as its web interface exports the deals list. Every expected number is
worked out by hand in the comments."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from crmkit import metrics
from crmkit.db import connect
from crmkit.importers import load

FIXTURES = Path(__file__).parent / "fixtures" / "amocrm"
INBOX, FIRST, TALKS, WON, LOST = 10, 11, 12, 142, 143  # pipeline 1001 of api/pipelines.json


def unix(*parts) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp())


def lead(lead_id, status, created, closed=None):
    return {"id": lead_id, "name": f"Сделка {lead_id}", "price": 1000, "responsible_user_id": 5001,
            "group_id": 0, "status_id": status, "pipeline_id": 1001, "created_by": 5001,
            "created_at": unix(*created), "updated_at": unix(*(closed or created)),
            "closed_at": unix(*closed) if closed else None, "is_deleted": False,
            "custom_fields_values": None, "account_id": 777, "_embedded": {"tags": [], "companies": []}}  # fmt: skip


def moved(lead_id, before, after, at):
    return {"id": f"ev-{lead_id}-{after}", "type": "lead_status_changed", "entity_id": lead_id,
            "entity_type": "lead", "created_by": 5001, "created_at": unix(*at),
            "value_after": [{"lead_status": {"id": after, "pipeline_id": 1001}}],
            "value_before": [{"lead_status": {"id": before, "pipeline_id": 1001}}], "account_id": 777}  # fmt: skip


@pytest.fixture
def account_with_late_history(tmp_path):
    """An account whose event history begins on 1 November 2025: leads 1 and 2 were created and
    closed before it and have no events at all; leads 3–5 came in through the inbox after it."""
    leads = [
        lead(1, WON, (2025, 10, 1, 9), (2025, 10, 20, 9)),
        lead(2, LOST, (2025, 10, 5, 9), (2025, 10, 25, 9)),
        lead(3, WON, (2025, 11, 2, 9), (2025, 11, 5, 9)),
        lead(4, LOST, (2025, 11, 3, 9), (2025, 11, 4, 9)),
        lead(5, FIRST, (2025, 11, 4, 9)),
    ]
    events = [
        moved(3, INBOX, FIRST, (2025, 11, 2, 10)), moved(3, FIRST, TALKS, (2025, 11, 3, 9)),
        moved(3, TALKS, WON, (2025, 11, 5, 9)),
        moved(4, INBOX, FIRST, (2025, 11, 3, 12)), moved(4, FIRST, LOST, (2025, 11, 4, 9)),
        moved(5, INBOX, FIRST, (2025, 11, 4, 10)),
    ]  # fmt: skip
    folder = tmp_path / "api"
    folder.mkdir()
    (folder / "leads.json").write_text(json.dumps({"_embedded": {"leads": leads}}), encoding="utf-8")
    (folder / "events.json").write_text(json.dumps({"_embedded": {"events": events}}), encoding="utf-8")
    (folder / "pipelines.json").write_bytes((FIXTURES / "api" / "pipelines.json").read_bytes())
    con = connect(tmp_path / "crm.duckdb")
    load(con, [folder])
    return con


def test_leads_without_events_get_flagged_history_not_a_path(account_with_late_history):
    con = account_with_late_history
    synthetic = con.execute(
        "select deal_id, stage_id, is_synthetic from stage_changes where deal_id in ('1', '2') order by 1"
    ).fetchall()
    assert synthetic == [("1", "142", True), ("2", "143", True)]
    audit = metrics.data_audit(con, as_of="2025-12-01").set_index("check_name")
    assert audit.loc["no_history", "found"] == 2


def test_funnel_leaves_out_the_inbox_and_leads_without_history(account_with_late_history):
    """Cohort of October–November: leads 1, 2 have no known path (left out of the funnel); 3–5
    start in «Неразобранное», which is no sales stage.
    «Первичный контакт»: 3 advanced, 4 lost there, 5 still there -> 1 / (1 + 1) = 0.5
    «Переговоры»: 3 advanced (won) -> 1 / 1 = 1.0
    (Before: 1 and 2 'passed' every stage from a made-up entry, and the inbox showed 100%.)"""
    table = metrics.stage_conversion(account_with_late_history, as_of="2025-12-01", period_start="2025-09-01")
    team = table[(table["level"] == "team") & (table["pipeline"] == "Основная воронка")].set_index("stage")
    assert list(team.index) == ["Первичный контакт", "Переговоры"]
    first, talks = team.loc["Первичный контакт"], team.loc["Переговоры"]
    assert (first["reached"], first["advanced"], first["lost"], first["still_here"]) == (3, 1, 1, 1)
    assert first["conversion"] == 0.5
    assert (talks["reached"], talks["advanced"], talks["lost"]) == (1, 1, 0)
    durations = metrics.stage_durations(account_with_late_history, as_of="2025-12-01", period_start="2025-09-01")
    assert "Неразобранное" not in set(durations["stage"])
    # lead 3's first visit begins when it left the inbox: 2 Nov 10:00 -> 3 Nov 09:00 = 23 h
    visits = metrics.stage_intervals(account_with_late_history, as_of="2025-12-01")
    first_visit = visits[(visits["deal_id"] == "3")].sort_values("entered_at").iloc[0]
    assert (first_visit["stage_id"], first_visit["days"]) == ("11", pytest.approx(23 / 24))


# The deals list as amoCRM's web interface exports it in UTF-8 with commas (seen in real exports):
# «Бюджет » without a currency sign, «Дата создания сделки», whole-number budgets, «не закрыта»
# in «Дата закрытия» for an open deal, and a deal still in «Неразобранное».
REAL_EXPORT = """\
"ID","Название сделки","Бюджет ","Ответственный","Дата создания сделки","Кем создана сделка","Дата редактирования","Дата закрытия","Теги","Этап сделки","Воронка","Компания","Источник"
"301","Поставка","45000","Иванов Иван","01.11.2025 09:00:00","Иванов Иван","03.11.2025 10:00:00","не закрыта","","Переговоры","Основная воронка","ООО «Ромашка»","Сайт"
"302","Монтаж","120000","Петрова Анна","02.11.2025 10:30:00","Петрова Анна","10.11.2025 18:00:00","10.11.2025 18:00:00","опт","Успешно реализовано","Основная воронка","ИП Сидоров","Авито"
"303","Заявка с сайта","0","Иванов Иван","05.11.2025 08:15:00","Робот","05.11.2025 08:15:00","не закрыта","","Неразобранное","Основная воронка","",""
"304","Ремонт","7500","Петрова Анна","03.11.2025 12:00:00","Петрова Анна","04.11.2025 12:00:00","04.11.2025 12:00:00","","Закрыто и не реализовано","Основная воронка","",""
"""


def test_real_web_export(tmp_path):
    path = tmp_path / "amocrm_export_2025-11.csv"
    path.write_text(REAL_EXPORT, encoding="utf-8")
    con = connect(tmp_path / "crm.duckdb")
    results = {r.table: r for r in load(con, [path], time_zone="Europe/Moscow")}
    assert (results["deals"].rows_read, results["deals"].rows_loaded, results["deals"].rows_rejected) == (4, 4, 0)
    assert con.execute(
        "select deal_id, status, amount, currency, created_at, closed_at from deals order by 1"
    ).fetchall() == [
        ("301", "open", Decimal("45000.00"), None, datetime(2025, 11, 1, 6, 0), None),  # «не закрыта»
        ("302", "won", Decimal("120000.00"), None, datetime(2025, 11, 2, 7, 30), datetime(2025, 11, 10, 15, 0)),
        ("303", "open", Decimal("0.00"), None, datetime(2025, 11, 5, 5, 15), None),
        ("304", "lost", Decimal("7500.00"), None, datetime(2025, 11, 3, 9, 0), datetime(2025, 11, 4, 9, 0)),
    ]  # fmt: skip
    assert con.execute("select stage_id, is_inbox from stages where is_inbox").fetchall() == [
        ("Неразобранное", True)
    ]
    stale = metrics.stale_deals(con, as_of="2025-12-01", threshold_days=0)
    assert sorted(stale["deal_id"]) == ["301", "303"]  # open deals are no longer rejected
