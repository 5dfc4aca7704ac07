"""amoCRM: the deals export of the web interface (CSV or XLSX, Russian or English headers) and
API v4 responses saved as JSON (`/api/v4/leads`, `/leads/pipelines`, `/events`, `/tasks`,
`/leads/notes`, `/users`; one page, a list of pages, or JSON lines per file).

- Stage kinds: in the API every pipeline has the fixed statuses 142 (won) and 143 (lost); in
  the export they are named «Успешно реализовано» / «Закрыто и не реализовано» ("Closed - won" /
  "Closed - lost"). Funnel order comes from the pipelines' `sort`; an export alone does not give
  it, so amoCRM's default stages come first and other stages in the order the export meets them.
- When pipelines.json is loaded with the export, the export's pipeline and stage names are
  resolved to the API's ids, so the export and the API's events, tasks and notes join.
- History: `lead_status_changed` events (value_after: the stage entered, in whichever pipeline —
  a deal moved between pipelines keeps both). A deal's first stage is the value_before of its
  earliest change, entered when the deal was created; a deal with no change has no known path
  and gets the flagged synthetic entry (its current stage at creation) like every deal without
  history, so it does not "pass" the stages of a funnel.
- «Неразобранное» (a status of type 1; in the export, by name) is the inbox before the funnel:
  marked `is_inbox`, it is left out of funnels and stage metrics.
- Teams are the users' groups, named from `/users?with=group` (group 0 is the main group).
- The export's «Дата закрытия» of an open deal reads «не закрыта»: no close date.
- Activities: notes `call_in` / `call_out` are calls (done when the call status is «talked» (4)
  or it lasted, else missed), other notes are notes; tasks of type 1 are calls, 2 meetings, other
  types tasks — done (at their last update) or planned (due at `complete_till`).
- API times are Unix seconds (UTC); export times are in the account's zone (`--tz`).
- A lead deleted in amoCRM (its last `lead_deleted` / `lead_restored` event is a deletion) leaves
  the database with its history and activities: the API lists deleted leads only by that event.
"""

from __future__ import annotations

import re
from pathlib import Path

from crmkit.errors import CrmkitError
from crmkit.importers.base import (
    ReadOptions,
    Staged,
    amount_text,
    owners_as_users,
    pipelines_as_named,
    quote_literal,
    stage_pipelines,
    stage_records,
    stage_view,
)
from crmkit.importers.files import (
    RawFile,
    epoch_text,
    head_text,
    is_spreadsheet,
    peek_columns,
    read_json,
    read_text_table,
    records_table,
    text,
)

FORMAT = "amocrm"
WON_ID, LOST_ID = "142", "143"
INBOX_TYPE = 1  # a status of type 1 is the unsorted inbox («Неразобранное»), not a sales stage
INBOX_NAMES = ("неразобранное", "incoming leads", "unsorted")
NOT_CLOSED = ("не закрыта", "не закрыто", "not closed")  # the export's «Дата закрытия» of an open deal
MAIN_GROUP = "Отдел продаж"  # amoCRM's name of the main group (group 0) when the export does not say
WON_NAMES = ("успешно реализовано", "closed - won", "closed-won", "успешно")
LOST_NAMES = ("закрыто и не реализовано", "closed - lost", "closed-lost")
DEFAULT_STAGES = (
    "неразобранное",
    "первичный контакт",
    "переговоры",
    "принимают решение",
    "согласование договора",
)
EXPORT_COLUMNS = {  # canonical field: the headers amoCRM's export gives it (ru and en interface)
    "deal_id": ("id", "id сделки"),
    "title": ("название сделки", "название", "lead name", "lead title"),
    "amount": ("бюджет", "budget", "sale"),
    "owner": ("ответственный", "ответственный пользователь", "responsible user", "responsible"),
    "stage": ("этап сделки", "этап", "статус сделки", "lead status", "stage", "status"),
    "pipeline": ("воронка", "pipeline"),
    "created_at": ("дата создания", "дата создания сделки", "date created", "created at"),
    "closed_at": ("дата закрытия", "date closed", "closed at"),
    "source": ("источник", "источник сделки", "utm_source", "source"),
    "client": ("компания", "название компании", "компания сделки", "company"),
    "loss_reason": ("причина отказа", "loss reason"),
    "currency": ("валюта", "currency"),
}
CURRENCY_SIGNS = {"₽": "RUB", "руб": "RUB", "rub": "RUB", "$": "USD", "usd": "USD", "€": "EUR", "eur": "EUR",
                  "₸": "KZT", "kzt": "KZT", "₴": "UAH", "грн": "UAH", "byn": "BYN"}  # fmt: skip
