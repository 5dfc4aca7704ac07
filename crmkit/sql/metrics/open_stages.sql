-- The open stages of the pipelines in scope, in funnel order: funnel_stages.
select * from funnel_stages($pipeline::varchar)
order by pipeline_id, position
