-- Period view by calendar month, up to as_of: deals won (count, revenue), lost, the active
-- managers, and the median won cycle where creation dates exist. Sales recorded before the CRM
-- (no creation date, no losses) count as won sales like any other. A manager is active in a month
-- when they worked then: created, moved or closed a deal, or logged an activity — not only when
-- they won (a month without a win is still a month of work, and revenue per manager counts it).
with deals as (
    select * from deals_in_scope($as_of::timestamp, $pipeline::varchar, $owner::varchar)
),

closed as (
    select
        date_trunc('month', closed_at) as month,
        status,
        amount,
        owner_id,
        case when not is_closed_before_created then lifetime_days end as cycle_days
    from deals
    where status in ('won', 'lost')
),

work as (  -- who did something in which month
    select date_trunc('month', closed_at) as month, owner_id from deals where status in ('won', 'lost')
    union
    select date_trunc('month', created_at) as month, owner_id from deals where created_at is not null
    union
    select date_trunc('month', started_at) as month, owner_id
    from activities_in_scope($as_of::timestamp, $pipeline::varchar, $owner::varchar)
    where started_at < $as_of::timestamp
    union
    select date_trunc('month', entered_at) as month, changed_by as owner_id
    from stage_moves_in_scope($as_of::timestamp, $pipeline::varchar, $owner::varchar)
),

active as (  -- managers: the users who own deals (an administrator's bulk edit is no sales work)
    select month, count(distinct owner_id) as active_managers
    from work
    where owner_id in (select deals.owner_id from deals)
    group by month
),

monthly as (
    select
        month,
        count(*) filter (where status = 'won') as n_won,
        count(*) filter (where status = 'lost') as n_lost,
        case when count(*) filter (where status = 'won') = 0 then 0
            else sum(amount) filter (where status = 'won')
        end as revenue,  -- unknown amounts: unknown
        median(cycle_days) filter (where status = 'won') as median_cycle_days,
        count(cycle_days) filter (where status = 'won') as n_cycle
    from closed
    group by month
)

select
    monthly.*,
    coalesce(active.active_managers, 0) as active_managers
from monthly
left join active using (month)
order by monthly.month