API_KINDS = ("leads", "pipelines", "events", "tasks", "notes", "users")


def export_column(columns: list[str], field: str) -> str | None:
    """The export's header for a canonical field (the budget's header may carry its currency)."""
    lowered = {c.strip().lower(): c for c in columns}
    for alias in EXPORT_COLUMNS[field]:
        if alias in lowered:
            return lowered[alias]
    if field == "amount":
        return next((c for c in columns if re.match(r"\s*(бюджет|budget)\b", c, re.IGNORECASE)), None)
    return None


def budget_currency(header: str | None) -> str | None:
    """The currency a budget header names, as in «Бюджет ₽» or «Бюджет, руб.»."""
    lowered = (header or "").lower()
    return next((code for sign, code in CURRENCY_SIGNS.items() if sign in lowered), None)


def api_kind(doc) -> str | None:
    pages = doc if isinstance(doc, list) else [doc]
    for page in pages[:1]:
        embedded = page.get("_embedded") if isinstance(page, dict) else None
        if isinstance(embedded, dict):
            return next((k for k in API_KINDS if k in embedded), None)
    return None


def api_records(doc, kind: str) -> list:
    """The entities of one kind from a response, a list of pages, or JSON lines of pages."""
    pages = doc if isinstance(doc, list) else [doc]
    records = []
    for page in pages:
        records += (page.get("_embedded") or {}).get(kind, []) if isinstance(page, dict) else [page]
    return records


def _is_export(columns: list[str]) -> bool:
    return (
        bool(export_column(columns, "deal_id") and export_column(columns, "stage"))
        and any(re.search("[а-яё]", c.lower()) for c in columns)
        or {"lead name", "lead status"} <= {c.strip().lower() for c in columns}
    )


def looks_like(files: list[Path]) -> bool:
    for path in files:
        if path.suffix.lower() == ".json":
            head = head_text(path)
            if '"_embedded"' in head and any(f'"{k}"' in head for k in API_KINDS):
                return True
        elif _is_export(peek_columns(path)):
            return True
    return False


