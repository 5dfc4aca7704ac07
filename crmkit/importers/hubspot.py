"""HubSpot: the deals export (CSV or XLSX) with the per-stage "date entered" properties, by their
internal names (`hs_date_entered_<stage id>` and the newer `hs_v2_date_entered_<stage id>`) or
their labels (`Date entered "Appointment Scheduled (Sales Pipeline)"`) — or the same deals as
`/crm/v3/objects/deals` (or its search) gives them, saved as JSON — and optionally the pipelines
from `/crm/v3/pipelines/deals` or the legacy `/crm-pipelines/v1/pipelines/deals` (`pipelineId`,
`stageId`: what ETL tools save) and the owners from `/crm/v3/owners` (owners by name) as JSON.

- History: one stage entry per filled "date entered" cell. When both the legacy and the v2
  property are exported for a stage, the v2 value wins and the legacy one fills in where v2 is
  empty (HubSpot computes v2 for deals the legacy one missed, and keeps the legacy one frozen).
- The stage is the fact: its kind comes from the pipelines' metadata (isClosed, probability 1 =
  won) when they list it; else HubSpot's default pipeline (`closedwon`, `closedlost`, the five open
  stages); else, for a custom stage no pipelines file lists, what most of its deals' `hs_is_closed_won` /
  `hs_is_closed` say. A deal whose flags contradict its stage keeps the stage, and the audit
  lists it. Order: displayOrder, else the order of the export's "date entered" columns.
- `closedate` is the close time of a deal in a closed stage only (an open deal's is the expected
  close).
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
    quote_ident,
    quote_literal,
    stage_pipelines,
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

FORMAT = "hubspot"
COLUMNS = {  # canonical field: internal property name, export label
    "deal_id": ("hs_object_id", "record id", "deal id", "id"),
    "title": ("dealname", "deal name"),
    "stage": ("dealstage", "deal stage"),
    "pipeline": ("pipeline",),
    "amount": ("amount",),
    "currency": ("deal_currency_code", "currency"),
    "owner": ("hubspot_owner_id", "deal owner"),
    "created_at": ("createdate", "create date"),
    "closed_at": ("closedate", "close date"),
    "source": ("hs_analytics_source", "original source type", "original traffic source", "deal source"),
    "loss_reason": ("closed_lost_reason", "closed lost reason"),
    "client": ("associated company", "associated company ids", "company name"),
    "is_won": ("hs_is_closed_won", "is closed won"),
    "is_closed": ("hs_is_closed", "is deal closed?", "is closed"),
}
ENTERED = re.compile(r"^hs_(v2_)?date_entered_(.+)$")
ENTERED_LABEL = re.compile(
    r"^(\(legacy\)\s*)?date entered\s*\"?(.+?)\s*\((.+)\)\"?\s*(\(legacy\))?$", re.IGNORECASE
)
DEFAULT_STAGES = ("appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin",
                  "contractsent", "closedwon", "closedlost")  # fmt: skip
TRUE = "('true', '1', 'yes', 'y')"


def column(columns: list[str], field: str) -> str | None:
    lowered = {c.strip().lower(): c for c in columns}
    return next((lowered[a] for a in COLUMNS[field] if a in lowered), None)


def entered_columns(columns: list[str]) -> list[tuple[str, str | None, str, bool]]:
    """(column, pipeline or None, stage, is_v2) for every "date entered" column."""
    found = []
    for name in columns:
        if match := ENTERED.match(name.strip()):
            found.append((name, None, match.group(2), bool(match.group(1))))
        elif match := ENTERED_LABEL.match(name.strip()):
            legacy = bool(match.group(1) or match.group(4))
            found.append((name, match.group(3), match.group(2), not legacy))
    return found


def looks_like(files: list[Path]) -> bool:
    for path in files:
        if path.suffix.lower() == ".json":
            head = head_text(path)
            if '"results"' in head and '"stages"' in head and '"displayOrder"' in head:
                return True
            if '"results"' in head and '"properties"' in head and '"dealstage"' in head:
                return True
        else:
            columns = peek_columns(path)
            if (
                column(columns, "deal_id")
                and column(columns, "stage")
                and (entered_columns(columns) or column(columns, "deal_id") in ("hs_object_id", "Record ID"))
            ):
                return True
    return False


def stage(con, files: list[Path], options: ReadOptions) -> list[Staged]:
    staged, exports, objects, owners = [], [], [], {}
    known: dict[tuple[str, str], str] = {}  # (pipeline, stage) -> kind, from the pipelines files
    named: set[str] = set()  # pipelines the pipelines files name
    for path in files:
        if path.suffix.lower() == ".json":
            doc = read_json(path)
            pages = doc if isinstance(doc, list) else [doc]  # one response, or a list of pages
            if not all(isinstance(p, dict) and isinstance(p.get("results"), list) for p in pages):
                raise CrmkitError(f"{path.name}: not a HubSpot API response (no `results` list)")
            results = [r for page in pages for r in page["results"]]
            first = next((r for r in results if isinstance(r, dict)), {})
            if not results:
                continue  # an empty page (a search that found nothing new)
            if "properties" in first:  # /crm/v3/objects/deals (or its search)
                objects.append((path, results))
            elif "firstName" in first or "email" in first:  # /crm/v3/owners
                owners.update({text(o.get("id")): _owner_name(o) for o in results if isinstance(o, dict)})
            else:
                staged += _pipelines(con, path, results, known, named)
        else:
            raw = read_text_table(con, path, decimal=options.decimal)
            missing = [f for f in ("deal_id", "stage") if not column(raw.columns, f)]
            if missing:
                raise CrmkitError(
                    f"{path.name}: not a HubSpot deals export: no {' or '.join(COLUMNS[missing[0]])} column; "
                    f"found: {', '.join(map(repr, raw.columns))}. Export deals with Record ID and Deal Stage"
                )
            exports.append(raw)
    for path, records in objects:
        exports.append(_objects(con, path, records, owners))
    for raw in exports:
        staged += _export(con, raw, known, named)
    return staged


def _owner_name(owner: dict) -> str | None:
    name = " ".join(str(owner.get(k) or "").strip() for k in ("firstName", "lastName")).strip()
    return name or text(owner.get("email")) or text(owner.get("id"))


def _objects(con, path: Path, records: list, owners: dict) -> RawFile:
    """Deals as the API gives them ({id, properties: {internal name: value}}) read as an export
    with internal names for headers; an owner by name when /crm/v3/owners was loaded with them."""
    names = sorted({k for r in records if isinstance(r, dict) for k in (r.get("properties") or {})})
    columns = ["hs_object_id", *[n for n in names if n != "hs_object_id"]]

    def shape(record: dict) -> dict:
        values = {k: text(v) for k, v in (record.get("properties") or {}).items()}
        values["hs_object_id"] = text(record.get("id"))
        owner = values.get("hubspot_owner_id")
        if owner in owners:
            values["hubspot_owner_id"] = owners[owner]
        return {c: values.get(c) for c in columns}

    return records_table(con, path, records, shape, columns)


def _pipelines(con, path: Path, records: list, known: dict, named: set) -> list[Staged]:
    """Pipelines as `/crm/v3/pipelines/deals` lists them (`id`) or the legacy v1 endpoint
    (`pipelineId`, its stages' `stageId`); the stages' kinds are noted in `known`."""
    pipelines, stages = [], []
    for pipeline in records:
        if not isinstance(pipeline, dict):
            pipelines.append(pipeline)  # kept, to be rejected as not a record
            continue
        pipeline_id = text(pipeline.get("id") if "id" in pipeline else pipeline.get("pipelineId"))
        pipelines.append({"pipeline_id": pipeline_id, "name": text(pipeline.get("label"))})
        named.add(pipeline_id)
        for stage_ in pipeline.get("stages") or []:
            meta = stage_.get("metadata") or {}
            closed = str(meta.get("isClosed")).lower() == "true"
            won = closed and float(meta.get("probability") or 0) >= 1
            stage_id = text(stage_.get("id") if "id" in stage_ else stage_.get("stageId"))
            kind = "won" if won else "lost" if closed else "open"
            known[(pipeline_id, stage_id)] = kind
            stages.append({
                "pipeline_id": pipeline_id, "stage_id": stage_id,
                "name": text(stage_.get("label")), "sort": text(stage_.get("displayOrder")), "kind": kind,
            })  # fmt: skip
    return stage_pipelines(con, path, pipelines, stages)


def _export(con, raw: RawFile, known: dict, named: set) -> list[Staged]:
    col = {f: column(raw.columns, f) for f in COLUMNS}
    pipeline = f"coalesce({raw.col(col['pipeline'])}, 'default')"
    entered = entered_columns(raw.columns)
    deals = f"{raw.relation}_hs"
    con.execute(f"""create or replace temp view {deals} as
        select src._row, src._raw, {raw.col(col["deal_id"])} as deal_id, {pipeline} as pipeline_id,
               {raw.col(col["stage"])} as stage_id, {_flag(raw, col["is_won"])} as is_won,
               {_flag(raw, col["is_closed"])} as is_closed, src.*
        from {raw.relation} as src""")
    # The pipeline of a stage some deal is in now (for "date entered" columns that do not say it).
    con.execute(f"""create or replace temp view {deals}_stage_pipeline as
        select stage_id, any_value(pipeline_id) as pipeline_id from {deals} group by stage_id""")
    # Stage entries: one row per filled cell, v2 before legacy for the same deal and stage.
    cells = (
        " union all ".join(
            f"select _row, deal_id, coalesce({quote_literal(p) if p else _default_pipeline(s)}, "
            f"known.pipeline_id, src.pipeline_id) as pipeline_id, {quote_literal(s)} as stage_id, "
            f"{quote_literal(c)} as source_column, {'true' if v2 else 'false'} as is_v2, {i} as place, "
            f"src.{quote_ident(c)} as entered_at "
            f"from {deals} as src left join {deals}_stage_pipeline as known on known.stage_id = {quote_literal(s)} "
            f"where nullif(trim(src.{quote_ident(c)}), '') is not null"
            for i, (c, p, s, v2) in enumerate(entered)
        )
        or "select null::bigint as _row, null as deal_id, null as pipeline_id, null as stage_id, "
        "null as source_column, null::boolean as is_v2, null::integer as place, null as entered_at where false"
    )
    con.execute(f"create or replace temp view {deals}_cells as {cells}")
    # The kind of every stage a deal is in or entered: the pipelines' where they list it, else
    # HubSpot's default pipeline's, else what most deals in it say (one deal's flag is not the stage's).
    listed = ", ".join(f"({quote_literal(p)}, {quote_literal(st)}, '{k}')" for (p, st), k in known.items())
    defaults = ", ".join(f"({quote_literal(s)}, {i})" for i, s in enumerate(DEFAULT_STAGES, 1))
    con.execute(f"""create or replace temp table {deals}_kinds as
        with listed(pipeline_id, stage_id, kind) as (
            {f"values {listed}" if listed else "select null::varchar, null::varchar, null::varchar where false"}
        ),
        seen as (
            select pipeline_id, stage_id, count(*) filter (is_won) as won,
                   count(*) filter (is_closed and not is_won) as lost, count(*) as deals, min(_row) as first
            from {deals} where stage_id is not null group by all
            union all
            select pipeline_id, stage_id, 0, 0, 0, null from {deals}_cells
        ),
        kinds as (
            select pipeline_id, stage_id, min(first) as first,
                   case when lower(stage_id) in ('closedwon', 'closed won') then 'won'
                        when lower(stage_id) in ('closedlost', 'closed lost') then 'lost'
                        when lower(stage_id) in {tuple(DEFAULT_STAGES)} then 'open'
                        when sum(won) * 2 > sum(deals) then 'won'
                        when sum(lost) * 2 > sum(deals) then 'lost'
                        else 'open' end as kind
            from seen where (pipeline_id, stage_id) not in (select (pipeline_id, stage_id) from listed)
            group by pipeline_id, stage_id
        )
        select pipeline_id, stage_id, kind, first, true as derived from kinds
        union all
        select pipeline_id, stage_id, kind, null, false from listed""")
    staged = []
    # the pipelines deals or their stage entries name that no pipelines file lists
    listed_ids = ", ".join(map(quote_literal, named)) or "select null where false"
    unnamed = (
        f"(select * from (select _row, pipeline_id from {deals} union all select _row, pipeline_id "
        f"from {deals}_cells) where pipeline_id not in ({listed_ids}))"
    )
    staged.append(pipelines_as_named(con, raw, unnamed, "pipeline_id"))
    staged.append(
        stage_view(
            con,
            "stages",
            raw,
            f"""
        with places as (select stage_id, min(place) as place from {deals}_cells group by 1),
        defaults(stage_id, default_place) as (values {defaults})
        select row_number() over (order by pipeline_id, stage_id) as _row, stage_id as _raw, pipeline_id,
               stage_id, stage_id as name, kind,
               row_number() over (partition by pipeline_id order by kind = 'lost', kind = 'won',
                   coalesce(places.place, 1000 + default_place, 2000), first, stage_id)::varchar as position
        from {deals}_kinds left join places using (stage_id) left join defaults on lower(stage_id) = defaults.stage_id
        where derived""",
            derived=True,
        )
    )
    staged.append(
        owners_as_users(con, raw, f"(select {raw.col(col['owner'])} as owner_id from {raw.relation} as src)")
    )
    # a flag the export gives (null where it has none) that says otherwise than the deal's stage
    contradiction = " ".join(
        f"when src.{flag} is not null and src.{flag} is distinct from ({test}) then "
        f"'{name} ' || src.{flag}::varchar || ' but stage ' || src.stage_id || ' is ' || kinds.kind "
        "|| ': the stage is kept'"
        for flag, name, test in (
            ("is_won", "hs_is_closed_won", "kinds.kind = 'won'"),
            ("is_closed", "hs_is_closed", "kinds.kind in ('won', 'lost')"),
        )
    )
    staged.append(
        stage_view(
            con,
            "deals",
            raw,
            f"""
        select src._row, src._raw, deal_id, src.pipeline_id, src.stage_id, {raw.col(col["title"])} as title,
               {raw.col(col["client"])} as client, {amount_text(raw.col(col["amount"]))} as amount,
               {raw.col(col["currency"])} as currency, {raw.col(col["owner"])} as owner_id,
               {raw.col(col["source"])} as source, {raw.col(col["created_at"])} as created_at,
               case when kinds.kind in ('won', 'lost') then {raw.col(col["closed_at"])} end as closed_at,
               {raw.col(col["loss_reason"])} as loss_reason,
               case {contradiction} end as _note
        from {deals} as src
        left join {deals}_kinds as kinds using (pipeline_id, stage_id)""",
            note_column="_note",
        )
    )
    staged.append(
        stage_view(
            con,
            "stage_changes",
            raw,
            f"""
        select row_number() over (order by _row, place) as _row,
               json_object('row', _row, 'column', source_column, 'value', entered_at)::varchar as _raw,
               deal_id, pipeline_id, stage_id, entered_at,
               case when row_number() over (partition by deal_id, stage_id order by is_v2 desc, place) > 1
                    then 'legacy date entered: the v2 property gives this stage entry' end as _drop
        from {deals}_cells""",
            derived=True,
            drop_reason="_drop",
        )
    )
    return staged


def _flag(raw: RawFile, column: str | None) -> str:
    """A true/false property as a boolean; null where the export has no such column or value."""
    if column is None:
        return "null::boolean"
    value = f"lower(trim({raw.col(column)}))"
    return f"case when {value} in {TRUE} then true when {value} in ('false', '0', 'no', 'n') then false end"


def _default_pipeline(stage_id: str) -> str:
    """HubSpot's default stages belong to the default pipeline; other stages are looked up."""
    return "'default'" if stage_id in DEFAULT_STAGES else "null"
