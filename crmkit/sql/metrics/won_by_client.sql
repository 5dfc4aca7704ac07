-- Every deal won before as_of whose client the data names (the whole history: a client's first
-- purchase may be years before the window), with its owner and amount in the reporting currency.
select deal_id, client, owner, amount, currency, closed_at
from deals_in_scope($as_of::timestamp, $pipeline::varchar, $owner::varchar)
where status = 'won' and nullif(trim(client), '') is not null and closed_at is not null
order by client, closed_at, deal_id
