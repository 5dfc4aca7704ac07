-- The interval view at $as_of, for inspection (`crmkit.db.query`) and tests.
select * from deal_stage_intervals($as_of::timestamp) order by deal_id, entered_at
