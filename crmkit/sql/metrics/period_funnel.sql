-- Period view of the funnel, per open stage for the team and for each owner: how the visits
-- (open_stage_visits, entered at any time) that ended in [period_start, as_of) ended, and how
-- many are still there at as_of. `reached` counts them all. A stage appears for an owner who has
-- a visit there.
with visits as (
    select pipeline, position, stage, owner, outcome
    from open_stage_visits($as_of::timestamp, '1900-01-01'::timestamp, $pipeline::varchar, $owner::varchar)
    where is_current or exited_at >= $period_start::timestamp
),

counts as (
    select
        pipeline,
        position,
        stage,
        owner,
        grouping(owner) = 1 as is_team,
        count(*) as reached,
        count(*) filter (where outcome = 'advanced') as advanced,
        count(*) filter (where outcome = 'lost') as lost,
        count(*) filter (where outcome = 'still_here') as still_here,
        count(*) filter (where outcome = 'moved') as moved,
        count(*) filter (where outcome = 'regressed') as regressed
    from visits
    group by grouping sets ((pipeline, position, stage), (pipeline, position, stage, owner))
)

select
    pipeline,
    position,
    stage,
    reached,
    advanced,
    lost,
    still_here,
    moved,
    regressed,
    case when is_team then 'team' else 'owner' end as level,
    coalesce(owner, '—') as name
from counts  -- an owner is never null: deals_in_scope names an unknown one '—'
order by is_team desc, owner asc, pipeline asc, position asc, stage asc
