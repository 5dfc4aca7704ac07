-- Work in progress per open stage at the start of each week (Monday 00:00) in
-- [period_start, as_of): deals whose visit had begun and not yet ended. Cumulative flow.
with weeks as (
    select unnest(generate_series(
        date_trunc('week', $period_start::timestamp) + interval 7 day,
        $as_of::timestamp,
        interval 7 day
    )) as week_start
),

visits as (
    select * from stage_visits_in_scope($as_of::timestamp, $pipeline::varchar, $owner::varchar)
    where kind = 'open'
),

wip as (
    select
        weeks.week_start,
        visits.pipeline,
        visits.stage_name as stage,
        visits.position,
        count(*) as wip
    from weeks
    inner join visits
        on visits.entered_at < weeks.week_start
        and (visits.exited_at is null or visits.exited_at >= weeks.week_start)
    group by all
)

select * from wip order by week_start, pipeline, position
