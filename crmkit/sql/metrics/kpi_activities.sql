-- The weekly tables' activities (weekly_activities) row by row: missed calls, the manager's day.
select * from weekly_activities(
        $as_of::timestamp, $period_start::timestamp, $pipeline::varchar, $owner::varchar, $time_zone::varchar
    )
