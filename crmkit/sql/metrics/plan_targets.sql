-- Plan rows overlapping [period_start, as_of), per owner (null owner: the team) and metric. A plan
-- is set for a manager's (or the team's) sales in every pipeline: under a pipeline filter there
-- is no plan to hold the pipeline's sales against, so none is returned. Under an owner filter,
-- that owner's plans only (the team's plan is not theirs).
with plans as (
    select * from main.plans
    where period_start < $as_of::timestamp and period_end >= $period_start::timestamp
        and $pipeline::varchar is null
        and ($owner::varchar is null or owner_id in (select owner_id from owners_named($owner::varchar)))
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
