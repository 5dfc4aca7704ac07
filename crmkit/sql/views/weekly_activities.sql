-- params: as_of, period_start, pipeline, owner, time_zone
-- Activities in [period_start, as_of) with their owner and local time in the account's zone
-- (time_zone): the rows of the weekly KPI table's activity blocks (activities_in_scope: the
-- owner and pipeline filters, as seen at as_of; due dates reach a week on for "due next day"),
-- with the day each falls due.
with activities as (
    select * from activities_in_scope(as_of::timestamp, pipeline::varchar, owner::varchar)
    where (started_at >= period_start::timestamp and started_at < as_of::timestamp)
        or (due_at >= period_start::timestamp and due_at < as_of::timestamp + interval 8 day)
),

localised as (
    select
        activities.owner,
        activities.kind,
        activities.direction,
        activities.status,
        coalesce(activities.duration_s, 0) as duration_s,
        coalesce(activities.amount, 0) as amount,
        activities.deal_id,
        local_time(activities.started_at, time_zone::varchar) as local_at,
        local_time(activities.due_at, time_zone::varchar) as local_due_at
    from activities
),

with_due_day as (  -- the local day an activity falls due: a task's due date, a planned meeting's
    select
        *,
        case
            when kind = 'task' then local_due_at::date
            when kind = 'meeting' and status = 'planned' then local_at::date
        end as due_day
    from localised
)

select * from with_due_day
