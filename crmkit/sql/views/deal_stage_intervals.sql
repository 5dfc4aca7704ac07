-- params: as_of
-- One row per stage visit seen at `as_of`: entered_at, exited_at (null while the deal is still
-- there: a censored stay), the next stage, and how the deal left (advance, skip, regression,
-- pipeline move). Every duration and funnel metric reads this view. Inbox stages (amoCRM's
-- «Неразобранное») are not sales stages: a deal's first visit begins when it leaves the inbox.
with changes as (
    select * from main.stage_changes where entered_at < as_of::timestamp
),

stages as (
    select * from main.stages where not is_inbox
),

deals as (
    select deal_id, owner_id from main.deals
),

ordered as (
    select
        changes.*,
        stages.name as stage_name,
        stages.position,
        stages.kind,
        row_number() over (
            partition by changes.deal_id order by changes.entered_at, stages.position
        ) as change_number
    from changes
    inner join stages using (pipeline_id, stage_id)
),

sequenced as (
    select
        ordered.*,
        lead(entered_at) over deal_path as exited_at,
        lead(pipeline_id) over deal_path as next_pipeline_id,
        lead(stage_id) over deal_path as next_stage_id,
        lead(position) over deal_path as next_position,
        lead(kind) over deal_path as next_kind,
        row_number() over (
            partition by deal_id, pipeline_id, stage_id order by change_number
        ) as visit_number
    from ordered
    window deal_path as (partition by deal_id order by change_number)
),

final as (
    select
        sequenced.deal_id,
        deals.owner_id,
        sequenced.pipeline_id,
        sequenced.stage_id,
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
        coalesce(next_pipeline_id = sequenced.pipeline_id and next_position < position, false)
            as is_regression,
        coalesce(
            next_pipeline_id = sequenced.pipeline_id and next_kind <> 'lost'
            and next_position > position + 1, false
        ) as is_skip,
        coalesce(next_pipeline_id <> sequenced.pipeline_id, false) as is_pipeline_move,
        is_synthetic,
        changed_by
    from sequenced
    left join deals using (deal_id)
)

select * from final
