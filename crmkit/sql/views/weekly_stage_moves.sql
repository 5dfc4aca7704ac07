-- params: as_of, period_start, pipeline, owner, time_zone
-- Stage moves made by a user in [period_start, as_of), in local time: CRM events too
-- (stage_moves_in_scope: the user and pipeline filters).
with moves as (
    select * from stage_moves_in_scope(as_of::timestamp, pipeline::varchar, owner::varchar)
    where entered_at >= period_start::timestamp and changed_by is not null
),

localised as (
    select
        moves.owner,
        local_time(moves.entered_at, time_zone::varchar) as local_at
    from moves
)

select * from localised
