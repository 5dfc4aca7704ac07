-- Every stage visit of every deal, in the order the deal made them, with the change that ended
-- it (null for the deal's latest) — independent of any as_of: deal_stage_intervals(as_of) cuts
-- it there, since a visit's number and the change after it depend only on the changes before
-- them. Inbox stages (amoCRM's «Неразобранное») are not sales stages: a deal's first visit
-- begins when it leaves the inbox.
with stages as (
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
        -- one window, so the numbering and the next change agree on same-time changes
        row_number() over deal_path as change_number,
        lead(changes.entered_at) over deal_path as exited_at,
        lead(changes.pipeline_id) over deal_path as next_pipeline_id,
        lead(changes.stage_id) over deal_path as next_stage_id,
        lead(stages.position) over deal_path as next_position,
        lead(stages.kind) over deal_path as next_kind
    from main.stage_changes as changes
    inner join stages using (pipeline_id, stage_id)
    window deal_path as (partition by changes.deal_id order by changes.entered_at, stages.position)
),

sequenced as (
    select
        ordered.*,
        deals.owner_id,
        row_number() over (
            partition by ordered.deal_id, ordered.pipeline_id, ordered.stage_id order by ordered.change_number
        ) as visit_number
    from ordered
    left join deals using (deal_id)
)

select * from sequenced
