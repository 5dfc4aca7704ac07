"""Salesforce "Data Export" files: Opportunity.csv, and where present OpportunityHistory.csv,
OpportunityStage.csv and User.csv (field names as Salesforce exports them).

- Opportunities become deals (one pipeline, "Salesforce"); a record marked IsDeleted is rejected
  with that reason; CloseDate counts as the close time only once IsClosed.
- OpportunityHistory holds one row per save that changed the stage, amount, probability or close
  date: consecutive saves with the same StageName are collapsed into one stage entry (the others
  are accounted for as rejects saying so). Saves at the same instant keep their Id order.
- Stages come from OpportunityStage (SortOrder, IsClosed, IsWon) when exported, else from the
  opportunities themselves (StageSortOrder, IsClosed, IsWon), else from Salesforce's standard
  names; closed stages are placed after the open ones.
- Owners (and the users who saved history rows) become users, named from User.csv if present.
- Task.csv and Event.csv become activities: calls and emails by TaskSubtype, meetings from
  events; those about an Opportunity (WhatId) are tied to its deal.
"""

from __future__ import annotations

from pathlib import Path

from crmkit.contract import TABLES
from crmkit.errors import CrmkitError
from crmkit.importers.base import ReadOptions, Staged, check_columns
from crmkit.importers.files import RawFile, read_text_table

FORMAT = "salesforce"
PIPELINE = ("salesforce", "Salesforce")
STANDARD_STAGES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)
TRUE = "('1', 'true', 'TRUE', 'True')"


def files(paths: list[Path]) -> dict[str, Path]:
    """The export's files by object name, from the files or folders given."""
    found = {}
    for path in paths:
        for file in sorted(path.glob("*.csv")) if path.is_dir() else [path]:
            found[file.stem] = file
    if "Opportunity" not in found:
        raise CrmkitError(
            "a Salesforce export needs Opportunity.csv; found: "
            f"{', '.join(sorted(p.name for p in found.values())) or 'no CSV files'}"
        )
    return found


def looks_like(paths: list[Path]) -> bool:
    """Auto-detection: an Opportunity.csv among the files or in a folder given."""
    return any(
        (p.is_dir() and (p / "Opportunity.csv").exists()) or p.name == "Opportunity.csv" for p in paths
    )


def _require(raw: RawFile, columns: list[str]):
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise CrmkitError(
            f"{raw.path.name}: missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(map(repr, missing))}; found: {', '.join(map(repr, raw.columns))}"
        )


def _column(raw: RawFile, name: str, default: str = "null") -> str:
    return f'src."{name}"' if name in raw.columns else default


def stage(con, paths: list[Path], options: ReadOptions) -> list[Staged]:
    found = files(paths)
    opp = read_text_table(con, found["Opportunity"])
    _require(opp, ["Id", "StageName", "CreatedDate", "OwnerId", "IsClosed", "IsWon"])
    history = read_text_table(con, found["OpportunityHistory"]) if "OpportunityHistory" in found else None
    if history is not None:
        _require(history, ["OpportunityId", "StageName", "CreatedDate"])
    stage_file = read_text_table(con, found["OpportunityStage"]) if "OpportunityStage" in found else None
    users_file = read_text_table(con, found["User"]) if "User" in found else None
    tasks = read_text_table(con, found["Task"]) if "Task" in found else None
    events = read_text_table(con, found["Event"]) if "Event" in found else None
    for raw in (tasks, events):
        if raw is not None:
            _require(raw, ["Id", "OwnerId"])
    staged = [_pipeline(con, opp), _stages(con, opp, history, stage_file)]
    staged.append(_users(con, opp, history, users_file, [r for r in (tasks, events) if r is not None]))
    staged.append(_deals(con, opp))
    if history is not None:
        staged.append(_history(con, history))
    if tasks is not None:
        staged.append(_tasks(con, tasks))
    if events is not None:
        staged.append(_events(con, events))
    return staged


def _pipeline(con, opp: RawFile) -> Staged:
    con.execute(f"""create or replace temp view _sf_pipelines as
        select 1 as _row, 'Salesforce' as _raw, '{PIPELINE[0]}' as pipeline_id, '{PIPELINE[1]}' as name""")
    return Staged("pipelines", opp.path, "_sf_pipelines", 1)


