-- What the metric families rest on, at as_of: CRM deals (with a creation date) and how many have
-- real stage history and a source; closed deals and how many closed in a month that records
-- losses at all (a month of wins only is a month whose losses went unrecorded); won deals with
-- an amount.
with deals as (
    select * from deals_at($as_of::timestamp)
),

loss_months as (
    select distinct date_trunc('month', closed_at) as month from deals where status = 'lost'
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
        count(*) filter (
            where status <> 'open' and created_at is not null
            and date_trunc('month', closed_at) in (select loss_months.month from loss_months)
        ) as closed_with_losses_recorded,
        count(*) filter (where status = 'won') as won,
        count(*) filter (where status = 'won' and amount > 0) as won_with_amount,
        count(*) filter (where created_at is not null and nullif(trim(source), '') is not null)
            as with_source
    from deals
)

select * from facts
