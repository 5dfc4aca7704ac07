-- Activities in [period_start, as_of) with their owner and local time in the account's zone
-- ($time_zone): the rows of the weekly KPI table's activity blocks (activities_in_scope: the
-- owner and pipeline filters, as seen at as_of; due dates reach a week on for "due next day").
with activities as (
    select * from activities_in_scope($as_of::timestamp, $pipeline::varchar, $owner::varchar)
    where (started_at >= $period_start::timestamp and started_at < $as_of::timestamp)
        or (due_at >= $period_start::timestamp and due_at < $as_of::timestamp + interval 8 day)
),

local_time as (
    select
        activities.owner,
        activities.kind,
        activities.direction,
        activities.status,
        coalesce(activities.duration_s, 0) as duration_s,
        coalesce(activities.amount, 0) as amount,
        activities.deal_id,
        timezone($time_zone::varchar, timezone('UTC', activities.started_at)) as local_at,
        timezone($time_zone::varchar, timezone('UTC', activities.due_at)) as local_due_at
    from activities
)

select * from local_time
