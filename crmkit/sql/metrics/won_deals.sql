-- Period view: deals won in [period_start, as_of), one row per deal with its cycle in days
-- (created -> closed). Deals whose cycle cannot be measured stay, with the reason.
with deals as (
    select * from deals_in_scope($as_of::timestamp, $pipeline::varchar, $owner::varchar)
),

won as (
    select
        deal_id,
        title,
        pipeline,
        owner,
        team,
        amount,
        currency,
        created_at,
        closed_at,
        lifetime_days as cycle_days,
        case
            when created_at is null then 'no creation date'
            when is_closed_before_created then 'closed before created'
        end as excluded_reason
    from deals
    where status = 'won' and closed_at >= $period_start::timestamp
)

select * from won order by closed_at, deal_id
