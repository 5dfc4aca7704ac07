-- params: as_of, period_start, pipeline, owner, time_zone
-- Deals created or closed in [period_start, as_of), with local creation and close times in the
-- account's zone (time_zone) and whether the deal is its client's first (among the deals in
-- scope, whenever created): leads, new clients, refusals and sales of the weekly KPI table.
with deals as (
    select * from deals_in_scope(as_of::timestamp, pipeline::varchar, owner::varchar)
),

firsts as (  -- an aggregate, not a window over every deal: a million deals share 2,000 clients
    select
        client,
        min(created_at) as first_created_at
    from deals
    where client is not null
    group by client
),

flagged as (
    select
        deals.*,
        deals.client is not null and deals.created_at = firsts.first_created_at as is_first_of_client
    from deals
    left join firsts on firsts.client = deals.client
),

localised as (
    select
        deal_id,
        flagged.owner,
        coalesce(nullif(trim(source), ''), '—') as source,
        client,
        status,
        amount,
        is_first_of_client,
        local_time(created_at, time_zone::varchar) as local_created_at,
        local_time(closed_at, time_zone::varchar) as local_closed_at
    from flagged
    where created_at >= period_start::timestamp or closed_at >= period_start::timestamp
)

select * from localised
