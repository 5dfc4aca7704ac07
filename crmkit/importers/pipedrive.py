"""Pipedrive: the deals export (CSV or XLSX; "Deal - Stage", "Deal - Status", "Deal - Owner",
"Deal - Won time", … or the same names without "Deal - ") or the deals of `/v1/deals` saved as
JSON (what `crmkit pull pipedrive` writes), optionally the stages from `/v1/stages`, the pipelines
from `/v1/pipelines`, the users from `/v1/users` and the deal flow from `/v1/deals/{id}/flow` (or a
`dealflow` stream of dealChange records), saved as JSON.

- A deal's pipeline is its own `pipeline_id`, named by `/v1/pipelines` or by the stages of that
  pipeline (else by its id); a stage the stages do not list (deleted, hidden, a partial export)
  is named by its id. Every listed pipeline and stage is kept, deals or not.
- Owners: `user_id` as an object (API v1 lists) by its name; as a bare id (webhooks, API v2, ETL
  tools) by the `/v1/users` name of that id, else the deal's `owner_name`, else the id.

- The API's times are UTC (its deals' and its flow's); the export's are in the account's zone.
- Users (`/v1/users`) are named as the deals name their owners, with whether they are active.
- Pipedrive keeps a won or lost deal in its last stage and marks the status; crmkit gives every
  pipeline a won stage «Won» and a lost stage «Lost», entered at "Won time" / "Lost time", so that
  status follows the stage as in the other CRMs.
- History: the flow's `stage_id` changes (stage names from the change itself or from the stages);
  a deal's first stage (the first change's old value, or its stage in the export) is entered when
  the deal was created. Without the flow a deal's history is that first entry and its close.
- Stage order: `order_nr` from the stages when loaded, else first appearance in the export.
"""

from __future__ import annotations

import json
from pathlib import Path

from crmkit.errors import CrmkitError
from crmkit.importers.base import (
    ReadOptions,
    Staged,
    amount_text,
    funnel_positions,
    owners_as_users,
    pipelines_as_named,
    stage_records,
    stage_view,
)
from crmkit.importers.files import (
    RawFile,
    head_text,
    peek_columns,
    read_json,
    read_text_table,
    records_table,
    text,
)

FORMAT = "pipedrive"
WON, LOST = "Won", "Lost"
COLUMNS = {  # canonical field: the export's names, without the "Deal - " prefix
    "deal_id": ("id",),
    "title": ("title",),
    "amount": ("value",),
    "currency": ("currency", "currency of value"),
    "owner": ("owner", "user"),
    "pipeline": ("pipeline",),
    "stage": ("stage",),
    "status": ("status",),
    "created_at": ("deal created", "add time", "created"),
    "won_time": ("won time",),
    "lost_time": ("lost time",),
    "closed_at": ("deal closed on", "close time", "closed on"),
    "loss_reason": ("lost reason",),
    "client": ("organization", "organization name", "contact person"),
    "source": ("source channel", "source origin", "source"),
}


def column(columns: list[str], field: str) -> str | None:
    bare = {c.strip().lower().removeprefix("deal - "): c for c in columns}
    return next((bare[a] for a in COLUMNS[field] if a in bare), None)


def looks_like(files: list[Path]) -> bool:
    for path in files:
        if path.suffix.lower() == ".json":
            head = head_text(path)
            if '"dealChange"' in head or ('"order_nr"' in head and '"pipeline_id"' in head):
                return True
            if all(f'"{key}"' in head for key in ("add_time", "stage_id", "pipeline_id", "won_time")):
                return True
        elif any(c.startswith("Deal - ") for c in peek_columns(path)):
            return True
    return False


