-- Preset rules are installed per tenant as "<tenant>:<preset>:<n>".
alter table rules drop constraint rules_id_check;
alter table rules add constraint rules_id_check check (id ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$');
