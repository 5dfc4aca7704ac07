-- Leads created in [period_start, as_of) and the first outbound call, e-mail or meeting after
-- their creation: minutes to respond, or, never answered, minutes until as_of (censored).
with deals as (
    select * from deals_in_scope($as_of::timestamp, $pipeline::varchar, $owner::varchar)
),

touches as (
    select deals.deal_id, min(activities.started_at) as first_touch_at
    from deals
    inner join main.activities as activities
        on activities.deal_id = deals.deal_id
        and activities.started_at >= deals.created_at
        and activities.started_at < $as_of::timestamp
    where activities.direction = 'out' and activities.kind in ('call', 'email', 'meeting')
        and activities.status = 'done'
    group by deals.deal_id
),

leads as (
    select
        deals.deal_id,
        deals.owner,
        coalesce(nullif(trim(deals.source), ''), '—') as source,
        deals.created_at,
        touches.first_touch_at is not null as is_answered,
        date_diff('second', deals.created_at, coalesce(touches.first_touch_at, $as_of::timestamp)) / 60.0
            as minutes
    from deals
    left join touches using (deal_id)
    where deals.created_at >= $period_start::timestamp
)

select deal_id, owner, source, created_at, is_answered, minutes
from leads
order by created_at, deal_id
