-- Activities in [period_start, as_of) with their owner and local time in the account's zone
-- ($time_zone): the rows of the weekly KPI table's activity blocks.
with activities as (
    select * from main.activities
    where (started_at >= $period_start::timestamp and started_at < $as_of::timestamp)
        or (due_at >= $period_start::timestamp and due_at < $as_of::timestamp + interval 8 day)
),

users as (
    select user_id, name from main.users
),

local_time as (
    select
        coalesce(users.name, activities.owner_id, '—') as owner,
        activities.kind,
        activities.direction,
        activities.status,
        coalesce(activities.duration_s, 0) as duration_s,
        coalesce(activities.amount, 0) as amount,
        activities.deal_id,
        timezone($time_zone::varchar, timezone('UTC', activities.started_at)) as local_at,
        timezone($time_zone::varchar, timezone('UTC', activities.due_at)) as local_due_at
    from activities
    left join users on users.user_id = activities.owner_id
    where $owner::varchar is null or users.name = $owner or activities.owner_id = $owner
)

select * from local_time
