-- For every deal closed (won or lost) in [period_start, as_of) and every stage of $stages it has
-- been in (real history before as_of; a stage as 'pipeline_id/stage_id'): its last visit to the
-- stage (how long it lasted) and how many days from that entry it needed to close. The history a
-- forecast from pre-sale stages learns from.
with intervals as (
    select * from deal_stage_intervals($as_of::timestamp)
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
    where
        kind = 'open' and not is_synthetic and deal_id in (select closed.deal_id from closed)
        and pipeline_id || '/' || stage_id in (select unnest($stages::varchar[]))
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

select * from outcomes order by pipeline_id, stage_id, deal_id
