-- Inbound calls (and missed ones, whichever their direction) of the local weeks from $week_start
-- to $week_end (local times): how many and how many missed, for the team, per owner and per hour
-- of the local day (`level`).
with calls as (
    select
        owner,
        hour(local_at) as hour,
        status
    from weekly_activities(
            $as_of::timestamp,
            $period_start::timestamp,
            $pipeline::varchar,
            $owner::varchar,
            $time_zone::varchar
        )
    where
        kind = 'call' and (direction = 'in' or status = 'missed')
        and local_at >= $week_start::timestamp and local_at < $week_end::timestamp
)

select
    case when grouping(owner) = 0 then 'owner' when grouping(hour) = 0 then 'hour' else 'team' end as level,
    owner,
    hour,
    count(*) as n,
    count(*) filter (where status = 'missed') as missed
from calls
group by grouping sets ((), (owner), (hour))
