-- Rules as data, their durable per-(rule, device, channel) state, alerts with their
-- lifecycle and history, the outbox of actions, and the downlinks we sent.
create table rules (
    id          text primary key check (id ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
    tenant_id   text references tenants (id),   -- null: every tenant (the intercommunality)
    definition  jsonb not null,
    enabled     boolean not null default true,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);

-- The state the kernels carry from one batch to the next, and across restarts: a bridge
-- restarted in the middle of a "for 10 minutes" condition finds its pending_since here.
create table rule_state (
    rule_id        text not null references rules (id) on delete cascade,
    dev_eui        text collate "C" not null,
    channel        text collate "C" not null default '',
    active         boolean not null default false,
    pending_since  timestamptz,
    streak         integer not null default 0,
    last_value     double precision,
    last_time      timestamptz,
    fired_at       timestamptz,
    primary key (rule_id, dev_eui, channel)
);

create table alerts (
    id                bigserial primary key,
    rule_id           text not null references rules (id) on delete cascade,
    dev_eui           text collate "C" not null,
    channel           text collate "C" not null default '',
    tenant_id         text,
    status            text not null check (status in ('firing', 'acknowledged', 'resolved')),
    severity          text not null default 'warning',
    message           text not null default '',
    value             double precision,
    fired_at          timestamptz not null,
    acknowledged_at   timestamptz,
    acknowledged_by   text,
    resolved_at       timestamptz,
    resolved_by       text,
    last_notified_at  timestamptz
);
-- One open alert per (rule, device, channel), whatever the number of bridges: a
-- constraint, not a hope.
create unique index alerts_one_open on alerts (rule_id, dev_eui, channel) where status <> 'resolved';
create index alerts_device_time on alerts (dev_eui, fired_at desc);
create index alerts_open on alerts (tenant_id, status) where status <> 'resolved';

create table alert_events (
    id        bigserial primary key,
    alert_id  bigint not null references alerts (id) on delete cascade,
    time      timestamptz not null default now(),
    kind      text not null check (kind in ('fired', 'acknowledged', 'resolved', 'notified')),
    actor     text not null default 'urbanpulse',
    detail    jsonb not null default '{}'
);
create index alert_events_alert on alert_events (alert_id, time);

-- Actions are written in the transaction that raised the alert and delivered after it
-- commits, with retries: an alert is never announced before it exists, nor lost after.
create table action_outbox (
    id               bigserial primary key,
    alert_id         bigint references alerts (id) on delete cascade,
    kind             text not null check (kind in ('webhook', 'mqtt', 'downlink')),
    spec             jsonb not null,
    payload          jsonb not null,
    created_at       timestamptz not null default now(),
    attempts         integer not null default 0,
    next_attempt_at  timestamptz not null default now(),
    done_at          timestamptz,
    last_error       text
);
create index action_outbox_due on action_outbox (next_attempt_at) where done_at is null;

-- Downlinks sent as ChirpStack `command/down` with our own id, which ChirpStack uses as
-- the queue item id: `txack` and `ack` events carry it back as queueItemId.
create table downlinks (
    id          uuid primary key,
    dev_eui     text collate "C" not null,
    f_port      integer not null check (f_port between 1 and 223),
    payload     bytea not null,
    confirmed   boolean not null default false,
    status      text not null default 'queued'
                check (status in ('queued', 'published', 'transmitted', 'acknowledged', 'not_acknowledged')),
    alert_id    bigint references alerts (id) on delete set null,
    requested_by text not null default 'urbanpulse',
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);
create index downlinks_device on downlinks (dev_eui, created_at desc);
