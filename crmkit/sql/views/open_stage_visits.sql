-- params: as_of, period_start, pipeline, owner
-- Stage visits of open stages entered in [period_start, as_of), one row each, with how the
-- visit ended: advanced (a skip counts as passing), lost here, regressed, moved to another
-- pipeline, or still here (censored at as_of). Visits (real stays only) and filters:
-- stage_visits_in_scope.
with intervals as (
    select * from stage_visits_in_scope(as_of::timestamp, pipeline::varchar, owner::varchar)
),

stages as (
    select pipeline_id, stage_id, kind as next_kind from main.stages
),

visits as (
    select
        intervals.deal_id,
        intervals.owner,
        intervals.pipeline,
        intervals.pipeline_id,
        intervals.stage_id,
        intervals.stage_name as stage,
        intervals.position,
        intervals.visit_number,
        intervals.entered_at,
        intervals.exited_at,
        intervals.days,
        intervals.is_current,
        case
            when intervals.is_current then 'still_here'
            when intervals.is_pipeline_move then 'moved'
            when next_stage.next_kind = 'lost' then 'lost'
            when intervals.is_regression then 'regressed'
            else 'advanced'
        end as outcome
    from intervals
    left join stages as next_stage
        on next_stage.pipeline_id = intervals.next_pipeline_id
        and next_stage.stage_id = intervals.next_stage_id
    where intervals.kind = 'open' and intervals.entered_at >= period_start::timestamp
)

select * from visits  -- unordered: every reader groups (sorting 2 M rows at a million deals costs 1.6 s)
