-- params: as_of, pipeline, owner
-- The real stage visits (deal_stage_intervals without synthetic entries) of the deals
-- deals_in_scope keeps for `owner`, narrowed to the visits made in one pipeline (by name or id):
-- a visit belongs to the pipeline it was made in, whichever the deal is in now. The one
-- definition of the pipeline filter for stage metrics.
with intervals as (
    select * from deal_stage_intervals(as_of) where not is_synthetic
),

deals as (  -- qualified: a bare `owner` is this view's parameter
    select scoped.deal_id, scoped.owner, scoped.title, scoped.amount, scoped.currency
    from deals_in_scope(as_of, null, owner) as scoped
),

pipelines as (
    select named.pipeline_id, named.pipeline as pipeline_name from pipelines_named(pipeline) as named
),

in_scope as (
    select
        intervals.*,
        pipelines.pipeline_name as pipeline,
        deals.owner,
        deals.title,
        deals.amount,
        deals.currency
    from intervals
    inner join deals using (deal_id)
    inner join pipelines on pipelines.pipeline_id = intervals.pipeline_id
)

select * from in_scope
