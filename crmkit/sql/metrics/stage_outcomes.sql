-- For every deal closed (won or lost) in [period_start, as_of) and every pre-sale stage it has
-- been in (real history before as_of; the stages as two lists, $stage_pipelines[i] and
-- $stage_ids[i]): its last visit to the stage (how long it lasted) and how many days from that
-- entry it needed to close. The history a forecast from pre-sale stages learns from.
with presale as (
    select
        unnest($stage_pipelines::varchar[]) as pipeline_id,
        unnest($stage_ids::varchar[]) as stage_id
),

intervals as (  -- the visits to those stages (a join with a few pairs: cheaper than a filter on text)
    select intervals.deal_id, intervals.pipeline_id, intervals.stage_id, intervals.entered_at, intervals.days
    from deal_stage_intervals($as_of::timestamp) as intervals
    inner join presale
        on intervals.pipeline_id = presale.pipeline_id and intervals.stage_id = presale.stage_id
    where intervals.kind = 'open' and not intervals.is_synthetic
),

closed as (
    select deal_id, pipeline_id, status, closed_at
    from deals_in_scope($as_of::timestamp, $pipeline::varchar, $owner::varchar)
    where status in ('won', 'lost') and closed_at >= $period_start::timestamp
),

entries as (
    select
        deal_id, pipeline_id, stage_id,
        max(entered_at) as last_entered_at,
        arg_max(days, entered_at) as last_stay_days
    from intervals
    group by deal_id, pipeline_id, stage_id
),

outcomes as (
    select
        entries.deal_id,
        entries.pipeline_id,
        entries.stage_id,
        entries.last_stay_days,
        closed.status,
        closed.closed_at,
        date_diff('second', entries.last_entered_at, closed.closed_at) / 86400.0 as days_to_close
    from entries
    inner join closed on entries.deal_id = closed.deal_id and entries.pipeline_id = closed.pipeline_id
)

select * from outcomes  -- no order: each stage's history is sorted where it is used (StageHistory)
