-- Activities in [period_start, as_of) per owner: calls by direction and outcome, talk minutes,
-- emails, meetings held, proposals sent (activities_in_scope: the owner and pipeline filters).
with activities as (
    select * from activities_in_scope($as_of::timestamp, $pipeline::varchar, $owner::varchar)
    where started_at >= $period_start::timestamp and started_at < $as_of::timestamp
),

counts as (
    select
        owner,
        count(*) filter (where kind = 'call' and status = 'done') as calls,
        count(*) filter (where kind = 'call' and status = 'done' and direction = 'out') as calls_out,
        count(*) filter (where kind = 'call' and status = 'done' and direction = 'in') as calls_in,
        count(*) filter (where kind = 'call' and status = 'missed') as calls_missed,
        coalesce(sum(duration_s) filter (where kind = 'call' and status = 'done'), 0) / 60.0 as call_minutes,
        count(*) filter (where kind = 'email') as emails,
        count(*) filter (where kind = 'meeting' and status = 'done') as meetings,
        count(*) filter (where kind = 'proposal') as proposals
    from activities
    group by all
)

select * from counts order by owner
