-- params: as_of
-- Every deal as it stood at `as_of` (events strictly before it count). The one definition of
-- deal status: the kind of the stage the deal was in, read from its real stage history; for a
-- deal without history, its exported status once its close time has passed, else open.
with deals as (
    select * from main.deals
),

stages as (
    select * from main.stages
),

history_before as (
    select
        changes.deal_id,
        changes.pipeline_id,
        changes.stage_id,
        changes.entered_at,
        stages.kind,
        row_number() over (
            partition by changes.deal_id order by changes.entered_at desc, stages.position desc
        ) as recency
    from main.stage_changes as changes
    inner join stages using (pipeline_id, stage_id)
    where changes.entered_at < as_of::timestamp and not changes.is_synthetic
),

last_change as (
    select * from history_before where recency = 1
),

with_status as (
    select
        deals.*,
        last_change.deal_id is not null as has_history,
        last_change.entered_at as history_entered_at,
        last_change.pipeline_id as history_pipeline_id,
        last_change.stage_id as history_stage_id,
        case
            when last_change.deal_id is not null then last_change.kind
            when deals.status <> 'open'
                and coalesce(deals.closed_at, deals.created_at) < as_of::timestamp then deals.status
            else 'open'
        end as status_at
    from deals
    left join last_change using (deal_id)
    where coalesce(deals.created_at, deals.closed_at) < as_of::timestamp
),

final as (
    select
        deal_id,
        case when has_history then history_pipeline_id else pipeline_id end as pipeline_id,
        case when has_history then history_stage_id else stage_id end as stage_id,
        status_at as status,
        title,
        client,
        amount,
        currency,
        owner_id,
        source,
        created_at,
        case
            when status_at = 'open' then null
            when status_at = status and closed_at < as_of::timestamp then closed_at
            when has_history then history_entered_at
            else closed_at
        end as closed_at,
        case when status_at = 'lost' then loss_reason end as loss_reason,
        case when has_history then history_entered_at end as stage_entered_at,
        has_history
    from with_status
)

select * from final
