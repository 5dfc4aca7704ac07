-- The data audit (METRICS.md §7): one row per check with how many deals (or rows) it concerns
-- and a few example ids. Everything before as_of; "in the future" means after as_of.
with deals as (
    select * from main.deals
),

real_history as (
    select distinct deal_id from main.stage_changes where not is_synthetic
),

intervals as (
    select * from deal_stage_intervals($as_of::timestamp)
),

-- one user moving many deals within one minute: a bulk edit, not a sales event (the minutes are
-- counted first and their deals found after: a list per minute kept for the 2.8 M quiet minutes
-- of a million deals made this check grow faster than the account)
bulk_minutes as (
    select changed_by, date_trunc('minute', entered_at) as minute
    from main.stage_changes
    where not is_synthetic and changed_by is not null
    group by all
    having count(*) >= $bulk_threshold
),

bulk as (
    select changes.deal_id
    from main.stage_changes as changes
    semi join bulk_minutes
        on changes.changed_by = bulk_minutes.changed_by
        and date_trunc('minute', changes.entered_at) = bulk_minutes.minute
    where not changes.is_synthetic
),

-- each example says what it is: a deal's id or an activity's
future as (
    select 'deal ' || deal_id as id from deals where greatest(created_at, closed_at) >= $as_of::timestamp
    union all
    select 'deal ' || deal_id from main.stage_changes where entered_at >= $as_of::timestamp
    union all
    select 'activity ' || activity_id from main.activities
    where started_at >= $as_of::timestamp and status <> 'planned'
),

last_load as (
    select load_id, rows_read from main.loads
    where loaded_at >= (select max(latest.loaded_at) from main.loads as latest) - interval 1 hour
),

last_load_rejects as (
    select rejects.* from main.rejects inner join last_load using (load_id)
),

checks as (
    select
        'no_history' as check_name, 1 as position, count(*) as n,
        min(deals.deal_id, 5) as examples
    from deals left join real_history using (deal_id) where real_history.deal_id is null
    union all
    select 'closed_without_date', 2, count(*), min(deal_id, 5)
    from deals where status <> 'open' and closed_at is null
    union all
    select 'closed_before_created', 3, count(*), min(deal_id, 5)
    from deals where closed_at < created_at
    union all
    select 'negative_amounts', 4, count(*), min(deal_id, 5)
    from deals where amount < 0
    union all
    select 'missing_amounts', 5, count(*), min(deal_id, 5)
    from deals where amount is null
    union all
    -- the copies are rows of a loaded file, named as such (the id itself is in the row)
    select 'duplicated_ids', 6, count(*), arg_min(table_name || ' row ' || source_row, source_row, 5)
    from main.rejects where reason like '%duplicate key%'
    union all
    select 'stage_skips', 7, count(distinct deal_id), min(distinct deal_id, 5)
    from intervals where is_skip
    union all
    select 'regressions', 8, count(distinct deal_id), min(distinct deal_id, 5)
    from intervals where is_regression
    union all
    select 'bulk_moves', 9, count(distinct deal_id), min(distinct deal_id, 5) from bulk
    union all
    select 'future_timestamps', 10, count(*), min(id, 5) from future
    union all
    -- deals kept in their stage though the export's closed/won flag says otherwise (HubSpot)
    select 'flags_contradict_stage', 11, count(distinct record_id), min(distinct record_id, 5)
    from load_notes  -- unqualified: a database from before load_notes has it as a temporary table
    where table_name = 'deals' and record_id in (select deal_id from deals)
    union all
    select
        'rejected_last_load', 12, count(*), arg_min(table_name || ' row ' || source_row, source_row, 5)
    from last_load_rejects
)

-- Each count is a share of the deals, but rejected rows are a share of the rows the load read.
select
    check_name, position, n, examples,
    case when check_name = 'rejected_last_load' then (select sum(rows_read) from last_load)
        else (select count(*) from deals)
    end as basis,
    case when check_name = 'rejected_last_load' then 'rows_read' else 'deals' end as basis_unit
from checks
order by position
