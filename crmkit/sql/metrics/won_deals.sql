-- Period view: deals won in [period_start, as_of), one row per deal with its cycle in days
-- (created -> closed). Deals whose cycle cannot be measured stay, with the reason.
with deals as (
    select * from deals_at($as_of)
),

pipelines as (
    select * from main.pipelines
),

users as (
    select * from main.users
),

won as (
    select
        deals.deal_id,
        deals.title,
        pipelines.name as pipeline,
        coalesce(users.name, deals.owner_id, '—') as owner,
        users.team,
        deals.amount,
        deals.currency,
        deals.created_at,
        deals.closed_at,
        date_diff('second', deals.created_at, deals.closed_at) / 86400.0 as cycle_days,
        case
            when deals.created_at is null then 'no creation date'
            when deals.closed_at < deals.created_at then 'closed before created'
        end as excluded_reason
    from deals
    inner join pipelines using (pipeline_id)
    left join users on users.user_id = deals.owner_id
    where deals.status = 'won'
        and deals.closed_at >= $period_start::timestamp
        and deals.closed_at < $as_of::timestamp
        and ($pipeline::varchar is null or pipelines.name = $pipeline or deals.pipeline_id = $pipeline)
        and ($owner::varchar is null or users.name = $owner or deals.owner_id = $owner)
)

select * from won order by closed_at, deal_id