def stage(con, files: list[Path], options: ReadOptions) -> list[Staged]:
    exports, api = [], {k: [] for k in API_KINDS}
    for path in files:
        if path.suffix.lower() == ".json":
            doc = read_json(path)
            kind = api_kind(doc)
            if kind is None:
                raise CrmkitError(
                    f"{path.name}: not an amoCRM API response (no _embedded leads, pipelines, events, "
                    "tasks, notes or users); save the response of /api/v4/... as it comes"
                )
            api[kind].append((path, api_records(doc, kind)))
        elif is_spreadsheet(path) or path.suffix.lower() == ".csv":
            raw = read_text_table(con, path, decimal=options.decimal)
            if not export_column(raw.columns, "deal_id") or not export_column(raw.columns, "stage"):
                raise CrmkitError(
                    f"{path.name}: not an amoCRM deals export: it needs the columns «ID» and «Этап сделки»; "
                    f"found: {', '.join(map(repr, raw.columns))}. Export the deals list with all columns"
                )
            exports.append(raw)
    if api["leads"] and not api["pipelines"]:
        raise CrmkitError(
            f"{api['leads'][0][0].name}: amoCRM leads need their pipelines for stage names and kinds; "
            "save /api/v4/leads/pipelines as pipelines.json and load it with the leads"
        )
    if not exports and not api["leads"] and not api["pipelines"]:
        raise CrmkitError("no amoCRM deals among the files: give the deals export or leads.json")
    staged: list[Staged] = []
    for path, records in api["pipelines"]:
        staged += _api_pipelines(con, path, records)
    for raw in exports:
        staged += _export(con, raw, resolve=bool(api["pipelines"]))
    groups = group_names([u for _, records in api["users"] for u in records])
    for path, records in api["users"]:
        staged.append(stage_records(con, "users", path, records, lambda user: _user(user, groups)))
    events = [records_table(con, p, r, _event, EVENT_COLUMNS) for p, r in api["events"]]
    for path, records in api["leads"]:
        staged += _api_leads(con, path, records, events)
    for raw in events:  # each event is a stage change, a call, or a lead's deletion
        changes = stage_view(con, "stage_changes", raw, f"select {STAGE_CHANGE} from {raw.relation} where not is_call",
                             drop_reason="_drop", routed=True)  # fmt: skip
        changes.removes = DELETED.format(relation=raw.relation)
        staged += [
            changes,
            stage_view(con, "activities", raw, f"select {CALL} from {raw.relation} where is_call", derived=True),
        ]  # fmt: skip
    for path, records in api["tasks"]:
        staged.append(stage_records(con, "activities", path, records, _task))
    for path, records in api["notes"]:
        staged.append(stage_records(con, "activities", path, records, _note))
    return staged


# --- the web interface's export -----------------------------------------------------------


def _export(con, raw: RawFile, resolve: bool) -> list[Staged]:
    col = {field: export_column(raw.columns, field) for field in EXPORT_COLUMNS}
    pipeline = raw.col(col["pipeline"], "'amoCRM'")
    currency = raw.col(col["currency"], quote_literal(budget_currency(col["amount"]) or "") + "::varchar")
    won = ", ".join(map(quote_literal, WON_NAMES))
    lost = ", ".join(map(quote_literal, LOST_NAMES))
    defaults = ", ".join(f"({quote_literal(n)}, {i})" for i, n in enumerate(DEFAULT_STAGES, 1))
    inbox = ", ".join(map(quote_literal, INBOX_NAMES))
    closed = raw.col(col["closed_at"])
    not_closed = ", ".join(map(quote_literal, NOT_CLOSED))
    con.execute(f"""create or replace temp view {raw.relation}_deals as
        select src._row, src._raw, trim({pipeline}) as pipeline, trim({raw.col(col["stage"])}) as stage,
               trim({raw.col(col["owner"])}) as owner, src.*
        from {raw.relation} as src""")
    deals = f"{raw.relation}_deals"
    if resolve:  # names to the API's ids, where pipelines.json knows them
        ids = """left join _amo_stage_names as names
                   on lower(names.pipeline_name) = lower(src.pipeline) and lower(names.name) = lower(src.stage)"""
        pipeline_id, stage_id = (
            "coalesce(names.pipeline_id, src.pipeline)",
            "coalesce(names.stage_id, src.stage)",
        )
    else:
        ids, pipeline_id, stage_id = "", "src.pipeline", "src.stage"
    staged = []
    if not resolve:
        staged.append(pipelines_as_named(con, raw, deals, "pipeline"))
        staged.append(
            stage_view(
                con,
                "stages",
                raw,
                f"""
            with seen as (
                select pipeline, stage, min(_row) as first_row,
                       case when lower(stage) in ({won}) then 'won'
                            when lower(stage) in ({lost}) then 'lost' else 'open' end as kind
                from {deals} where pipeline is not null and stage is not null group by all
            ),
            defaults(name, place) as (values {defaults}),
            ordered as (
                select seen.*, row_number() over (partition by pipeline order by
                    kind = 'lost', kind = 'won', place nulls last, first_row) as position
                from seen left join defaults on defaults.name = lower(seen.stage)
            )
            select row_number() over (order by pipeline, position) as _row, stage as _raw,
                   pipeline as pipeline_id, stage as stage_id, stage as name, position::varchar as position, kind,
                   lower(stage) in ({inbox}) as is_inbox
            from ordered""",
                derived=True,
            )
        )
    staged.append(owners_as_users(con, raw, deals, "owner"))
    staged.append(
        stage_view(
            con,
            "deals",
            raw,
            f"""
        select src._row, src._raw, {raw.col(col["deal_id"])} as deal_id, {pipeline_id} as pipeline_id,
               {stage_id} as stage_id, {raw.col(col["title"])} as title, {raw.col(col["client"])} as client,
               {amount_text(raw.col(col["amount"]))} as amount, {currency} as currency, src.owner as owner_id,
               {raw.col(col["source"])} as source, {raw.col(col["created_at"])} as created_at,
               case when lower(trim({closed})) not in ({not_closed}) then {closed} end as closed_at,
               {raw.col(col["loss_reason"])} as loss_reason
        from {deals} as src {ids}""",
        )
    )
    return staged