def _stages(con, opp: RawFile, history: RawFile | None, stage_file: RawFile | None) -> Staged:
    standard = ", ".join(f"('{name}', {i})" for i, name in enumerate(STANDARD_STAGES, 1))
    from_history = f"union select StageName from {history.relation}" if history else ""
    declared = (
        f"""select MasterLabel as stage, try_cast(SortOrder as integer) as sort_order,
                       IsClosed in {TRUE} as is_closed, IsWon in {TRUE} as is_won
                from {stage_file.relation}"""
        if stage_file and "MasterLabel" in stage_file.columns
        else "select null::varchar as stage, null::integer as sort_order, null::boolean as is_closed, "
        "null::boolean as is_won where false"
    )
    sort_order = _column(opp, "StageSortOrder")
    con.execute(f"""create or replace temp view _sf_stages as
        with names as (select StageName as stage from {opp.relation} {from_history}),
        seen as (
            select src.StageName as stage, max(try_cast({sort_order} as integer)) as sort_order,
                   bool_or(src.IsClosed in {TRUE}) as is_closed, bool_or(src.IsWon in {TRUE}) as is_won
            from {opp.relation} as src group by 1
        ),
        declared as ({declared}),
        standard(stage, sort_order) as (values {standard}),
        kinds as (
            select
                names.stage,
                coalesce(declared.sort_order, seen.sort_order, standard.sort_order, 1000) as sort_order,
                case
                    when coalesce(declared.is_closed, seen.is_closed, names.stage like 'Closed%') then
                        case when coalesce(declared.is_won, seen.is_won, names.stage = 'Closed Won')
                             then 'won' else 'lost' end
                    else 'open'
                end as kind
            from names
            left join declared using (stage)
            left join seen using (stage)
            left join standard using (stage)
            where names.stage is not null
        )
        select row_number() over (order by kind <> 'open', sort_order, stage) as _row,
               stage as _raw, '{PIPELINE[0]}' as pipeline_id, stage as stage_id, stage as name,
               (row_number() over (order by kind <> 'open', sort_order, stage))::varchar as position, kind
        from kinds""")
    count = con.execute("select count(*) from _sf_stages").fetchone()[0]
    return Staged("stages", opp.path, "_sf_stages", count)


def _users(
    con, opp: RawFile, history: RawFile | None, users_file: RawFile | None, activities: list[RawFile]
) -> Staged:
    savers = (
        f"union select CreatedById from {history.relation}"
        if history and "CreatedById" in history.columns
        else ""
    )
    savers += "".join(f" union select OwnerId from {raw.relation}" for raw in activities)
    names = (
        f"select Id as user_id, Name as name from {users_file.relation}"
        if users_file and {"Id", "Name"} <= set(users_file.columns)
        else "select null::varchar as user_id, null::varchar as name where false"
    )
    con.execute(f"""create or replace temp view _sf_users as
        with ids as (select OwnerId as user_id from {opp.relation} {savers}),
        named as ({names})
        select row_number() over (order by ids.user_id) as _row, ids.user_id as _raw, ids.user_id,
               coalesce(named.name, ids.user_id) as name, null as team, null as is_active
        from ids left join named using (user_id)
        where ids.user_id is not null""")
    count = con.execute("select count(*) from _sf_users").fetchone()[0]
    return Staged("users", opp.path, "_sf_users", count)


def _deals(con, opp: RawFile) -> Staged:
    check_columns(opp.columns, TABLES["deals"], opp.path, mapped={"deal_id": "Id", "stage_id": "StageName"})
    deleted = _column(opp, "IsDeleted", "'0'")
    con.execute(f"""create or replace temp view _sf_deals as
        select _row, _raw,
               src.Id as deal_id, '{PIPELINE[0]}' as pipeline_id, src.StageName as stage_id,
               {_column(opp, "Name")} as title, {_column(opp, "Amount")} as amount,
               {_column(opp, "CurrencyIsoCode")} as currency, src.OwnerId as owner_id,
               {_column(opp, "LeadSource")} as source, null as client, src.CreatedDate as created_at,
               case when src.IsClosed in {TRUE} then {_column(opp, "CloseDate")} end as closed_at,
               null as loss_reason,
               case when {deleted} in {TRUE} then 'deleted in Salesforce (IsDeleted)' end as _drop
        from {opp.relation} as src""")
    return Staged("deals", opp.path, "_sf_deals", opp.rows_read, opp.broken_rows, drop_reason="_drop")


