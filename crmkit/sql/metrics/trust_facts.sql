-- What the metric families rest on, at as_of: CRM deals (with a creation date) and how many have
-- real stage history and a source; closed and lost deals; won deals with an amount.
with deals as (
    select * from deals_at($as_of::timestamp)
),

history as (
    select distinct deal_id from main.stage_changes where not is_synthetic
),

facts as (
    select
        count(*) filter (where created_at is not null) as crm_deals,
        count(*) filter (where created_at is not null and deal_id in (select deal_id from history))
            as with_history,
        count(*) filter (where status <> 'open' and created_at is not null) as closed,
        count(*) filter (where status = 'lost') as lost,
        count(*) filter (where status = 'won') as won,
        count(*) filter (where status = 'won' and amount > 0) as won_with_amount,
        count(*) filter (where created_at is not null and nullif(trim(source), '') is not null)
            as with_source
    from deals
)

select * from facts
