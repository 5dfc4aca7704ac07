-- Cohort view: deals created in [period_start, as_of), followed to as_of. One row per deal:
-- days from creation to close, or to as_of while still open (censored), and the outcome.
with deals as (
    select * from deals_in_scope($as_of::timestamp, $pipeline::varchar, $owner::varchar)
),

cohort as (
    select
        deal_id,
        pipeline,
        owner,
        status as outcome,
        amount,
        lifetime_days as days,
        is_closed_before_created
    from deals
    where created_at >= $period_start::timestamp
)

select * from cohort order by deal_id