def _history(con, history: RawFile) -> Staged:
    order_id = _column(history, "Id", "src._row::varchar")
    saver = _column(history, "CreatedById").replace("src.", "")  # read from `ordered`, which has it
    con.execute(f"""create or replace temp view _sf_history as
        with ordered as (
            select src.*, lag(src.StageName) over (
                partition by src.OpportunityId order by src.CreatedDate, {order_id}, src._row) as previous
            from {history.relation} as src
        )
        select _row, _raw, OpportunityId as deal_id, '{PIPELINE[0]}' as pipeline_id, StageName as stage_id,
               CreatedDate as entered_at, {saver.replace("src.", "")} as changed_by,
               case when previous = StageName
                    then 'no stage change: a save of amount, probability or close date' end as _drop
        from ordered""")
    return Staged(
        "stage_changes",
        history.path,
        "_sf_history",
        history.rows_read,
        history.broken_rows,
        drop_reason="_drop",
    )


def _activity_common(raw: RawFile) -> str:
    """Columns every activity has: its id, the opportunity it is about (WhatId of an
    Opportunity, key prefix 006), its owner, and deleted records left out."""
    return f"""src._row, src._raw, src.Id as activity_id,
               case when {raw.col("WhatId")} like '006%' then {raw.col("WhatId")} end as deal_id,
               src.OwnerId as owner_id,
               case when {raw.col("IsDeleted", "'0'")} in {TRUE} then 'deleted in Salesforce (IsDeleted)' end
                   as _drop"""


def _tasks(con, tasks: RawFile) -> Staged:
    """Tasks: calls and emails by TaskSubtype (else Type), done once closed or Completed, when
    CompletedDateTime says (else on ActivityDate, their due date)."""
    subtype = f"lower(coalesce({tasks.col('TaskSubtype')}, {tasks.col('Type')}, 'task'))"
    closed, completed = tasks.col("IsClosed", "'0'"), tasks.col("CompletedDateTime")
    done = f"({closed} in {TRUE} or {tasks.col('Status')} = 'Completed')"
    con.execute(f"""create or replace temp view _sf_tasks as
        select {_activity_common(tasks)},
               case when {subtype} = 'call' then 'call' when {subtype} in ('email', 'listemail') then 'email'
                    when {subtype} = 'meeting' then 'meeting' else 'task' end as kind,
               case lower({tasks.col("CallType")}) when 'inbound' then 'in' when 'outbound' then 'out' end
                   as direction,
               case when {done} then 'done' else 'planned' end as status,
               case when {done} then coalesce({completed}, {tasks.col("ActivityDate")}) end as started_at,
               {tasks.col("ActivityDate")} as due_at, {tasks.col("CallDurationInSeconds")} as duration_s,
               null as amount
        from {tasks.relation} as src""")
    return Staged(
        "activities", tasks.path, "_sf_tasks", tasks.rows_read, tasks.broken_rows, drop_reason="_drop"
    )


def _events(con, events: RawFile) -> Staged:
    """Events are meetings; one that starts after the export's latest record is still planned."""
    start = f"coalesce({events.col('StartDateTime')}, {events.col('ActivityDateTime')})"
    con.execute(f"""create or replace temp view _sf_events as
        select {_activity_common(events)}, 'meeting' as kind, null as direction,
               case when try_cast({start} as timestamp) > (
                   select max(try_cast({events.col("CreatedDate", start)} as timestamp))
                   from {events.relation} as src)
                    then 'planned' else 'done' end as status,
               {start} as started_at, {start} as due_at,
               try_cast({events.col("DurationInMinutes")} as integer) * 60 as duration_s, null as amount
        from {events.relation} as src""")
    return Staged(
        "activities", events.path, "_sf_events", events.rows_read, events.broken_rows, drop_reason="_drop"
    )
