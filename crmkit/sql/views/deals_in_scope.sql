-- params: as_of, pipeline, owner
-- deals_at(as_of) with the names reports show (pipeline, stage, owner, team), narrowed to one
-- pipeline and one owner, each given by name or id (null: all; pipelines_named, owners_named).
with deals as (
    select * from deals_at(as_of)
),

pipelines as (
    select * from pipelines_named(pipeline)
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
    where owner is null or deals.owner_id in (select owner_id from owners_named(owner))
)

select * from in_scope
