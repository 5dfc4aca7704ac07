-- Run after every load. Derives what exports do not state, the same way for every format.

-- Deal status comes from the kind of the deal's current stage, never from the export.
update main.deals
set status = stages.kind
from main.stages as stages
where stages.pipeline_id = deals.pipeline_id
    and stages.stage_id = deals.stage_id
    and deals.status is distinct from stages.kind;

-- A closed deal closed when it entered its won/lost stage, where the history records that entry
-- (an export's close date may be a date only, or a date typed in by hand): the deal's latest
-- real entry, when it is into a stage of the deal's closed kind.
update main.deals
set closed_at = last_entry.entered_at
from (
    select
        changes.deal_id,
        max(changes.entered_at) as entered_at,
        arg_max(stages.kind, (changes.entered_at, stages.position)) as kind
    from main.stage_changes as changes
    inner join main.stages as stages using (pipeline_id, stage_id)
    where not changes.is_synthetic
    group by changes.deal_id
) as last_entry
where last_entry.deal_id = deals.deal_id
    and deals.status in ('won', 'lost')
    and last_entry.kind = deals.status
    and deals.closed_at is distinct from last_entry.entered_at;

-- A deal without stage history gets one flagged row (its current stage, entered when it was
-- created), so that it does not silently drop out of duration metrics. Rebuilt each time: a
-- newer export may bring real history or a new current stage.
delete from main.stage_changes where is_synthetic;

insert into main.stage_changes (deal_id, pipeline_id, stage_id, entered_at, changed_by, is_synthetic)
select deal_id, pipeline_id, stage_id, coalesce(created_at, closed_at), null, true
from main.deals
where coalesce(created_at, closed_at) is not null
    and not exists (select 1 from main.stage_changes as changes where changes.deal_id = deals.deal_id);
