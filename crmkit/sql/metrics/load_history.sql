-- The loads, newest first, with the most common reason rows were rejected.
with reasons as (
    select
        load_id, reason, count(*) as n,
        row_number() over (partition by load_id order by count(*) desc, reason) as rank
    from main.rejects group by load_id, reason
)

select
    loads.load_id,
    loads.loaded_at,
    loads.source_format,
    loads.file_name,
    loads.rows_read,
    loads.rows_loaded,
    loads.rows_rejected,
    loads.time_zone,
    reasons.reason as top_reason,
    reasons.n as top_reason_rows
from main.loads
left join reasons on reasons.load_id = loads.load_id and reasons.rank = 1
order by loads.loaded_at desc, loads.load_id desc
