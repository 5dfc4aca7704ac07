-- crmkit canonical schema: the contract every importer fills and every metric reads.
-- Timestamps are naive UTC; amounts are in the deal's own currency. Ids are text, as the
-- source CRM spells them. Keys are enforced by the importers (merge by key) and by tests.

create sequence if not exists load_id_seq start 1;

create table if not exists pipelines (
    pipeline_id varchar not null,            -- key
    name        varchar not null
);

create table if not exists stages (
    pipeline_id varchar not null,            -- key (pipeline_id, stage_id)
    stage_id    varchar not null,
    name        varchar not null,
    position    integer not null,            -- order in the funnel, 1 = first
    kind        varchar not null check (kind in ('open', 'won', 'lost')),
    is_inbox    boolean not null default false  -- an inbox before the funnel (amoCRM «Неразобранное»)
);

create table if not exists users (
    user_id   varchar not null,              -- key
    name      varchar not null,
    team      varchar,
    is_active boolean not null default true
);

create table if not exists deals (
    deal_id     varchar not null,            -- key
    pipeline_id varchar not null,
    stage_id    varchar not null,            -- current stage
    status      varchar not null check (status in ('open', 'won', 'lost')),  -- from the stage kind
    title       varchar,
    client      varchar,                     -- the company or person the deal is with
    amount      decimal(18, 2),
    currency    varchar,
    owner_id    varchar,
    source      varchar,                     -- lead source
    created_at  timestamp,                   -- null when the source never knew it (accounting sales)
    closed_at   timestamp,
    loss_reason varchar
);

create table if not exists stage_changes (
    deal_id      varchar not null,           -- key (deal_id, entered_at, pipeline_id, stage_id)
    pipeline_id  varchar not null,
    stage_id     varchar not null,
    entered_at   timestamp not null,
    changed_by   varchar,
    is_synthetic boolean not null default false  -- made by crmkit for a deal without history
);

create table if not exists activities (
    activity_id varchar not null,            -- key
    deal_id     varchar,
    owner_id    varchar,
    kind        varchar not null check (kind in
                    ('call', 'email', 'meeting', 'task', 'proposal', 'payment', 'complaint', 'note')),
    direction   varchar check (direction in ('in', 'out')),
    status      varchar check (status in ('done', 'missed', 'planned')),
    started_at  timestamp,
    due_at      timestamp,
    duration_s  integer,
    amount      decimal(18, 2)
);

create table if not exists currency_rates (
    currency           varchar not null,    -- key (currency, valid_from)
    valid_from         date,                -- null: the rate whatever the date (an undated rate)
    rate               double not null,     -- units of the reporting currency one unit is worth
    reporting_currency varchar not null     -- the currency every rate converts into
);

create table if not exists plans (
    owner_id     varchar,                    -- null = the whole team; key (owner_id, period_start, metric)
    period_start date not null,
    period_end   date not null,              -- inclusive
    metric       varchar not null check (metric in ('revenue', 'won_deals')),
    target       decimal(18, 2) not null
);

create table if not exists loads (
    load_id       integer not null,
    source_format varchar not null,
    file_name     varchar not null,
    file_hash     varchar not null,          -- sha256 of the file's bytes
    rows_read     bigint not null,
    rows_loaded   bigint not null,
    rows_rejected bigint not null,
    time_zone     varchar not null,          -- the zone the source timestamps were in
    loaded_at     timestamp not null,        -- UTC
    pull_cursor   bigint                     -- a `crmkit pull`'s: the next pull asks for changes since (Unix s)
);
-- a database made before `crmkit pull` gains the column
alter table loads add column if not exists pull_cursor bigint;

create table if not exists rejects (
    load_id    integer not null,
    table_name varchar not null,
    source_row bigint not null,              -- 1 = first data row after the header
    reason     varchar not null,
    raw_row    varchar not null              -- the row as JSON text, as read
);

-- What a load noticed about rows it kept (a deal whose closed/won flag contradicts its stage): the
-- audit lists them. A record's notes are replaced when a later load brings the record again.
create table if not exists load_notes (
    load_id    integer not null,
    table_name varchar not null,
    record_id  varchar not null,             -- the row's key (a deal's id)
    source_row bigint not null,
    note       varchar not null
);

-- Columns added after the first release: databases made before get them on connect.
alter table deals add column if not exists client varchar;
alter table stages add column if not exists is_inbox boolean default false;