def stage(con, files: list[Path], options: ReadOptions) -> list[Staged]:
    exports, stages, flows, api_deals, users, pipelines = [], [], [], [], [], []
    for path in files:
        if path.suffix.lower() == ".json":
            doc = read_json(path)
            records = _records(doc)
            if records is None:
                raise CrmkitError(f"{path.name}: not a Pipedrive API response (no `data` list)")
            records = [_unwrapped(r) for r in records]
            first = next((r for r in records if isinstance(r, dict)), {})
            if {"add_time", "stage_id", "status", "title"} <= first.keys():  # /v1/deals
                api_deals.append((path, records))
            elif {"email", "name", "active_flag"} <= first.keys():  # /v1/users
                users.append((path, records))
            elif "order_nr" in first and "pipeline_id" not in first:  # /v1/pipelines
                pipelines.append((path, records))
            else:
                (stages if "order_nr" in first else flows).append((path, records))
        else:
            raw = read_text_table(con, path, decimal=options.decimal)
            missing = [f for f in ("deal_id", "pipeline", "stage", "status") if not column(raw.columns, f)]
            if missing:
                raise CrmkitError(
                    f"{path.name}: not a Pipedrive deals export: missing "
                    f"{', '.join(repr('Deal - ' + ('ID' if f == 'deal_id' else COLUMNS[f][0].title())) for f in missing)}; found: "
                    f"{', '.join(map(repr, raw.columns))}. Export deals with ID, Pipeline, Stage and Status"
                )
            exports.append(raw)
    # Users, named as the deals name their owners (the export's "Owner", the API's user_id.name):
    # who is active; stored before the deals, whose unknown owners then become users of their own.
    user_files = [stage_records(con, "users", path, records, _user) for path, records in users]
    if api_deals and not stages:
        raise CrmkitError(
            f"{api_deals[0][0].name}: Pipedrive's /v1/deals name stages by id: load /v1/stages (saved as "
            "JSON) with them"
        )
    listed = [st for _, records in stages for st in records if isinstance(st, dict)]
    pipeline_names = {text(st.get("pipeline_id")): text(st.get("pipeline_name")) for st in listed
                      if text(st.get("pipeline_name"))}  # fmt: skip
    pipeline_names |= {text(p.get("id")): text(p.get("name")) for _, records in pipelines
                       for p in records if isinstance(p, dict)}  # fmt: skip
    named = {text(st.get("id")): (text(st.get("name")), _pipeline_of(st, pipeline_names))
             for st in listed}  # fmt: skip
    user_names = {text(u.get("id")): text(u.get("name")) for _, records in users for u in records if isinstance(u, dict)}
    for path, records in api_deals:
        exports.append(records_table(con, path, records, lambda d: _api_deal(d, named, pipeline_names, user_names),
                                     API_DEAL_COLUMNS))  # fmt: skip
    if not exports:
        raise CrmkitError("no Pipedrive deals export among the files: the stages and flow need the deals")
    staged: list[Staged] = user_files
    con.execute("""create or replace temp table _pd_stages
        (stage_id varchar, name varchar, pipeline varchar, order_nr integer)""")
    for path, records in pipelines:  # every listed pipeline, with deals or not
        staged.append(stage_records(con, "pipelines", path, records, lambda p: {
            "pipeline_id": text(p.get("name")), "name": text(p.get("name"))}))  # fmt: skip
    for path, records in stages:  # and every pipeline the stages name
        staged.append(stage_records(con, "pipelines", path, _distinct_pipelines(records, pipeline_names),
                                    lambda p: p))  # fmt: skip
    positions = funnel_positions(
        [(_pipeline_of(st, pipeline_names), text(st.get("id")), "open", st.get("order_nr")) for st in listed]
    )
    for path, records in stages:
        raw = records_table(con, path, records, lambda s: {"stage_id": text(s.get("id")), "name": text(s.get("name")),
                            "pipeline": _pipeline_of(s, pipeline_names), "order_nr": text(s.get("order_nr")),
                            "position": positions.get((_pipeline_of(s, pipeline_names), text(s.get("id"))))})  # fmt: skip
        con.execute(f"insert into _pd_stages select stage_id, name, pipeline, try_cast(order_nr as integer) "
                    f"from {raw.relation}")  # fmt: skip
        staged.append(
            stage_view(
                con,
                "stages",
                raw,
                f"""
            select _row, _raw, pipeline as pipeline_id, name as stage_id, name, 'open' as kind, position
            from {raw.relation}""",
            )
        )
    flow_views = [records_table(con, path, records, _change, FLOW_COLUMNS) for path, records in flows]
    for raw in exports:
        staged += _export(con, raw, flow_views)
    for raw in flow_views:
        staged.append(
            stage_view(
                con,
                "stage_changes",
                raw,
                f"""
            select src._row, src._raw, src.deal_id, coalesce(named.pipeline, deal.pipeline_id) as pipeline_id,
                   coalesce(src.stage_name, named.name) as stage_id, src.entered_at, src.changed_by, src._drop
            from {raw.relation} as src
            left join _pd_stages as named on named.stage_id = src.new_stage
            left join main.deals as deal on deal.deal_id = src.deal_id""",
                drop_reason="_drop",
            )
        )
    return staged


