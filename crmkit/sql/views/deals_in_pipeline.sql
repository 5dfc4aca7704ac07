-- params: as_of, pipeline
-- The deals a pipeline filter keeps for rows that belong to a deal (activities, stage moves): the
-- deals deals_in_scope puts in that pipeline at `as_of`. No pipeline chosen: none, and nothing
-- computed (such rows are then all in scope, as the views reading this say).
select scoped.deal_id
from deals_in_scope(as_of, pipeline, null) as scoped
where pipeline is not null
