-- Deals created or closed before as_of, with local creation and close times in the account's
-- zone ($time_zone): leads, clients, refusals and sales of the weekly KPI table.
with deals as (
    select * from deals_in_scope($as_of::timestamp, $pipeline::varchar, $owner::varchar)
),

localised as (
    select
        deal_id,
        owner,
        coalesce(nullif(trim(source), ''), '—') as source,
        client,
        status,
        amount,
        local_time(created_at, $time_zone::varchar) as local_created_at,
        local_time(closed_at, $time_zone::varchar) as local_closed_at
    from deals
)

select * from localised
