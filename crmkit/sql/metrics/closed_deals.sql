-- Period view: deals won or lost in [period_start, as_of), one row each.
with deals as (
    select * from deals_in_scope($as_of::timestamp, $pipeline::varchar, $owner::varchar)
),

closed as (
    select deal_id, pipeline, owner, team, status, amount, currency, created_at, closed_at
    from deals
    where status in ('won', 'lost') and closed_at >= $period_start::timestamp
)

select * from closed order by closed_at, deal_id
