-- scalar: ts, zone
-- A stored UTC timestamp as the wall-clock time in `zone` (an IANA name, e.g. Europe/Moscow):
-- the one local-time rule, for weeks, days and hours of the day.
timezone(zone, timezone('UTC', ts))
