-- Cohort view of the funnel, per open stage (funnel_stages) for the team and for each owner:
-- of the deals created in [period_start, as_of), how many reached the stage, went on from it,
-- and stopped there lost, still there at as_of, or moved to another pipeline. Each deal counts
-- once per pipeline it has been in, up to the furthest open stage it reached there (a skip
-- counts as passing the skipped stages); a won deal passed them all. Every owner gets every
-- stage, zeros included. Visits and filters: stage_visits_in_scope.
with visits as (
    select * from stage_visits_in_scope($as_of::timestamp, $pipeline::varchar, $owner::varchar)
),

deals as (  -- the cohort
    select deal_id, pipeline_id, status from deals_at($as_of::timestamp)
    where created_at >= $period_start::timestamp and created_at < $as_of::timestamp
),

stage_list as (
    select * from funnel_stages($pipeline::varchar)
),

open_stages as (
    select pipeline_id, max(position) as last_open_position
    from stage_list group by pipeline_id
),

reached as (
    select
        visits.deal_id,
        visits.pipeline_id,
        visits.owner,
        max(case when visits.kind = 'open' then visits.position end) as furthest_position
    from visits
    semi join deals using (deal_id)
    group by all
),

final as (
    select
        reached.deal_id,
        reached.owner,
        reached.pipeline_id,
        coalesce(reached.furthest_position, open_stages.last_open_position) as furthest_position,
        case
            when deals.pipeline_id <> reached.pipeline_id then 'moved'
            when deals.status = 'open' then 'still_here'
            else deals.status
        end as outcome
    from reached
    inner join deals using (deal_id)
    inner join open_stages on open_stages.pipeline_id = reached.pipeline_id
),

stage_reach as (  -- each deal against each open stage of its pipeline
    select
        final.owner,
        stage_list.pipeline_id,
        stage_list.position,
        final.outcome,
        final.outcome = 'won' or final.furthest_position >= stage_list.position as reached,
        final.outcome <> 'won' and final.furthest_position = stage_list.position as stopped
    from final
    inner join stage_list using (pipeline_id)
),

counts as (
    select
        pipeline_id,
        position,
        owner,
        grouping(owner) = 1 as is_team,
        count(*) filter (where reached) as reached,
        count(*) filter (where reached and not stopped) as advanced,
        count(*) filter (where stopped and outcome = 'lost') as lost,
        count(*) filter (where stopped and outcome = 'still_here') as still_here,
        count(*) filter (where stopped and outcome = 'moved') as moved
    from stage_reach
    group by grouping sets ((pipeline_id, position), (pipeline_id, position, owner))
),

levels as (  -- the team, then each owner of a deal in the cohort
    select
        true as is_team,
        null::varchar as owner
    union all
    select distinct
        false as is_team,
        owner
    from final  -- never null: deals_in_scope names an unknown owner '—'
)

select
    stage_list.pipeline,
    stage_list.position,
    stage_list.stage,
    coalesce(counts.reached, 0) as reached,
    coalesce(counts.advanced, 0) as advanced,
    coalesce(counts.lost, 0) as lost,
    coalesce(counts.still_here, 0) as still_here,
    coalesce(counts.moved, 0) as moved,
    case when levels.is_team then 'team' else 'owner' end as level,
    coalesce(levels.owner, '—') as name
from levels
cross join stage_list
left join counts
    on counts.pipeline_id = stage_list.pipeline_id
    and counts.position = stage_list.position
    and counts.is_team = levels.is_team
    and counts.owner is not distinct from levels.owner
order by levels.is_team desc, levels.owner asc, stage_list.pipeline_id asc, stage_list.position asc
