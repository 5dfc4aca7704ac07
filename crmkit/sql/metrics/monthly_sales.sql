-- Period view by calendar month, up to as_of: deals won (count, revenue), lost, the managers
-- who won something, and the median won cycle where creation dates exist. Sales recorded
-- before the CRM (no creation date, no losses) count as won sales like any other.
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

monthly as (
    select
        month,
        count(*) filter (where status = 'won') as n_won,
        count(*) filter (where status = 'lost') as n_lost,
        case when count(*) filter (where status = 'won') = 0 then 0
            else sum(amount) filter (where status = 'won')
        end as revenue,  -- unknown amounts: unknown
        count(distinct owner_id) filter (where status = 'won') as active_managers,
        median(cycle_days) filter (where status = 'won') as median_cycle_days,
        count(cycle_days) filter (where status = 'won') as n_cycle
    from closed
    group by month
)

select * from monthly order by month