# --- API v4 ---------------------------------------------------------------------------------


def _api_pipelines(con, path: Path, records: list) -> list[Staged]:
    pipelines, stages = [], []
    for pipeline in records:
        if not isinstance(pipeline, dict):
            pipelines.append(pipeline)  # kept, to be rejected as not a record
            continue
        pipelines.append({"pipeline_id": text(pipeline.get("id")), "name": text(pipeline.get("name"))})
        for status in (pipeline.get("_embedded") or {}).get("statuses", []):
            sid = text(status.get("id"))
            stages.append({
                "pipeline_id": text(status.get("pipeline_id", pipeline.get("id"))), "stage_id": sid,
                "name": text(status.get("name")), "sort": text(status.get("sort")),
                "kind": "won" if sid == WON_ID else "lost" if sid == LOST_ID else "open",
                "is_inbox": "true" if status.get("type") == INBOX_TYPE else "false",
            })  # fmt: skip
    # The export's pipeline and stage names, for resolving them to these ids.
    names = [{**stage, "pipeline_name": p["name"]} for p in pipelines if isinstance(p, dict)
             for stage in stages if stage["pipeline_id"] == p["pipeline_id"]]  # fmt: skip
    raw = records_table(con, path, names, None, ("pipeline_id", "stage_id", "name", "pipeline_name"))
    con.execute(f"""create or replace temp view _amo_stage_names as
        select pipeline_id, stage_id, name, pipeline_name from {raw.relation}""")
    return stage_pipelines(con, path, pipelines, stages)


def group_names(users: list) -> dict:
    """The groups' names (`/users?with=group` embeds each user's groups), group 0 being the main
    group, «Отдел продаж» unless named."""
    names = {0: MAIN_GROUP}
    for user in users:
        embedded = (user.get("_embedded") or {}) if isinstance(user, dict) else {}
        for group in embedded.get("groups") or []:
            if isinstance(group, dict) and group.get("id") is not None and group.get("name"):
                names[group["id"]] = str(group["name"])
    return names


def _user(user: dict, groups: dict) -> dict:
    """A user in their group (a team); one with no group_id is in the main group (0)."""
    rights = user.get("rights") or {}
    group = rights.get("group_id") or 0
    return {
        "user_id": text(user.get("id")),
        "name": text(user.get("name")),
        "team": groups.get(group, f"group {group}"),
        "is_active": text(rights.get("is_active")),
    }


DEAL_COLUMNS = ("deal_id", "pipeline_id", "stage_id", "title", "client", "amount", "currency", "owner_id",
                "source", "created_at", "closed_at", "loss_reason", "created_by", "_drop")  # fmt: skip


