-- What the data is and how fresh: rows per table, the latest event of each kind before the last
-- load (a later one is a typing error, listed by the audit; a planned activity has not happened),
-- and the last load time.
with last_load as (
    select coalesce(max(loaded_at), timestamp '9999-12-31') as last_loaded_at from main.loads
),

counts as (
    select
        'deals' as table_name, count(*) as n_rows,
        max(greatest(created_at, closed_at)) filter (
            where greatest(created_at, closed_at) <= (select last_loaded_at from last_load)
        ) as latest_at
    from main.deals
    union all
    select
        'stage_changes', count(*),
        max(entered_at) filter (where entered_at <= (select last_loaded_at from last_load))
    from main.stage_changes
    union all
    select
        'activities', count(*),
        max(started_at) filter (
            where started_at <= (select last_loaded_at from last_load) and status is distinct from 'planned'
        )
    from main.activities
    union all
    select 'users', count(*), null from main.users
    union all
    select 'plans', count(*), null from main.plans
    union all
    select 'rejects', count(*), null from main.rejects
)

select counts.*, (select max(loaded_at) from main.loads) as last_loaded_at from counts
