-- The won deals of [period_start, as_of) that have real stage history, with their cycle and the
-- days each spent in each open stage of the pipeline it was won in (re-visits summed; a stage it
-- never entered has no row): what a what-if on one stage shortens. Deals numbered, not named,
-- so a million of them travel light.
with won as (
    select deal_id, pipeline_id, lifetime_days as cycle_days
    from deals_in_scope($as_of::timestamp, $pipeline::varchar, $owner::varchar)
    where
        status = 'won' and closed_at >= $period_start::timestamp
        and created_at is not null and not is_closed_before_created
),

stays as (
    select
        visits.deal_id, visits.pipeline_id, visits.pipeline, visits.stage_name as stage,
        sum(visits.days) as days
    from stage_visits_in_scope($as_of::timestamp, $pipeline::varchar, $owner::varchar) as visits
    where visits.kind = 'open'
    group by visits.deal_id, visits.pipeline_id, visits.pipeline, visits.stage_name
)

select
    dense_rank() over (order by won.deal_id) as deal_number,
    stays.pipeline,
    won.cycle_days,
    stays.stage,
    stays.days
from won
inner join stays on won.deal_id = stays.deal_id and won.pipeline_id = stays.pipeline_id
