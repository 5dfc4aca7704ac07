-- Cohort view per lead: deals created in [period_start, as_of) with their source, owner,
-- outcome at as_of, days to close (or to as_of while open: censored) and amount.
with deals as (
    select * from deals_in_scope($as_of::timestamp, $pipeline::varchar, $owner::varchar)
),

leads as (
    select
        deal_id,
        coalesce(nullif(trim(source), ''), '—') as source,
        owner,
        pipeline,
        status as outcome,
        amount,
        created_at,
        date_trunc('month', created_at) as created_month,
        date_diff('second', created_at, coalesce(closed_at, $as_of::timestamp)) / 86400.0 as days,
        date_diff('second', created_at, $as_of::timestamp) / 86400.0 as age_days,
        closed_at < created_at as is_closed_before_created
    from deals
    where created_at >= $period_start::timestamp
)

select * from leads order by created_at, deal_id