def _lead(lead: dict) -> dict:
    embedded = lead.get("_embedded") or {}
    companies = embedded.get("companies") or []
    reasons = embedded.get("loss_reason") or []
    source = next(
        (
            (f.get("values") or [{}])[0].get("value")
            for f in lead.get("custom_fields_values") or []
            if str(f.get("field_code", "")).upper() == "UTM_SOURCE"
            or str(f.get("field_name", "")).lower() in ("источник", "source")
        ),
        None,
    )
    return {
        "deal_id": text(lead.get("id")),
        "pipeline_id": text(lead.get("pipeline_id")),
        "stage_id": text(lead.get("status_id")),
        "title": text(lead.get("name")),
        "client": text(companies[0].get("id")) if companies and isinstance(companies[0], dict) else None,
        "amount": text(lead.get("price")),
        "currency": None,  # the API gives amounts in the account's currency without naming it
        "owner_id": text(lead.get("responsible_user_id")),
        "source": text(source),
        "created_at": epoch_text(lead.get("created_at")),
        "closed_at": epoch_text(lead.get("closed_at")),
        "loss_reason": text(reasons[0].get("name")) if reasons and isinstance(reasons[0], dict)
        else text(lead.get("loss_reason_id")),
        "created_by": text(lead.get("created_by")),
        "_drop": "deleted in amoCRM (is_deleted)" if lead.get("is_deleted") else None,
    }  # fmt: skip


def _api_leads(con, path: Path, records: list, events: list[RawFile]) -> list[Staged]:
    raw = records_table(con, path, records, _lead, DEAL_COLUMNS)
    staged = [
        owners_as_users(con, raw, raw.relation),
        stage_view(
            con, "deals", raw, f"select * exclude (created_by) from {raw.relation}", drop_reason="_drop"
        ),
    ]
    # Each deal with stage-change events: its first stage (the first change's value_before),
    # entered at its creation. A lead without any (older than the event history, say) has no
    # known path: it gets the flagged synthetic entry, as a lead loaded without events does. A
    # pull of what changed brings a lead's new events only: when the stored history already goes
    # back further, its first stage is known and is kept (the new events' value_before is not it).
    if events:
        changes = " union all ".join(f"select * from {e.relation}" for e in events)
        staged.append(
            stage_view(
                con,
                "stage_changes",
                raw,
                f"""
            with changes as ({changes}),
            first_change as (
                select deal_id, arg_min(before_pipeline_id, entered_at) as pipeline_id,
                       arg_min(before_stage_id, entered_at) as stage_id,
                       min(try_cast(entered_at as timestamptz))::timestamp as first_at
                from changes where _drop is null group by deal_id
            ),
            known as (  -- stored changes after the creation, reaching further back than these events
                select stored.deal_id, min(stored.entered_at) as first_stored
                from main.stage_changes as stored
                inner join main.deals as deal on deal.deal_id = stored.deal_id
                where not stored.is_synthetic and stored.entered_at > deal.created_at
                group by stored.deal_id
            )
            select src._row, src._raw, src.deal_id, first_change.pipeline_id, first_change.stage_id,
                   src.created_at as entered_at, src.created_by as changed_by, src._drop
            from {raw.relation} as src inner join first_change using (deal_id)
            left join known using (deal_id)
            where known.first_stored is null or known.first_stored >= first_change.first_at""",
                drop_reason="_drop",
                derived=True,
                replace_key=("deal_id", "entered_at"),
            )
        )
    return staged


EVENT_COLUMNS = ("deal_id", "pipeline_id", "stage_id", "entered_at", "changed_by", "before_pipeline_id",
                 "before_stage_id", "is_call", "call_id", "direction", "event_type", "_drop")  # fmt: skip
