-- The days of the finished stays (open_stage_visits) per open stage for the whole team
-- (`is_team`, owner null) and per owner of the stage's deals, as lists for the medians.
with finished as (
    select pipeline, position, stage, owner, days
    from open_stage_visits($as_of::timestamp, $period_start::timestamp, $pipeline::varchar, null)
    where not is_current
),

grouped as (
    select
        pipeline,
        position,
        stage,
        owner,
        grouping(owner) = 1 as is_team,
        list(days) as finished_days
    from finished
    group by grouping sets ((pipeline, position, stage), (pipeline, position, stage, owner))
)

select * from grouped  -- an owner is never null: deals_in_scope names an unknown one '—'
order by pipeline asc, position asc, stage asc, is_team desc, owner asc
