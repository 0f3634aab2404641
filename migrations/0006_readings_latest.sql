-- The latest value of every (device, quantity, channel), kept by the writer in the same
-- transaction as the readings: a map of every streetlight reads one small table, not the
-- hypertable. A late reading never replaces a newer one.
create table readings_latest (
    dev_eui   text collate "C" not null,
    quantity  text collate "C" not null,
    channel   text collate "C" not null default '',
    time      timestamptz not null,
    value     double precision not null,
    primary key (dev_eui, quantity, channel)
) with (fillfactor = 70);

insert into readings_latest (dev_eui, quantity, channel, time, value)
select distinct on (dev_eui, quantity, channel) dev_eui, quantity, channel, time, value
from readings order by dev_eui, quantity, channel, time desc;
