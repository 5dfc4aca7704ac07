-- Per open stage (pipeline, position, stage): its visits (open_stage_visits) by how they ended,
-- and the days of the finished and of the current stays as lists, for the medians and the
-- Kaplan–Meier estimate. Fetching a list per stage rather than a row per visit spares a million
-- deals' two million rows their trip through pandas.
with visits as (
    select * from open_stage_visits(
            $as_of::timestamp, $period_start::timestamp, $pipeline::varchar, $owner::varchar
        )
)

select
    pipeline,
    position,
    stage,
    count(*) filter (where outcome = 'advanced') as advanced,
    count(*) filter (where outcome = 'lost') as lost,
    count(*) filter (where outcome = 'regressed') as regressed,
    count(*) filter (where outcome = 'moved') as moved,
    count(*) filter (where outcome = 'still_here') as still_here,
    coalesce(list(days) filter (where not is_current), []) as finished_days,
    coalesce(list(days) filter (where is_current), []) as current_days
from visits
group by pipeline, position, stage
order by pipeline, position, stage
