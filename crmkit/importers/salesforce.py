"""Salesforce "Data Export" files: Opportunity.csv, and where present OpportunityHistory.csv,
OpportunityStage.csv and User.csv (field names as Salesforce exports them).

- Opportunities become deals (one pipeline, "Salesforce"); a record marked IsDeleted is rejected
  with that reason; CloseDate counts as the close time only once IsClosed.
- OpportunityHistory holds one row per save that changed the stage, amount, probability or close
  date: consecutive saves with the same StageName are collapsed into one stage entry (the others
  are accounted for as rejects saying so). Saves at the same instant keep their Id order.
- CloseDate is a date without a time: the close is the moment the history records the deal
  entering its won/lost stage (see load/finalize.sql), else some time that day, never before the
  creation (contract.day_not_before).
- Stages come from OpportunityStage (SortOrder, IsClosed, IsWon) when exported, else from the
  opportunities themselves (StageSortOrder, IsClosed, IsWon); when some open stage has no sort
  order there (a stage seen only in history), the open stages are ordered by the history: a
  stage goes before another when more deals entered it first (a pairwise vote). Closed stages
  come after the open ones.
- User.csv becomes users (Name, or FirstName and LastName as a real export has them); owners and
  savers it does not list become users named by their id.
- AccountId is the deal's client (named from Account.csv when exported).
- CurrencyType.csv (ConversionRate per corporate unit, IsCorporate) and DatedConversionRate.csv
  (StartDate) become currency rates into the corporate currency.
- Task.csv and Event.csv become activities: calls and emails by TaskSubtype, meetings from
  events; those about an Opportunity (WhatId) are tied to its deal.
"""

from __future__ import annotations

from pathlib import Path

from crmkit.contract import TABLES
from crmkit.errors import CrmkitError
from crmkit.importers.base import ReadOptions, Staged, check_columns, quote_literal, stage_view
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
NO = "'0'"


