"""Bitrix24: REST responses saved as JSON — `crm.deal.list`, `crm.status.list` (deal stages with
their semantics, and lead sources), `crm.stagehistory.list` (entityTypeId 2), `crm.category.list`
or `crm.dealcategory.list` (pipelines, «направления»), `crm.activity.list`, `voximplant.statistic.get`
(telephony) and `user.get`; one response, a list of pages, or JSON lines per file. What a file
holds is told by its records' fields, not by its name.

- Pipelines are deal categories (0 is the default one); a stage belongs to `DEAL_STAGE` (category
  0) or `DEAL_STAGE_<n>`; its kind is its semantics: S won, F lost, otherwise open; order by SORT.
- History: one row per stage entered (TYPE_ID 1 creation, 2 an intermediate stage, 3 a final one),
  in the category it was entered in, so a deal moved between pipelines keeps both.
- CLOSEDATE is the planned close date while a deal is open: it counts as the close time only once
  the deal is CLOSED.
- Activities: TYPE_ID 1 meeting, 2 call, 3 task, 4 email (else told by the provider); a telephony
  record with CRM_ACTIVITY_ID replaces that activity (same id), so a call is never counted twice;
  a call whose CALL_FAILED_CODE is not 200 was missed.
- Times carry their offset (`2026-11-22T14:05:00+03:00`) and are stored as UTC.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from crmkit.errors import CrmkitError
from crmkit.importers.base import (
    ReadOptions,
    Staged,
    funnel_positions,
    owners_as_users,
    stage_records,
    stage_view,
)
from crmkit.importers.files import head_text, read_json, records_table, text

FORMAT = "bitrix24"
# What each kind of record has (field names upper-cased), tried in this order.
SIGNATURES = (
    ("stagehistory", {"OWNER_ID", "STAGE_ID", "CREATED_TIME"}),
    ("telephony", {"CALL_TYPE", "CALL_DURATION"}),
    ("activities", {"OWNER_TYPE_ID", "TYPE_ID", "OWNER_ID"}),
    ("statuses", {"ENTITY_ID", "STATUS_ID"}),
    ("deals", {"STAGE_ID", "CATEGORY_ID"}),
    ("users", {"LAST_NAME", "ACTIVE"}),
    ("categories", {"ID", "NAME", "SORT"}),
)
DEFAULT_PIPELINE = "Общая"  # category 0's name when no category list is given
ACTIVITY_KINDS = {"1": "meeting", "2": "call", "3": "task", "4": "email"}


def response_parts(doc) -> list[list]:
    """The record lists of a response: `result` as a list, or the list inside it (`items`,
    `categories`, …); a list of pages is joined. A `batch` answer gives one list per command (its
    `result.result`), and a command that failed (`result.result_error`) is named, not passed over."""
    pages = (
        doc if isinstance(doc, list) and all(isinstance(p, dict) and "result" in p for p in doc) else [doc]
    )
    plain, parts = [], []
    for page in pages:
        result = page.get("result") if isinstance(page, dict) else None
        if isinstance(result, dict) and "result" in result and ("result_error" in result or "result_total" in result):
            parts += _batch(result)
            continue
        if isinstance(result, dict):
            result = next((v for v in result.values() if isinstance(v, list)), None)
        if not isinstance(result, list):
            raise CrmkitError("not a Bitrix24 REST response (no `result` list)")
        plain += result
    return [plain, *parts] if plain or not parts else parts


def _batch(result: dict) -> list[list]:
    errors = result.get("result_error") or {}
    if errors:
        failed = errors.items() if isinstance(errors, dict) else enumerate(errors)
        shown = "; ".join(
            f"{cmd}: {(e or {}).get('error', e) if isinstance(e, dict) else e}"
            + (f" ({e['error_description']})" if isinstance(e, dict) and e.get("error_description") else "")
            for cmd, e in failed
        )
        raise CrmkitError(
            f"a batch command failed, so its records are not in the file ({shown}); call it again and save the answer"
        )
    answers = result.get("result") or {}  # PHP writes an empty batch as []
    parts = []
    for answer in answers.values() if isinstance(answers, dict) else answers:
        if isinstance(answer, dict):  # {"items": [...]} or a single record (crm.deal.get)
            answer = next((v for v in answer.values() if isinstance(v, list)), [answer])
        if isinstance(answer, list):
            parts.append(answer)
    return parts


def kind_of(records: list) -> str | None:
    first = next((r for r in records if isinstance(r, dict)), None)
    if first is None:
        return None
    fields = {k.upper() for k in first}
    return next((kind for kind, needed in SIGNATURES if needed <= fields), None)


def looks_like(files: list[Path]) -> bool:
    for path in files:
        if path.suffix.lower() == ".json":
            head = head_text(path)
            if '"result"' in head and any(k in head for k in ('"STAGE_ID"', '"ENTITY_ID"', '"CALL_TYPE"')):
                return True
    return False


def _upper(record: dict) -> dict:
    return {k.upper(): v for k, v in record.items()}


def stage(con, files: list[Path], options: ReadOptions) -> list[Staged]:
    by_kind: dict[str, list[tuple[Path, list]]] = {kind: [] for kind, _ in SIGNATURES}
    for path in files:
        if path.suffix.lower() != ".json":
            raise CrmkitError(f"{path.name}: Bitrix24 data is read from REST responses saved as JSON")
        try:
            parts = response_parts(read_json(path))
        except CrmkitError as exc:
            raise CrmkitError(
                f"{path.name}: {exc}; save the response of crm.deal.list etc. as it comes"
            ) from exc
        found: dict[str, list] = {}  # a batch may hold several methods' answers: each by its kind
        for records in parts:
            kind = kind_of(records)
            if kind is None and records:
                raise CrmkitError(
                    f"{path.name}: cannot tell which Bitrix24 method gave these records (fields: "
                    f"{', '.join(sorted(next(r for r in records if isinstance(r, dict))))}); expected crm.deal.list, "
                    "crm.status.list, crm.stagehistory.list, crm.category.list, crm.activity.list, "
                    "voximplant.statistic.get or user.get"
                )
            if kind:
                found.setdefault(kind, []).extend(records)
        for kind, records in found.items():
            by_kind[kind].append((path, records))
    if by_kind["deals"] and not by_kind["statuses"]:
        raise CrmkitError(
            f"{by_kind['deals'][0][0].name}: Bitrix24 deals need their stages: save crm.status.list "
            "(it gives each stage's name, order and semantics) and load it with the deals"
        )
    statuses = [_upper(r) for _, recs in by_kind["statuses"] for r in recs if isinstance(r, dict)]
    sources = {
        text(s.get("STATUS_ID")): text(s.get("NAME")) for s in statuses if s.get("ENTITY_ID") == "SOURCE"
    }
    names = {str(c.get("ID")): text(c.get("NAME")) for _, recs in by_kind["categories"]
             for c in map(_upper, recs) if isinstance(c, dict)}  # fmt: skip
    staged: list[Staged] = []
    for path, records in by_kind["categories"]:
        staged.append(stage_records(con, "pipelines", path, records, _category_record))
    positions = funnel_positions([
        (_category(st.get("ENTITY_ID")), text(st.get("STATUS_ID")), _kind(st), st.get("SORT"))
        for st in statuses if _category(st.get("ENTITY_ID"))
    ])  # fmt: skip
    for path, records in by_kind["statuses"]:
        staged += _stages(con, path, records, names, positions)
    for path, records in by_kind["users"]:
        staged.append(stage_records(con, "users", path, records, _user))
    for path, records in by_kind["deals"]:
        raw = records_table(con, path, records, lambda d: _deal(d, sources), DEAL_COLUMNS)
        staged += [
            owners_as_users(con, raw, raw.relation),
            stage_view(con, "deals", raw, f"select * from {raw.relation}"),
        ]
    for path, records in by_kind["stagehistory"]:
        staged.append(stage_records(con, "stage_changes", path, records, _history))
    for kind, shape in (("activities", _activity), ("telephony", _call)):
        for path, records in by_kind[kind]:
            staged.append(stage_records(con, "activities", path, records, shape))
    return staged


def _category_record(record: dict) -> dict:
    category = _upper(record)
    return {"pipeline_id": text(category.get("ID")), "name": text(category.get("NAME"))}


def _category(entity_id: str | None) -> str | None:
    """The category of a stage list: DEAL_STAGE is 0, DEAL_STAGE_7 is 7; None for other lists."""
    if entity_id == "DEAL_STAGE":
        return "0"
    if entity_id and entity_id.startswith("DEAL_STAGE_"):
        return entity_id.removeprefix("DEAL_STAGE_")
    return None


def _kind(status: dict) -> str:
    semantics = status.get("SEMANTICS") or (status.get("EXTRA") or {}).get("SEMANTICS")
    return {"S": "won", "success": "won", "F": "lost", "failure": "lost"}.get(semantics, "open")


def _stages(con, path: Path, records: list, names: dict, positions: dict) -> list[Staged]:
    def shape(record: dict) -> dict:
        status = _upper(record)
        category = _category(status.get("ENTITY_ID"))
        return {
            "pipeline_id": category,
            "stage_id": text(status.get("STATUS_ID")),
            "name": text(status.get("NAME")),
            "position": positions.get((category, text(status.get("STATUS_ID")))),
            "kind": _kind(status),
            "pipeline_name": names.get(
                category, DEFAULT_PIPELINE if category == "0" else f"Направление {category}"
            ),
            "_drop": None if category else f"not a deal stage (ENTITY_ID {status.get('ENTITY_ID')})",
        }

    raw = records_table(
        con, path, records, shape, ("pipeline_id", "stage_id", "name", "position", "kind", "_drop")
    )
    return [
        # Pipelines named by their stage lists where no category list (stored first) names them.
        stage_view(
            con,
            "pipelines",
            raw,
            f"""
            select row_number() over (order by pipeline_id) as _row, pipeline_id as _raw, pipeline_id,
                   any_value(pipeline_name) as name
            from {raw.relation} where _drop is null
                and pipeline_id not in (select pipeline_id from main.pipelines) group by pipeline_id""",
            derived=True,
        ),  # fmt: skip
        stage_view(
            con,
            "stages",
            raw,
            f"""
            select _row, _raw, pipeline_id, stage_id, name, kind, _drop, position from {raw.relation}""",
            drop_reason="_drop",
        ),
    ]


def _user(record: dict) -> dict:
    user = _upper(record)
    departments = user.get("UF_DEPARTMENT") or []
    name = " ".join(str(user.get(k) or "").strip() for k in ("NAME", "LAST_NAME")).strip()
    return {
        "user_id": text(user.get("ID")),
        "name": name or text(user.get("EMAIL")) or text(user.get("ID")),
        "team": f"department {departments[0]}" if departments else None,
        "is_active": text(user.get("ACTIVE")),
    }


DEAL_COLUMNS = ("deal_id", "pipeline_id", "stage_id", "title", "client", "amount", "currency", "owner_id",
                "source", "created_at", "closed_at", "loss_reason")  # fmt: skip


def _nonzero(value) -> str | None:
    return None if str(value or "0") == "0" else str(value)


def _deal(record: dict, sources: dict) -> dict:
    deal = _upper(record)
    company, contact = _nonzero(deal.get("COMPANY_ID")), _nonzero(deal.get("CONTACT_ID"))
    source = text(deal.get("SOURCE_ID"))
    return {
        "deal_id": text(deal.get("ID")),
        "pipeline_id": text(deal.get("CATEGORY_ID")) or "0",
        "stage_id": text(deal.get("STAGE_ID")),
        "title": text(deal.get("TITLE")),
        "client": f"company {company}" if company else f"contact {contact}" if contact else None,
        "amount": text(deal.get("OPPORTUNITY")),
        "currency": text(deal.get("CURRENCY_ID")),
        "owner_id": text(deal.get("ASSIGNED_BY_ID")),
        "source": sources.get(source, source),
        "created_at": text(deal.get("DATE_CREATE")),
        "closed_at": text(deal.get("CLOSEDATE")) if deal.get("CLOSED") in ("Y", True) else None,
        "loss_reason": None,
    }


def _history(record: dict) -> dict:
    item = _upper(record)
    return {
        "deal_id": text(item.get("OWNER_ID")),
        "pipeline_id": text(item.get("CATEGORY_ID")) or "0",
        "stage_id": text(item.get("STAGE_ID")),
        "entered_at": text(item.get("CREATED_TIME")),
        "_drop": None
        if item.get("STAGE_ID") or not item.get("STATUS_ID")
        else "a lead's history, not a deal's",
    }


def _seconds(start, end) -> str | None:
    try:
        return str(int((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()))
    except (TypeError, ValueError):
        return None


def _activity(record: dict) -> dict:
    act = _upper(record)
    provider = str(act.get("PROVIDER_ID") or "").upper()
    kind = ACTIVITY_KINDS.get(str(act.get("TYPE_ID"))) or (
        "call" if "CALL" in provider else "email" if "MAIL" in provider
        else "meeting" if "MEETING" in provider else "task" if "TODO" in provider or "TASK" in provider else "note"
    )  # fmt: skip
    done = act.get("COMPLETED") in ("Y", True)
    return {
        "activity_id": f"activity-{text(act.get('ID'))}",
        "deal_id": text(act.get("OWNER_ID")) if str(act.get("OWNER_TYPE_ID")) == "2" else None,
        "owner_id": text(act.get("RESPONSIBLE_ID")),
        "kind": kind,
        "direction": {"1": "in", "2": "out"}.get(str(act.get("DIRECTION")))
        if kind in ("call", "email")
        else None,
        "status": "done" if done else "planned",
        "started_at": text(act.get("START_TIME")) if done else None,
        "due_at": text(act.get("DEADLINE") or act.get("END_TIME")),
        "duration_s": _seconds(act.get("START_TIME"), act.get("END_TIME"))
        if done and kind == "call"
        else None,
        "amount": None,
        "_drop": "activity ID is missing" if act.get("ID") is None else None,
    }


def _call(record: dict) -> dict:
    call = _upper(record)
    activity = _nonzero(call.get("CRM_ACTIVITY_ID"))
    return {
        "activity_id": f"activity-{activity}" if activity else f"call-{text(call.get('ID'))}",
        "deal_id": text(call.get("CRM_ENTITY_ID")) if call.get("CRM_ENTITY_TYPE") == "DEAL" else None,
        "owner_id": text(call.get("PORTAL_USER_ID")),
        "kind": "call",
        "direction": {"1": "out", "2": "in", "3": "in", "4": "out"}.get(str(call.get("CALL_TYPE"))),
        "status": "done" if str(call.get("CALL_FAILED_CODE")) == "200" else "missed",
        "started_at": text(call.get("CALL_START_DATE")),
        "due_at": None,
        "duration_s": text(call.get("CALL_DURATION")),
        "amount": None,
        "_drop": "call ID is missing" if call.get("ID") is None and not activity else None,
    }
