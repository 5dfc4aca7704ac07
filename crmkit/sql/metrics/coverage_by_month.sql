-- Coverage by month: deals created, stage moves (real history) and activities, so that gaps in
-- what was recorded show up.
with created as (
    select date_trunc('month', created_at) as month, count(*) as deals_created
    from main.deals where created_at < $as_of::timestamp group by month
),

moves as (
    select date_trunc('month', entered_at) as month, count(*) as stage_moves
    from main.stage_changes where not is_synthetic and entered_at < $as_of::timestamp group by month
),

acts as (
    select date_trunc('month', started_at) as month, count(*) as activities
    from main.activities where started_at < $as_of::timestamp group by month
),

won as (  -- won as the deals stood at as_of (deals_at), not as they stand today
    select date_trunc('month', closed_at) as month, count(*) as deals_won
    from deals_at($as_of::timestamp) where status = 'won' group by month
),

months as (
    select month from created
    union
    select month from moves
    union
    select month from acts
    union
    select month from won
)

select
    months.month,
    coalesce(deals_created, 0) as deals_created,
    coalesce(deals_won, 0) as deals_won,
    coalesce(stage_moves, 0) as stage_moves,
    coalesce(activities, 0) as activities
from months
left join created using (month)
left join won using (month)
left join moves using (month)
left join acts using (month)
where months.month is not null
order by months.month
