-- The value a pending "for at least D" run holds, reported when the timer fires it.
alter table rule_state add column pending_value double precision;