def files(paths: list[Path]) -> dict[str, Path]:
    """The export's files by object name, from the files or folders given."""
    found = {}
    for path in paths:
        for file in sorted(path.glob("*.csv")) if path.is_dir() else [path]:
            if file.stem in found and found[file.stem].resolve() != file.resolve():
                raise CrmkitError(
                    f"two {file.name} files given ({found[file.stem]} and {file}): a Salesforce export is "
                    "one folder; load one export at a time (a newer one updates the older)"
                )
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
    if users_file is not None:
        _require(users_file, ["Id"])
    accounts = read_text_table(con, found["Account"]) if "Account" in found else None
    tasks = read_text_table(con, found["Task"]) if "Task" in found else None
    events = read_text_table(con, found["Event"]) if "Event" in found else None
    for raw in (tasks, events):
        if raw is not None:
            _require(raw, ["Id", "OwnerId"])
    staged = [_pipeline(con, opp), _stages(con, opp, history, stage_file)]
    if users_file is not None:
        staged.append(_listed_users(con, users_file))
    staged.append(_users(con, opp, history, [r for r in (tasks, events) if r is not None]))
    staged.append(_deals(con, opp, accounts))
    staged += _rates(con, found)
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
    # Each deal's first entry into each stage, in save order (saves at one instant: by Id).
    first_entries = (
        f"""select OpportunityId as deal, StageName as stage,
                   min(CreatedDate || '|' || {_column(history, "Id", "lpad(src._row::varchar, 12, '0')")})
                       as first_save
            from {history.relation} as src where StageName is not null group by 1, 2"""
        if history
        else "select null::varchar as deal, null::varchar as stage, null::varchar as first_save where false"
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
        first_entries as ({first_entries}),
        pairs as (  -- +1 each time a deal entered `stage` before `other`, -1 after
            select one.stage, other.stage as other, case when other.first_save > one.first_save then 1 else -1 end as vote
            from first_entries as one
            inner join first_entries as other on other.deal = one.deal and other.stage <> one.stage
        ),
        votes as (  -- a stage wins against another when most deals entered it first
            select stage, sum(sign(margin)) as wins
            from (select stage, other, sum(vote) as margin from pairs group by 1, 2)
            group by 1
        ),
        kinds as (
            select
                names.stage,
                coalesce(declared.sort_order, seen.sort_order) as given_order,
                standard.sort_order as standard_order,
                votes.wins,
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
            left join votes using (stage)
            where names.stage is not null
        ),
        ordered as (
            select *,
                   -- the export's order when it gives one for every open stage, else the history's
                   bool_and(given_order is not null) filter (where kind = 'open') over () as all_given
            from kinds
        ),
        positioned as (
            select *, row_number() over (
                order by kind <> 'open', kind = 'lost',
                         case when all_given then given_order end,
                         -coalesce(wins, 0), coalesce(given_order, standard_order, 1000), stage
            ) as position
            from ordered
        )
        select position as _row, stage as _raw, '{PIPELINE[0]}' as pipeline_id, stage as stage_id,
               stage as name, position::varchar as position, kind
        from positioned""")
    count = con.execute("select count(*) from _sf_stages").fetchone()[0]
    return Staged("stages", opp.path, "_sf_stages", count)


def _listed_users(con, users: RawFile) -> Staged:
    """User.csv: a name from Name, else FirstName and LastName (a real Data Export has no Name),
    else the Username."""
    name = (
        f"coalesce(nullif(trim({users.col('Name')}), ''), "
        f"nullif(trim(concat_ws(' ', {users.col('FirstName')}, {users.col('LastName')})), ''), "
        f"{users.col('Username')}, src.Id)"
    )
    return stage_view(con, "users", users, f"""
        select src._row, src._raw, src.Id as user_id, {name} as name,
               {users.col("Department")} as team, {users.col("IsActive")} as is_active
        from {users.relation} as src""")  # fmt: skip


def _users(con, opp: RawFile, history: RawFile | None, activities: list[RawFile]) -> Staged:
    """Owners and savers that User.csv (stored first) does not list, named by their id."""
    savers = (
        f"union select CreatedById from {history.relation}"
        if history and "CreatedById" in history.columns
        else ""
    )
    savers += "".join(f" union select OwnerId from {raw.relation}" for raw in activities)
    con.execute(f"""create or replace temp view _sf_users as
        with ids as (select OwnerId as user_id from {opp.relation} {savers})
        select row_number() over (order by ids.user_id) as _row, ids.user_id as _raw, ids.user_id,
               ids.user_id as name, null as team, null as is_active
        from ids
        where ids.user_id is not null and ids.user_id not in (select user_id from main.users)""")
    return Staged("users", opp.path, "_sf_users", None)


def _deals(con, opp: RawFile, accounts: RawFile | None) -> Staged:
    check_columns(opp.columns, TABLES["deals"], opp.path, mapped={"deal_id": "Id", "stage_id": "StageName"})
    deleted = _column(opp, "IsDeleted", "'0'")
    account = _column(opp, "AccountId")
    client, names = account, ""
    if accounts is not None and {"Id", "Name"} <= set(accounts.columns):
        client = f"coalesce(account.Name, {account})"
        names = f"left join (select Id, Name from {accounts.relation}) as account on account.Id = {account}"
    # CloseDate is a date: written with a midnight time by some exports, it is read as the day.
    close_day = f"regexp_replace({_column(opp, 'CloseDate')}, '[T ]00:00:00(\\.0+)?Z?$', '')"
    con.execute(f"""create or replace temp view _sf_deals as
        select src._row, src._raw,
               src.Id as deal_id, '{PIPELINE[0]}' as pipeline_id, src.StageName as stage_id,
               {_column(opp, "Name")} as title, {_column(opp, "Amount")} as amount,
               {_column(opp, "CurrencyIsoCode")} as currency, src.OwnerId as owner_id,
               {_column(opp, "LeadSource")} as source, {client} as client, src.CreatedDate as created_at,
               case when src.IsClosed in {TRUE} then {close_day} end as closed_at,
               null as loss_reason,
               case when {deleted} in {TRUE} then 'deleted in Salesforce (IsDeleted)' end as _drop
        from {opp.relation} as src {names}""")
    return Staged("deals", opp.path, "_sf_deals", opp.rows_read, opp.broken_rows, drop_reason="_drop")


def _rates(con, found: dict[str, Path]) -> list[Staged]:
    """CurrencyType (one rate per currency, IsCorporate marks the corporate currency) and
    DatedConversionRate (a rate from each StartDate on). Salesforce's ConversionRate is units of
    the currency per one unit of the corporate currency: the rate into it is its inverse."""
    if "CurrencyType" not in found:
        return []
    types = read_text_table(con, found["CurrencyType"])
    _require(types, ["IsoCode", "ConversionRate"])
    corporate = con.execute(
        f"select min(IsoCode) from {types.relation} as src where {types.col('IsCorporate', NO)} in {TRUE}"
    ).fetchone()[0] or con.execute(
        f"select min(IsoCode) from {types.relation} where try_cast(ConversionRate as double) = 1"
    ).fetchone()[0]
    if corporate is None:
        raise CrmkitError(
            f"{types.path.name}: no currency is marked IsCorporate (and none has ConversionRate 1); "
            "export CurrencyType with its IsCorporate column"
        )
    inverse = "(1 / nullif(try_cast(src.ConversionRate as double), 0))"
    staged = [stage_view(con, "currency_rates", types, f"""
        select src._row, src._raw, src.IsoCode as currency, null as valid_from,
               coalesce({inverse}::varchar, src.ConversionRate) as rate, {quote_literal(corporate)} as reporting_currency
        from {types.relation} as src""")]  # fmt: skip
    if "DatedConversionRate" in found:
        dated = read_text_table(con, found["DatedConversionRate"])
        _require(dated, ["IsoCode", "ConversionRate", "StartDate"])
        staged.append(stage_view(con, "currency_rates", dated, f"""
            select src._row, src._raw, src.IsoCode as currency, src.StartDate as valid_from,
                   coalesce({inverse}::varchar, src.ConversionRate) as rate,
                   {quote_literal(corporate)} as reporting_currency
            from {dated.relation} as src""", drop_reason=None))  # fmt: skip
    return staged


def _history(con, history: RawFile) -> Staged:
    order_id = _column(history, "Id", "src._row::varchar")
    saver = _column(history, "CreatedById").replace("src.", "")  # read from `ordered`, which has it
    # A file of the saves since the last pull starts mid-history: its first save of a deal is
    # compared with the stage stored before it, so a save that changed only the amount does not
    # read as entering the stage again.
    con.execute(f"""create or replace temp view _sf_history as
        with ordered as (
            select src.*, coalesce(lag(src.StageName) over (
                partition by src.OpportunityId order by src.CreatedDate, {order_id}, src._row), (
                select arg_max(stored.stage_id, stored.entered_at) from main.stage_changes as stored
                where stored.deal_id = src.OpportunityId and not stored.is_synthetic
                    and stored.entered_at < try_cast(src.CreatedDate as timestamptz)::timestamp
            )) as previous
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
