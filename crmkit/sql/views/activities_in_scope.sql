-- params: as_of, pipeline, owner
-- Every activity with its owner's name and team, narrowed like deals_in_scope: to one owner (the
-- activity's, by name or id) and to one pipeline (the pipeline its deal was in at `as_of`, as
-- deals_in_scope reads it: the one definition of that filter). An activity about no deal belongs
-- to no pipeline: it counts only when no pipeline is chosen.
with activities as (
    select * from main.activities
),

users as (
    select user_id as owner_id, name as owner_name, team from main.users
),

in_pipeline as (
    select * from deals_in_pipeline(as_of, pipeline)
),

in_scope as (
    select
        activities.*,
        coalesce(users.owner_name, activities.owner_id, '—') as owner,
        users.team
    from activities
    left join users using (owner_id)
    where (owner is null or activities.owner_id in (select owner_id from owners_named(owner)))
        and (pipeline is null or activities.deal_id in (select in_pipeline.deal_id from in_pipeline))
)

select * from in_scope
