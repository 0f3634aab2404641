-- API keys: the secret is kept only as its SHA-256 (keys are 256-bit random, so a slow
-- hash adds nothing); `tenants` null means every tenant (the intercommunality).
create table api_keys (
    id           text primary key check (id ~ '^[0-9a-f]{12}$'),
    secret_hash  bytea not null,
    name         text not null,
    role         text not null check (role in ('viewer', 'operator', 'admin')),
    tenants      text[] check (tenants is null or cardinality(tenants) > 0),
    created_at   timestamptz not null default now(),
    revoked_at   timestamptz
);
