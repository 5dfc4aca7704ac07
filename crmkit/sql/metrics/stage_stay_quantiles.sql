-- Per open stage: finished stays (exited in [period_start, as_of)) and their 90th percentile in
-- days, the yardstick for "stuck". Synthetic history is left out: it has no real stays.
with intervals as (
    select * from deal_stage_intervals($as_of)
),

finished as (
    select pipeline_id, stage_id, days
    from intervals
    where kind = 'open'
        and not is_current
        and not is_synthetic
        and exited_at >= $period_start::timestamp
),

quantiles as (
    select
        pipeline_id,
        stage_id,
        count(*) as n_stays,
        quantile_cont(days, 0.5) as median_days,
        quantile_cont(days, 0.9) as p90_days
    from finished
    group by pipeline_id, stage_id
)

select * from quantiles
