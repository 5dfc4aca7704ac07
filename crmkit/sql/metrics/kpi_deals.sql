-- Deals created or closed before as_of, with local creation and close times in the account's
-- zone ($time_zone): leads, clients, refusals and sales of the weekly KPI table.
with deals as (
    select * from deals_in_scope($as_of::timestamp, $pipeline::varchar, $owner::varchar)
),

local_time as (
    select
        deal_id,
        owner,
        coalesce(nullif(trim(source), ''), '—') as source,
        client,
        status,
        amount,
        timezone($time_zone::varchar, timezone('UTC', created_at)) as local_created_at,
        timezone($time_zone::varchar, timezone('UTC', closed_at)) as local_closed_at
    from deals
)

select * from local_time
