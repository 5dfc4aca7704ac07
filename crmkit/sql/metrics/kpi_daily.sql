-- What the manager's day counts, per owner and local day ($days) of the week: calls, proposals,
-- payments, meetings held, and what falls due the next working day after each day ($due_days, at
-- the same place). Every owner with an activity in the rows gets every day, zeros included.
with activities as (
    select * from weekly_activities(
            $as_of::timestamp,
            $period_start::timestamp,
            $pipeline::varchar,
            $owner::varchar,
            $time_zone::varchar
        )
),

days as (
    select
        unnest($days::timestamp[]) as day,
        unnest($due_days::date[]) as due_day
),

done as (
    select
        owner,
        date_trunc('day', local_at) as day,
        count(*) filter (where kind = 'call' and status = 'done') as calls,
        sum(duration_s / 60) filter (where kind = 'call' and status = 'done') as call_minutes,
        count(*) filter (where status = 'missed') as calls_missed,
        count(*) filter (where kind = 'proposal') as proposals,
        sum(amount) filter (where kind = 'proposal') as proposals_amount,
        count(*) filter (where kind = 'payment') as payments,
        sum(amount) filter (where kind = 'payment') as payments_amount,
        count(*) filter (where kind = 'meeting' and status = 'done') as meetings_held
    from activities
    group by all
),

due as (  -- what falls due that day (weekly_activities.due_day)
    select
        activities.owner,
        days.day,
        count(*) as due_next_day
    from activities
    inner join days
        on days.due_day = activities.due_day
    group by all
),

owners as (
    select distinct owner from activities
)

select
    owners.owner as name,
    days.day,
    coalesce(done.calls, 0) as calls,
    coalesce(done.call_minutes, 0) as call_minutes,
    coalesce(done.calls_missed, 0) as calls_missed,
    coalesce(done.proposals, 0) as proposals,
    coalesce(done.proposals_amount, 0) as proposals_amount,
    coalesce(done.payments, 0) as payments,
    coalesce(done.payments_amount, 0) as payments_amount,
    coalesce(done.meetings_held, 0) as meetings_held,
    coalesce(due.due_next_day, 0) as due_next_day
from owners
cross join days
left join done on owners.owner = done.owner and days.day = done.day
left join due on owners.owner = due.owner and days.day = due.day
order by name, days.day