def _pipeline_of(stage: dict, names: dict) -> str | None:
    """A stage's pipeline by name: as /v1/pipelines or the stages name it."""
    return names.get(text(stage.get("pipeline_id"))) or text(stage.get("pipeline_name"))


def _distinct_pipelines(stages: list, names: dict) -> list:
    seen = {}
    for st in stages:
        if isinstance(st, dict):
            name = _pipeline_of(st, names)
            seen.setdefault(name, {"pipeline_id": name, "name": name})
    return list(seen.values())


def _user(user: dict) -> dict:
    name = text(user.get("name"))
    return {"user_id": name, "name": name, "is_active": text(user.get("active_flag"))}


def _unwrapped(record):
    """A /v1/recents item ({"item": "deal", "data": {…}}) is its deal."""
    if isinstance(record, dict) and record.get("item") == "deal" and isinstance(record.get("data"), dict):
        return record["data"]
    return record


def _records(doc) -> list | None:
    pages = doc if isinstance(doc, list) and all(isinstance(p, dict) and "data" in p for p in doc) else [doc]
    if isinstance(doc, list) and pages is not doc:
        return doc  # a plain list of records (a dealflow stream)
    records = []
    for page in pages:
        data = page.get("data") if isinstance(page, dict) else None
        if data is None and isinstance(page, dict) and page.get("success") is True:
            data = []  # the API's answer when there is nothing: "data": null
        if not isinstance(data, list):
            return None
        records += data
    return records


API_DEAL_COLUMNS = tuple(f"Deal - {name}" for name in (
    "ID", "Title", "Value", "Currency", "Owner", "Pipeline", "Stage", "Status", "Deal created", "Won time",
    "Lost time", "Lost reason", "Organization", "Source channel"))  # fmt: skip


def _utc(value) -> str | None:
    """An API time ("2026-09-01 06:00:00", UTC) with its offset, so no --tz moves it."""
    shown = text(value)
    return f"{shown}+00:00" if shown and "+" not in shown and not shown.endswith("Z") else shown


def _api_deal(deal: dict, stages: dict, pipelines: dict, users: dict) -> dict:
    """A /v1/deals record as the export's columns (the export path then does the rest)."""
    stage, pipeline = stages.get(text(deal.get("stage_id")), (None, None))
    pipeline = pipeline or pipelines.get(text(deal.get("pipeline_id"))) or text(deal.get("pipeline_id"))
    owner, organization = deal.get("user_id", deal.get("owner_id")), deal.get("org_id")
    if isinstance(owner, dict):
        owner = text(owner.get("name"))
    else:
        owner = users.get(text(owner)) or text(deal.get("owner_name")) or text(owner)
    values = (
        text(deal.get("id")), text(deal.get("title")), text(deal.get("value")), text(deal.get("currency")),
        owner, pipeline, stage or text(deal.get("stage_id")), text(deal.get("status")), _utc(deal.get("add_time")),
        _utc(deal.get("won_time")), _utc(deal.get("lost_time")), text(deal.get("lost_reason")),
        text(organization.get("name")) if isinstance(organization, dict) else text(deal.get("org_name")),
        text(deal.get("origin")),
    )  # fmt: skip
    return dict(zip(API_DEAL_COLUMNS, values, strict=True))


FLOW_COLUMNS = (
    "deal_id",
    "new_stage",
    "old_stage",
    "stage_name",
    "old_stage_name",
    "entered_at",
    "changed_by",
    "_drop",
)


def _change(record: dict) -> dict:
    """A flow item: {"object": "dealChange", "data": {...}} or the change itself."""
    change = record.get("data") if isinstance(record.get("data"), dict) else record
    obj = record.get("object", "dealChange")
    extra = change.get("additional_data") or {}
    if isinstance(extra, str):
        extra = json.loads(extra) if extra.startswith("{") else {}
    drop = None
    if obj != "dealChange":
        drop = f"flow item {obj!r}: not a deal change"
    elif change.get("field_key") != "stage_id":
        drop = f"change of {change.get('field_key')!r}: not a stage change"
    return {
        "deal_id": text(change.get("item_id")),
        "new_stage": text(change.get("new_value")),
        "old_stage": text(change.get("old_value")),
        "stage_name": text(extra.get("new_value_formatted")),
        "old_stage_name": text(extra.get("old_value_formatted")),
        "entered_at": _utc(change.get("log_time")),  # the API's time: UTC
        "changed_by": text(change.get("user_id")),
        "_drop": drop,
    }


