-- Plan rows overlapping [period_start, as_of), per owner (null owner: the team) and metric.
with plans as (
    select * from main.plans
    where period_start < $as_of::timestamp and period_end >= $period_start::timestamp
),

users as (
    select user_id, name from main.users
),

targets as (
    select
        case when plans.owner_id is null then null else coalesce(users.name, plans.owner_id) end as owner,
        plans.metric,
        plans.period_start,
        plans.period_end,
        plans.target
    from plans
    left join users on users.user_id = plans.owner_id
)

select * from targets order by owner, metric, period_start
