-- Deals lost in [period_start, as_of), one row each: the reason the CRM gives (null: none given),
-- the stage the deal was lost from (the visit its loss ended; null when its history does not
-- record it), owner, source and the amount in the reporting currency (null: unknown).
with deals as (
    select * from deals_in_scope($as_of::timestamp, $pipeline::varchar, $owner::varchar)
),

lost as (
    select
        deal_id, pipeline, owner, source, amount, currency,
        nullif(trim(loss_reason), '') as reason, closed_at
    from deals
    where status = 'lost' and closed_at >= $period_start::timestamp
),

lost_from as (
    select visits.deal_id, arg_max(visits.stage_name, visits.entered_at) as stage
    from deal_stage_intervals($as_of::timestamp) as visits
    inner join main.stages as next_stage
        on next_stage.pipeline_id = visits.next_pipeline_id and next_stage.stage_id = visits.next_stage_id
    where next_stage.kind = 'lost' and visits.deal_id in (select deal_id from lost)
    group by visits.deal_id
)

select lost.*, lost_from.stage
from lost left join lost_from using (deal_id)
order by closed_at, deal_id
