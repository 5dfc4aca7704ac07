-- params: as_of
-- One row per stage visit seen at `as_of`: entered_at, exited_at (null while the deal is still
-- there: a censored stay), the next stage, and how the deal left (advance, skip, regression,
-- pipeline move). Every duration and funnel metric reads this view. It is stage_visit_sequence
-- cut at as_of: the visits begun before it, a change at or after it not yet made.
with visits as (
    select * from stage_visit_sequence where entered_at < as_of::timestamp
),

seen as (  -- what was known at as_of of the change that ended each visit
    select
        * exclude (exited_at, next_pipeline_id, next_stage_id, next_position, next_kind),
        exited_at < as_of::timestamp as has_exited,
        case when has_exited then exited_at end as exited_at,
        case when has_exited then next_pipeline_id end as next_pipeline_id,
        case when has_exited then next_stage_id end as next_stage_id,
        case when has_exited then next_position end as next_position,
        case when has_exited then next_kind end as next_kind
    from visits
),

final as (
    select
        deal_id,
        owner_id,
        pipeline_id,
        stage_id,
        stage_name,
        position,
        kind,
        visit_number,
        entered_at,
        exited_at,
        next_pipeline_id,
        next_stage_id,
        exited_at is null as is_current,
        date_diff('second', entered_at, coalesce(exited_at, as_of::timestamp)) / 86400.0 as days,
        coalesce(next_pipeline_id = pipeline_id and next_position < position, false) as is_regression,
        coalesce(
            next_pipeline_id = pipeline_id and next_kind <> 'lost' and next_position > position + 1, false
        ) as is_skip,
        coalesce(next_pipeline_id <> pipeline_id, false) as is_pipeline_move,
        is_synthetic,
        changed_by
    from seen
)

select * from final
