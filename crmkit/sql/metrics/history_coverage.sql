-- How far duration metrics can be trusted: deals with real stage history, without a creation
-- date, closed before they were created.
with deals as (
    select * from main.deals
),

real_history as (
    select distinct deal_id from main.stage_changes where not is_synthetic
),

coverage as (
    select
        count(*) as n_deals,
        count(real_history.deal_id) as n_with_history,
        count(*) filter (where deals.created_at is null) as n_without_created,
        count(*) filter (where deals.closed_at < deals.created_at) as n_closed_before_created
    from deals
    left join real_history using (deal_id)
)

select * from coverage