def _export(con, raw: RawFile, flows: list[RawFile]) -> list[Staged]:
    col = {f: column(raw.columns, f) for f in COLUMNS}
    deals = f"{raw.relation}_pd"
    status = f"lower(trim({raw.col(col['status'])}))"
    con.execute(f"""create or replace temp view {deals} as
        select src._row, src._raw, {raw.col(col["deal_id"])} as deal_id, trim({raw.col(col["pipeline"])}) as pipeline,
               trim({raw.col(col["stage"])}) as last_stage, {status} as status,
               case {status} when 'won' then '{WON}' when 'lost' then '{LOST}' else trim({raw.col(col["stage"])}) end
                   as stage_id,
               {raw.col(col["created_at"])} as created_at, {raw.col(col["won_time"])} as won_time,
               {raw.col(col["lost_time"])} as lost_time, src.*
        from {raw.relation} as src""")
    staged = [
        pipelines_as_named(con, raw, deals, "pipeline"),
        stage_view(
            con,
            "stages",
            raw,
            f"""
            with seen as (
                select pipeline, last_stage as stage, min(_row) as first, 'open' as kind from {deals}
                where pipeline is not null and last_stage is not null
                    and (pipeline, last_stage) not in (select (pipeline, name) from _pd_stages)
                group by all
                union all
                select distinct pipeline, stage, null, kind
                from {deals}, (values ('{WON}', 'won'), ('{LOST}', 'lost')) as closed(stage, kind)
                where pipeline is not null
            )
            select row_number() over (order by pipeline, stage) as _row, stage as _raw, pipeline as pipeline_id,
                   stage as stage_id, stage as name, kind,
                   ((select count(*) from _pd_stages where _pd_stages.pipeline = seen.pipeline)
                    + row_number() over (partition by pipeline order by kind = 'lost', kind = 'won', first))::varchar
                       as position
            from seen""",
            derived=True,
        ),
        owners_as_users(con, raw, f"(select {raw.col(col['owner'])} as owner_id from {raw.relation} as src)"),
        stage_view(
            con,
            "deals",
            raw,
            f"""
            select src._row, src._raw, deal_id, pipeline as pipeline_id, stage_id, {raw.col(col["title"])} as title,
                   {raw.col(col["client"])} as client, {amount_text(raw.col(col["amount"]))} as amount,
                   {raw.col(col["currency"])} as currency, {raw.col(col["owner"])} as owner_id,
                   {raw.col(col["source"])} as source, created_at,
                   case status when 'won' then coalesce(won_time, {raw.col(col["closed_at"])})
                               when 'lost' then coalesce(lost_time, {raw.col(col["closed_at"])}) end as closed_at,
                   {raw.col(col["loss_reason"])} as loss_reason
            from {deals} as src""",
        ),
    ]
    changes = " union all ".join(f"select * from {f.relation}" for f in flows) or (
        "select null as deal_id, null as old_stage, null as old_stage_name, null as entered_at, null as _drop where false"
    )
    # Each deal's first stage, entered at its creation; its close, entered at won / lost time.
    staged.append(
        stage_view(
            con,
            "stage_changes",
            raw,
            f"""
        with first_change as (
            select deal_id, arg_min(coalesce(old_stage_name, named.name), entered_at) as stage
            from ({changes}) as changes left join _pd_stages as named on named.stage_id = changes.old_stage
            where _drop is null group by deal_id
        ),
        entries as (
            select _row, 1 as part, deal_id, pipeline, coalesce(first_change.stage, last_stage) as stage_id,
                   created_at as entered_at
            from {deals} left join first_change using (deal_id)
            union all
            select _row, 2, deal_id, pipeline, stage_id, coalesce(won_time, lost_time)
            from {deals} where status in ('won', 'lost')
        )
        select row_number() over (order by _row, part) as _row,
               json_object('row', _row, 'entry', stage_id, 'at', entered_at)::varchar as _raw,
               deal_id, pipeline as pipeline_id, stage_id, entered_at
        from entries""",
            derived=True,
            replace_key=("deal_id", "entered_at"),
        )
    )
    return staged
