-- Gõ Cửa server schema, version 1 (PostgreSQL). Keep in step with
-- migrations/sqlite/0001_init.sql: same tables, same columns, same meaning.

-- Per-commune sequence of the change log; the row is the lock that orders
-- writers (see docs/ARCHITECTURE.md, "change log").
CREATE TABLE commune_seq (
    commune TEXT PRIMARY KEY,
    seq BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE hamlets (
    id TEXT PRIMARY KEY,
    commune TEXT NOT NULL,
    name TEXT NOT NULL,
    sort_key BYTEA NOT NULL
);
CREATE INDEX hamlets_commune ON hamlets (commune);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    province TEXT,
    commune TEXT,
    team_officer TEXT,
    disabled BIGINT NOT NULL DEFAULT 0,
    area_version BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE user_hamlets (
    user_id TEXT NOT NULL,
    hamlet TEXT NOT NULL,
    PRIMARY KEY (user_id, hamlet)
);
CREATE INDEX user_hamlets_hamlet ON user_hamlets (hamlet);

CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_by TEXT,
    last_sync_at BIGINT
);
CREATE INDEX devices_user ON devices (user_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family TEXT NOT NULL,
    device_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);

CREATE TABLE households (
    id TEXT PRIMARY KEY,
    commune TEXT NOT NULL,
    hamlet TEXT NOT NULL,
    house_number TEXT NOT NULL,
    alley TEXT NOT NULL,
    street TEXT NOT NULL,
    walk_key BYTEA NOT NULL,
    conflicts BIGINT NOT NULL DEFAULT 0,
    updated_seq BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX households_area ON households (commune, hamlet);

-- Compacted documents; the change log after `snapshot_seq` completes them.
CREATE TABLE doc_snapshots (
    household TEXT NOT NULL,
    part TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    snapshot_seq BIGINT NOT NULL,
    PRIMARY KEY (household, part)
);

-- Every change ever accepted, numbered per commune in commit order.
CREATE TABLE changes (
    commune TEXT NOT NULL,
    seq BIGINT NOT NULL,
    household TEXT NOT NULL,
    part TEXT NOT NULL,
    hash TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    origin_device TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    out_of_area BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (commune, seq)
);
CREATE UNIQUE INDEX changes_hash ON changes (household, part, hash);

-- Projection: one row per resident, rewritten in the transaction that
-- changes the household. Lists and reports read this, never documents.
CREATE TABLE residents (
    id TEXT PRIMARY KEY,
    household TEXT NOT NULL,
    commune TEXT NOT NULL,
    hamlet TEXT NOT NULL,
    full_name TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    sort_key BYTEA NOT NULL,
    state TEXT NOT NULL,
    detail TEXT,
    registry TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    last_visit_at BIGINT,
    awaiting_confirmation BIGINT NOT NULL,
    assignee TEXT
);
CREATE INDEX residents_household ON residents (household);
CREATE INDEX residents_area_state ON residents (commune, hamlet, state);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    user_id TEXT NOT NULL,
    action TEXT NOT NULL,
    commune TEXT,
    area TEXT,
    residents BIGINT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);

-- Secrets generated on first start and shared by every instance (JWT key).
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
