-- The client base at the end of each week ($week_ends, local times in $time_zone): how many
-- distinct clients had a deal in scope created before it.
with deals as (
    select * from deals_in_scope($as_of::timestamp, $pipeline::varchar, $owner::varchar)
),

firsts as (
    select client, local_time(min(created_at), $time_zone::varchar) as first_at
    from deals
    where client is not null and created_at is not null
    group by client
),

week_ends as (
    select unnest($week_ends::timestamp[]) as week_end
)

select week_ends.week_end, count(firsts.client) as client_base
from week_ends
left join firsts on week_ends.week_end > firsts.first_at
group by week_ends.week_end
order by week_ends.week_end
