-- Tenants, the device registry, raw uplinks, other events, readings and their rollups,
-- rejected input, and retention per data class.
create extension if not exists timescaledb;

create table tenants (
    id          text primary key,
    name        text not null default '',
    created_at  timestamptz not null default now()
);

create table devices (
    dev_eui              text collate "C" primary key check (dev_eui ~ '^[0-9a-f]{16}$'),
    tenant_id            text references tenants (id),
    model                text,
    device_class         text,
    name                 text not null default '',
    latitude             double precision,
    longitude            double precision,
    zone                 text,
    tags                 jsonb not null default '{}',
    params               jsonb not null default '{}',
    application_id       text,
    device_profile_name  text,
    last_seen_at         timestamptz,
    last_f_cnt           bigint,
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now()
);
create index devices_tenant_class on devices (tenant_id, device_class);

-- One row per deduplicated uplink; a redelivery hits the primary key and changes nothing.
create table uplinks (
    time              timestamptz not null,
    deduplication_id  uuid not null,
    dev_eui           text collate "C" not null,
    tenant_id         text,
    application_id    text,
    model             text,
    f_cnt             bigint,
    f_port            integer,
    dr                integer,
    adr               boolean,
    confirmed         boolean,
    payload           bytea not null,
    object            jsonb,
    rssi              integer,
    snr               real,
    gateway_count     integer,
    radio             jsonb,
    decode_status     text not null check (decode_status in ('ok', 'error', 'no_decoder', 'no_payload')),
    decode_error      text,
    received_at       timestamptz not null default now(),
    primary key (deduplication_id, time)
);
select create_hypertable('uplinks', 'time', chunk_time_interval => interval '1 day');
create index uplinks_device_time on uplinks (dev_eui, time desc);
create index uplinks_undecoded on uplinks (model, time) where decode_status <> 'ok';

-- status, join, ack, txack, log, location and the obsolete integration event.
create table device_events (
    time        timestamptz not null,
    kind        text not null,
    event_key   text collate "C" not null,
    dev_eui     text collate "C" not null,
    tenant_id   text,
    body        jsonb not null,
    received_at timestamptz not null default now(),
    primary key (kind, event_key, time)
);
select create_hypertable('device_events', 'time', chunk_time_interval => interval '7 days');
create index device_events_device_time on device_events (dev_eui, time desc);

-- Key columns compare byte-wise (collate "C"): cheaper on every insert, and their values
-- are hex EUIs and ASCII names anyway.
create table readings (
    time      timestamptz not null,
    dev_eui   text collate "C" not null,
    quantity  text collate "C" not null,
    channel   text collate "C" not null default '',
    value     double precision not null,
    primary key (dev_eui, quantity, channel, time)
);
select create_hypertable('readings', 'time', chunk_time_interval => interval '7 days');

-- Rollups are kept by the writer in the same transaction as the readings they sum up:
-- the Apache-licensed TimescaleDB build has no continuous aggregates. Daily and longer
-- buckets are summed from the hourly ones at query time (every French offset is whole
-- hours), which halves the write cost of a reading.
create table rollups_hourly (
    bucket     timestamptz not null,
    dev_eui    text collate "C" not null,
    quantity   text collate "C" not null,
    channel    text collate "C" not null default '',
    count      bigint not null,
    sum        double precision not null,
    min        double precision not null,
    max        double precision not null,
    last       double precision not null,
    last_time  timestamptz not null,
    primary key (dev_eui, quantity, channel, bucket)
) with (fillfactor = 70);  -- room for HOT updates: a bucket is updated by every reading in it
select create_hypertable('rollups_hourly', 'bucket', chunk_time_interval => interval '30 days');

-- Input that could not be parsed, kept raw with its reason; a redelivery is the same row.
create table rejected (
    id           bigserial primary key,
    message_key  text not null unique,
    received_at  timestamptz not null default now(),
    topic        text not null,
    payload      bytea not null,
    reason       text not null
);

-- How long each data class is kept (GDPR): applied with drop_chunks by `urbanpulse retention`.
create table retention (
    relation  text primary key,
    keep      interval
);
insert into retention (relation, keep) values
    ('uplinks', interval '400 days'),
    ('device_events', interval '180 days'),
    ('readings', interval '5 years'),
    ('rollups_hourly', null),
    ('rejected', interval '180 days');
