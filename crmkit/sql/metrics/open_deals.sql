-- Open deals at as_of: age since creation and days in the current stage.
with deals as (
    select * from deals_in_scope($as_of::timestamp, $pipeline::varchar, $owner::varchar)
),

open_deals as (
    select
        deal_id,
        title,
        pipeline,
        pipeline_id,
        stage_id,
        stage,
        position,
        owner,
        amount,
        currency,
        created_at,
        age_days,
        date_diff('second', stage_entered_at, $as_of::timestamp) / 86400.0 as days_in_stage
    from deals
    where status = 'open'
)

select * from open_deals order by deal_id
