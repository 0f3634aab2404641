-- Daily rollups: the hourly ones summed per day of the city's clock, so that daily and
-- longer buckets over many devices read 24 times fewer rows. Maintenance fills them for
-- closed days (ingest/rollups_daily.py); the writer keeps writing hourly rollups only.
create table rollups_daily (
    day        timestamptz not null,  -- midnight on the city's clock that starts the day
    dev_eui    text collate "C" not null,
    quantity   text collate "C" not null,
    channel    text collate "C" not null default '',
    count      bigint not null,
    sum        double precision not null,
    min        double precision not null,
    max        double precision not null,
    last       double precision not null,
    last_time  timestamptz not null,
    primary key (dev_eui, quantity, channel, day)
);
-- No index on day alone: queries ask for series, and with one the planner takes it for a
-- range of days whose end it cannot know (the watermark), reading every device's rows.
select create_hypertable('rollups_daily', 'day', chunk_time_interval => interval '30 days',
                         create_default_indexes => false);

-- One row. Days before next_day were handed over to rollups_daily: their daily rows are
-- exact unless the day is in rollups_daily_stale. Every writer batch locks this row
-- (FOR SHARE), so that moving next_day waits for the batches that read it before.
create table rollups_daily_watermark (
    one        boolean primary key default true check (one),
    next_day   timestamptz,  -- null: no day handed over yet
    timezone   text          -- the city's clock the days are of
);
insert into rollups_daily_watermark default values;

-- Days before the watermark whose daily rollups are missing or out of date: readings
-- written late into them, or days just handed over. Maintenance recomputes them from the
-- hourly rollups; until then queries read those days from the hourly rollups.
create table rollups_daily_stale (
    day          timestamptz primary key,
    -- handed over and never summed: no daily rows to replace, none to look for
    first_time   boolean not null default false
);

insert into retention (relation, keep) values ('rollups_daily', null);
