-- params: pipeline
-- The open stages of the pipelines in scope (pipelines_named), in funnel order (an inbox before
-- the funnel is not one).
with stages as (
    select * from main.stages where kind = 'open' and not is_inbox
),

pipelines as (
    select named.pipeline_id, named.pipeline from pipelines_named(pipeline) as named
)

select stages.pipeline_id, pipelines.pipeline, stages.stage_id, stages.name as stage, stages.position
from stages
inner join pipelines using (pipeline_id)
