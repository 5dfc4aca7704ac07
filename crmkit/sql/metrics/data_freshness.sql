-- What the data is and how fresh: rows per table, the latest event of each kind, the last load.
with counts as (
    select 'deals' as table_name, count(*) as n_rows, max(greatest(created_at, closed_at)) as latest_at
    from main.deals
    union all
    select 'stage_changes', count(*), max(entered_at) from main.stage_changes
    union all
    select 'activities', count(*), max(started_at) from main.activities
    union all
    select 'users', count(*), null from main.users
    union all
    select 'plans', count(*), max(period_end)::timestamp from main.plans
    union all
    select 'rejects', count(*), null from main.rejects
),

last_load as (
    select max(loaded_at) as last_loaded_at from main.loads
)

select counts.*, last_load.last_loaded_at from counts cross join last_load
