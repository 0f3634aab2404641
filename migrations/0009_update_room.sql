-- Room in each page for the rows every batch updates in place. The writer updates every
-- device it hears from (last_seen_at, last_f_cnt) and the latest value of every series;
-- none of those columns is indexed, so with free space in the page an update is a HOT
-- update (no new index entry, pruned without vacuum). Full pages made each one a new
-- tuple in another page plus an entry in every index: a third of the devices upsert's
-- time. Pages written from now on keep the room; older ones gain it as they are rewritten.
alter table devices set (fillfactor = 70);
alter table readings_latest set (fillfactor = 50);
