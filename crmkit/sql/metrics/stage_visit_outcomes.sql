-- Every real visit to a pre-sale stage (the stages as two lists, $stage_pipelines[i] and
-- $stage_ids[i]) begun in [period_start, as_of), of the deals in scope: when it began, how long it
-- lasted (to as_of while the deal is still there), and how the deal stood at as_of — won or lost
-- and when, or still open. Deals still open are the history's censored cases: a forecast that
-- learnt from the closed deals alone would see the fast closers only. A forecast at an earlier
-- date T reads the same rows cut at T (forecasts.StageHistory).
with presale as (
    select
        unnest($stage_pipelines::varchar[]) as pipeline_id,
        unnest($stage_ids::varchar[]) as stage_id
),

visits as (  -- a join with a few pairs: cheaper than a filter on text
    select intervals.deal_id, intervals.pipeline_id, intervals.stage_id, intervals.entered_at, intervals.days
    from deal_stage_intervals($as_of::timestamp) as intervals
    inner join presale
        on intervals.pipeline_id = presale.pipeline_id and intervals.stage_id = presale.stage_id
    where
        intervals.kind = 'open'
        and not intervals.is_synthetic
        and intervals.entered_at >= $period_start::timestamp
),

deals as (
    select deal_id, status, closed_at
    from deals_in_scope($as_of::timestamp, $pipeline::varchar, $owner::varchar)
)

select
    visits.deal_id,
    visits.pipeline_id,
    visits.stage_id,
    visits.entered_at,
    visits.days as stay_days,
    deals.status,
    deals.closed_at
from visits
inner join deals on visits.deal_id = deals.deal_id