# Leads deleted in amoCRM: the last of their lead_deleted / lead_restored events says so.
DELETED = """select deal_id from {relation} where event_type in ('lead_deleted', 'lead_restored')
             group by deal_id having arg_max(event_type, entered_at) = 'lead_deleted'"""
STAGE_CHANGE = "_row, _raw, deal_id, pipeline_id, stage_id, entered_at, changed_by, _drop"
# A call event links the call's note (value_after: [{"note": {"id": …}}]): it takes the note's id,
# so the note, loaded after it with the duration and the call's result, replaces it.
CALL = """_row, _raw, call_id as activity_id, deal_id, nullif(changed_by, '0') as owner_id, 'call' as kind, direction,
          entered_at as started_at"""
CALL_EVENTS = {"incoming_call": "in", "outgoing_call": "out"}


def _status(values) -> dict:
    first = values[0] if isinstance(values, list) and values and isinstance(values[0], dict) else {}
    return first.get("lead_status") or {}


def _event(event: dict) -> dict:
    after, before = _status(event.get("value_after")), _status(event.get("value_before"))
    kind = event.get("type")
    lead = event.get("entity_type") in (None, "lead", "leads")
    drop = None
    if kind != "lead_status_changed":
        drop = f"event type {kind!r}: not a stage change"
    elif not lead:
        drop = f"entity type {event.get('entity_type')!r}: not a deal"
    linked = event.get("value_after") or [{}]
    note = (linked[0].get("note") or {}) if isinstance(linked[0], dict) else {}
    return {
        "deal_id": text(event.get("entity_id")) if lead else None,
        "pipeline_id": text(after.get("pipeline_id")),
        "stage_id": text(after.get("id")),
        "entered_at": epoch_text(event.get("created_at")),
        "changed_by": text(event.get("created_by")),
        "before_pipeline_id": text(before.get("pipeline_id")),
        "before_stage_id": text(before.get("id")),
        "is_call": kind in CALL_EVENTS,
        "call_id": f"note-{note['id']}" if note.get("id") else f"event-{text(event.get('id'))}",
        "direction": CALL_EVENTS.get(kind),
        "event_type": kind,
        "_drop": drop,
    }


def _deal_of(entity: dict) -> str | None:
    return text(entity.get("entity_id")) if entity.get("entity_type") in (None, "leads", "lead") else None


def _task(task: dict) -> dict:
    kind = {1: "call", 2: "meeting"}.get(task.get("task_type_id"), "task")
    done = bool(task.get("is_completed"))
    return {
        "activity_id": f"task-{text(task.get('id'))}",
        "deal_id": _deal_of(task),
        "owner_id": text(task.get("responsible_user_id")),
        "kind": kind,
        "direction": "out" if kind == "call" else None,
        "status": "done" if done else "planned",
        "started_at": epoch_text(task.get("updated_at")) if done else None,
        "due_at": epoch_text(task.get("complete_till")),
        "duration_s": text(task.get("duration")) if done else None,
        "amount": None,
        "_drop": "task id is missing" if task.get("id") is None else None,
    }


def _note(note: dict) -> dict:
    kind = note.get("note_type")
    params = note.get("params") or {}
    call = kind in ("call_in", "call_out")
    duration = params.get("duration")
    talked = str(params.get("call_status")) == "4" or (isinstance(duration, int | float) and duration > 0)
    return {
        "activity_id": f"note-{text(note.get('id'))}",
        "deal_id": _deal_of(note),
        "owner_id": text(note.get("responsible_user_id") or note.get("created_by")),
        "kind": "call" if call else "note",
        "direction": {"call_in": "in", "call_out": "out"}.get(kind),
        "status": ("done" if talked else "missed") if call else "done",
        "started_at": epoch_text(note.get("created_at")),
        "due_at": None,
        "duration_s": text(duration) if call else None,
        "amount": None,
        "_drop": "note id is missing" if note.get("id") is None else None,
    }
