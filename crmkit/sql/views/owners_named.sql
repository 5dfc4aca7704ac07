-- params: owner
-- The user ids an `owner` filter means: the users of that name, or that id itself (an owner the
-- users table lacks is still named by id). The one definition of the owner filter: a row is in
-- scope when `owner` is null or its owner id is one of these.
select user_id as owner_id from main.users where name = owner
union
select owner as owner_id where owner is not null
