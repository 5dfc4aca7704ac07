-- params: pipeline
-- The pipelines a `pipeline` filter means: the one of that name or id; every pipeline when the
-- filter is null. The one definition of the pipeline filter: every scoped view joins this.
select pipeline_id, name as pipeline
from main.pipelines
where pipeline is null or name = pipeline or pipeline_id = pipeline
