-- Cohort view: deals created in [period_start, as_of), followed to as_of. One row per deal:
-- days from creation to close, or to as_of while still open (censored), and the outcome.
with deals as (
    select * from deals_at($as_of)
),

pipelines as (
    select * from main.pipelines
),

users as (
    select * from main.users
),

cohort as (
    select
        deals.deal_id,
        pipelines.name as pipeline,
        coalesce(users.name, deals.owner_id, '—') as owner,
        deals.status as outcome,
        deals.amount,
        date_diff('second', deals.created_at, coalesce(deals.closed_at, $as_of::timestamp))
            / 86400.0 as days,
        deals.closed_at < deals.created_at as is_closed_before_created
    from deals
    inner join pipelines using (pipeline_id)
    left join users on users.user_id = deals.owner_id
    where deals.created_at >= $period_start::timestamp
        and deals.created_at < $as_of::timestamp
        and ($pipeline::varchar is null or pipelines.name = $pipeline or deals.pipeline_id = $pipeline)
        and ($owner::varchar is null or users.name = $owner or deals.owner_id = $owner)
)

select * from cohort order by deal_id
