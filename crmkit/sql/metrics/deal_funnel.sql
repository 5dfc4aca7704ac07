-- Cohort view of the funnel: deals created in [period_start, as_of), one row per deal and
-- pipeline it has been in, with the furthest open stage it reached there (a skip counts as
-- passing the skipped stages) and where it stood at as_of: won, lost or still open in that
-- pipeline, or moved on to another pipeline. Visits and filters: stage_visits_in_scope.
with visits as (
    select * from stage_visits_in_scope($as_of::timestamp, $pipeline::varchar, $owner::varchar)
),

deals as (
    select deal_id, pipeline_id, status, created_at from deals_at($as_of::timestamp)
),

open_stages as (
    select pipeline_id, max(position) as last_open_position
    from main.stages where kind = 'open' and not is_inbox group by pipeline_id
),

reached as (
    select
        deal_id,
        pipeline_id,
        pipeline,
        owner,
        amount,
        max(case when kind = 'open' then position end) as furthest_position
    from visits
    group by all
),

final as (
    select
        reached.deal_id,
        reached.owner,
        reached.pipeline,
        reached.pipeline_id,
        coalesce(reached.furthest_position, open_stages.last_open_position) as furthest_position,
        reached.amount,
        case
            when deals.pipeline_id <> reached.pipeline_id then 'moved'
            when deals.status = 'open' then 'still_here'
            else deals.status
        end as outcome
    from reached
    inner join deals using (deal_id)
    inner join open_stages on open_stages.pipeline_id = reached.pipeline_id
    where deals.created_at >= $period_start::timestamp
)

select * from final order by pipeline_id, deal_id
