-- params: as_of, pipeline, owner
-- Real stage moves (the synthetic entries are no one's moves) before `as_of`, with the name of
-- the user who made them, narrowed to one user (by name or id) and to the moves of the deals
-- deals_in_scope keeps for the pipeline.
with moves as (
    select * from main.stage_changes where not is_synthetic and entered_at < as_of::timestamp
),

users as (
    select user_id, name from main.users
),

in_pipeline as (
    select * from deals_in_pipeline(as_of, pipeline)
),

in_scope as (
    select
        moves.*,
        coalesce(users.name, moves.changed_by, '—') as owner
    from moves
    left join users on users.user_id = moves.changed_by
    where (owner is null or moves.changed_by in (select owner_id from owners_named(owner)))
        and (pipeline is null or moves.deal_id in (select in_pipeline.deal_id from in_pipeline))
)

select * from in_scope
