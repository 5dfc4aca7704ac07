-- Open deals at as_of: age since creation and days in the current stage.
with deals as (
    select * from deals_at($as_of)
),

pipelines as (
    select * from main.pipelines
),

stages as (
    select * from main.stages
),

users as (
    select * from main.users
),

open_deals as (
    select
        deals.deal_id,
        deals.title,
        pipelines.name as pipeline,
        deals.pipeline_id,
        deals.stage_id,
        stages.name as stage,
        stages.position,
        coalesce(users.name, deals.owner_id, '—') as owner,
        deals.amount,
        deals.currency,
        deals.created_at,
        date_diff('second', deals.created_at, $as_of::timestamp) / 86400.0 as age_days,
        date_diff('second', deals.stage_entered_at, $as_of::timestamp) / 86400.0 as days_in_stage
    from deals
    inner join pipelines using (pipeline_id)
    inner join stages using (pipeline_id, stage_id)
    left join users on users.user_id = deals.owner_id
    where deals.status = 'open'
        and ($pipeline::varchar is null or pipelines.name = $pipeline or deals.pipeline_id = $pipeline)
        and ($owner::varchar is null or users.name = $owner or deals.owner_id = $owner)
)

select * from open_deals order by deal_id
