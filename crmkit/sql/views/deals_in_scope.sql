-- params: as_of, pipeline, owner
-- deals_at(as_of) with the names reports show (pipeline, stage, owner, team), narrowed to one
-- pipeline and one owner, each given by name or id (null: all). The one definition of those
-- filters for every metric.
with deals as (
    select * from deals_at(as_of)
),

pipelines as (
    select pipeline_id, name as pipeline from main.pipelines
),

stages as (
    select pipeline_id, stage_id, name as stage, position, kind from main.stages
),

users as (
    select user_id as owner_id, name as owner_name, team from main.users
),

in_scope as (
    select
        deals.*,
        pipelines.pipeline,
        stages.stage,
        stages.position,
        coalesce(users.owner_name, deals.owner_id, '—') as owner,
        users.team
    from deals
    inner join pipelines using (pipeline_id)
    inner join stages using (pipeline_id, stage_id)
    left join users using (owner_id)
    where (pipeline is null or pipelines.pipeline = pipeline or deals.pipeline_id = pipeline)
        and (owner is null or users.owner_name = owner or deals.owner_id = owner)
)

select * from in_scope
