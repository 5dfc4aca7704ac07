-- Every real stage change (not one crmkit made for a deal without history) with `until`: when
-- the deal's next real change came (null: still in force). Independent of any as_of: the change
-- in force at as_of is the one entered before it and not yet followed. Same-time changes follow
-- their stages' order, so of a tie the later stage is in force.
with stages as (
    select pipeline_id, stage_id, position, kind from main.stages
),

spans as (
    select
        changes.deal_id,
        changes.pipeline_id,
        changes.stage_id,
        changes.entered_at,
        stages.kind,
        lead(changes.entered_at) over (
            partition by changes.deal_id order by changes.entered_at, stages.position
        ) as until
    from main.stage_changes as changes
    inner join stages using (pipeline_id, stage_id)
    where not changes.is_synthetic
)

select * from spans
