-- A number that grows whenever a device changes hands: another tenant, class or zone, or
-- removed. Answers kept per scope of tenants (the snapshots of /latest) are keyed by it,
-- so that a device moved to another commune leaves the first commune's answers at once,
-- in every API process, and not when the snapshot would have expired.
create table registry_generation (
    one         boolean primary key default true check (one),
    generation  bigint not null default 0
);
insert into registry_generation default values;

create function bump_registry_generation() returns trigger language plpgsql as $$
begin
    update registry_generation set generation = generation + 1;
    return null;
end
$$;

-- The writer's upsert sets these columns on every batch; only a real change fires.
create trigger devices_change_hands after update on devices for each row
when (old.tenant_id is distinct from new.tenant_id
      or old.device_class is distinct from new.device_class
      or old.zone is distinct from new.zone)
execute function bump_registry_generation();

create trigger devices_removed after delete on devices for each statement
execute function bump_registry_generation();
