-- Cohort view of the funnel: deals created in [period_start, as_of), one row per deal and
-- pipeline it has been in, with the furthest open stage it reached there (a skip counts as
-- passing the skipped stages) and where it stood at as_of: won, lost or still open in that
-- pipeline, or moved on to another pipeline.
with deals as (
    select * from deals_in_scope($as_of::timestamp, null, $owner::varchar)
),

intervals as (
    select * from deal_stage_intervals($as_of::timestamp)
),

pipelines as (
    select pipeline_id, name as pipeline from main.pipelines
),

open_stages as (
    select pipeline_id, max(position) as last_open_position
    from main.stages where kind = 'open' and not is_inbox group by pipeline_id
),

reached as (
    select
        intervals.deal_id,
        intervals.pipeline_id,
        max(case when intervals.kind = 'open' then intervals.position end) as furthest_position
    from intervals
    where not intervals.is_synthetic
    group by all
),

final as (
    select
        reached.deal_id,
        deals.owner,
        pipelines.pipeline,
        reached.pipeline_id,
        coalesce(reached.furthest_position, open_stages.last_open_position) as furthest_position,
        deals.amount,
        case
            when deals.pipeline_id <> reached.pipeline_id then 'moved'
            when deals.status = 'open' then 'still_here'
            else deals.status
        end as outcome
    from reached
    inner join deals using (deal_id)
    inner join pipelines on pipelines.pipeline_id = reached.pipeline_id
    inner join open_stages on open_stages.pipeline_id = reached.pipeline_id
    where deals.created_at >= $period_start::timestamp
        and ($pipeline::varchar is null or pipelines.pipeline = $pipeline or reached.pipeline_id = $pipeline)
)

select * from final order by pipeline_id, deal_id
