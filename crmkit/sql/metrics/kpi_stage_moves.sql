-- Stage moves made by a user in [period_start, as_of), in local time: CRM events too.
with moves as (
    select * from main.stage_changes
    where not is_synthetic and entered_at >= $period_start::timestamp and entered_at < $as_of::timestamp
),

users as (
    select user_id, name from main.users
),

local_time as (
    select
        coalesce(users.name, moves.changed_by, '—') as owner,
        timezone($time_zone::varchar, timezone('UTC', moves.entered_at)) as local_at
    from moves
    left join users on users.user_id = moves.changed_by
    where moves.changed_by is not null
        and ($owner::varchar is null or users.name = $owner or moves.changed_by = $owner)
)

select * from local_time
