-- The first and the last moment any deal was created or closed.
select
    least(min(created_at), min(closed_at)) as first_at,
    greatest(max(created_at), max(closed_at)) as last_at
from main.deals
