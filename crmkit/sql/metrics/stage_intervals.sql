-- The interval view at as_of, every stage visit (for inspection, `crmkit metrics stage_intervals`).
select * from deal_stage_intervals($as_of::timestamp) order by deal_id, entered_at
