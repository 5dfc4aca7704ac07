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
        lifetime_days as days,
        age_days,
        is_closed_before_created
    from deals
    where created_at >= $period_start::timestamp
)

select * from leads order by created_at, deal_id
