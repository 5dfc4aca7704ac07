-- What the weekly KPI table counts, per local week (its Monday) for the team (`is_team`, owner
-- null) and per owner: activities, deals created and closed and stage moves from the weekly_*
-- views, and what falls due the next working day after each week ($due_days: that day for each
-- week whose Monday is at the same place in $due_weeks). Every week the rows reach is kept, not
-- only the table's: the owners who appear in any of them get a row.
with activities as (
    select
        *,
        date_trunc('week', local_at) as week
    from weekly_activities(
            $as_of::timestamp,
            $period_start::timestamp,
            $pipeline::varchar,
            $owner::varchar,
            $time_zone::varchar
        )
),

deals as (
    select * from weekly_deals(
            $as_of::timestamp,
            $period_start::timestamp,
            $pipeline::varchar,
            $owner::varchar,
            $time_zone::varchar
        )
),

moves as (
    select * from weekly_stage_moves(
            $as_of::timestamp,
            $period_start::timestamp,
            $pipeline::varchar,
            $owner::varchar,
            $time_zone::varchar
        )
),

due_weeks as (
    select
        unnest($due_days::date[]) as due_day,
        unnest($due_weeks::timestamp[]) as week
),

due as (  -- what falls due that day (weekly_activities.due_day)
    select
        activities.owner,
        due_weeks.week
    from activities
    inner join due_weeks
        on due_weeks.due_day = activities.due_day
),

events as (  -- one row per thing counted, `event` saying what it is
    -- what happened before as_of (the rows reaching past it are there for what falls due)
    select 'activity' as event, week, owner, kind, direction, status, duration_s, amount from activities
    where local_at < local_time($as_of::timestamp, $time_zone::varchar)
    union all by name
    select 'created' as event, date_trunc('week', local_created_at) as week, owner, is_first_of_client
    from deals
    union all by name
    select 'closed' as event, date_trunc('week', local_closed_at) as week, owner, status, amount from deals
    union all by name
    select 'moved' as event, date_trunc('week', local_at) as week, owner from moves
    union all by name
    select 'due' as event, week, owner from due
),

counted as (
    select
        week,
        owner,
        grouping(owner) = 1 as is_team,
        count(*) filter (where event = 'created') as leads,
        count(*) filter (where event = 'created' and is_first_of_client) as new_clients,
        count(*) filter (where event = 'closed' and status = 'lost') as refusals,
        count(*) filter (where event = 'closed' and status = 'won') as sales,
        sum(amount) filter (where event = 'closed' and status = 'won') as sales_amount,
        count(*) filter (where event = 'activity' and kind = 'call' and direction = 'in' and status = 'done')
            as calls_in,
        count(*) filter (where event = 'activity' and kind = 'call' and direction = 'out' and status = 'done')
            as calls_out,
        count(*) filter (where event = 'activity' and kind = 'call' and status = 'missed') as calls_missed,
        sum(duration_s / 60) filter (where event = 'activity' and kind = 'call' and status = 'done')
            as call_minutes,
        count(*) filter (where event = 'activity' and kind = 'proposal') as proposals,
        sum(amount) filter (where event = 'activity' and kind = 'proposal') as proposals_amount,
        count(*) filter (where event = 'activity' and kind = 'payment') as payments,
        sum(amount) filter (where event = 'activity' and kind = 'payment') as payments_amount,
        count(*) filter (where event = 'activity' and kind = 'meeting' and status = 'done') as meetings_held,
        -- an activity without a status is not planned: it counts
        count(*) filter (where event = 'activity' and status is distinct from 'planned') as activities,
        count(*) filter (where event = 'moved') as stage_moves,
        count(*) filter (where event = 'due') as due_next_day
    from events
    where week is not null
    group by grouping sets ((week), (week, owner))
)

select * from counted
