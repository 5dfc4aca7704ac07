-- For every deal and open stage it has been in (real history before as_of): its last visit to
-- the stage (when it began, how long it lasted) and how the deal stood at as_of (won / lost /
-- open, with its close time). The history a forecast from pre-sale stages learns from.
with intervals as (
    select * from deal_stage_intervals($as_of::timestamp)
),

deals as (
    select * from deals_in_scope($as_of::timestamp, $pipeline::varchar, $owner::varchar)
),

entries as (
    select
        deal_id, pipeline_id, stage_id, stage_name as stage, position,
        max(entered_at) as last_entered_at,
        arg_max(days, entered_at) as last_stay_days
    from intervals
    where kind = 'open' and not is_synthetic
    group by all
),

outcomes as (
    select
        entries.deal_id,
        deals.owner,
        deals.pipeline,
        entries.pipeline_id,
        entries.stage_id,
        entries.stage,
        entries.position,
        entries.last_entered_at,
        entries.last_stay_days,
        deals.status,
        deals.closed_at,
        deals.amount,
        date_diff('second', entries.last_entered_at, deals.closed_at) / 86400.0 as days_to_close
    from entries
    inner join deals on deals.deal_id = entries.deal_id and deals.pipeline_id = entries.pipeline_id
)

select * from outcomes order by pipeline_id, position, deal_id
