-- Gõ Cửa server schema, version 2 (SQLite): campaign operations — campaigns,
-- imports, the registry's word on each resident, visits for reports, the
-- review log. Keep in step with migrations/postgres/0002_campaigns.sql.

CREATE TABLE campaigns (
    id TEXT PRIMARY KEY,
    commune TEXT NOT NULL,
    name TEXT NOT NULL,
    -- Vietnam calendar days since 1970-01-01, inclusive.
    start_day BIGINT NOT NULL,
    end_day BIGINT NOT NULL,
    min_age BIGINT NOT NULL,
    -- Share of eligible residents to activate, in percent.
    target_percent BIGINT NOT NULL,
    -- Residents each officer should complete over the campaign (0: none set).
    officer_target BIGINT NOT NULL,
    daily_cap BIGINT NOT NULL,
    recheck_after_days BIGINT NOT NULL,
    -- An officer's "activated" the registry still does not show after this
    -- many days goes to the review queue.
    registry_grace_days BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX campaigns_commune ON campaigns (commune, start_day);

-- Projection columns filled from the documents (see db/docs.rs reproject).
ALTER TABLE residents ADD COLUMN birth_date TEXT;
-- Protected: read only by role and area, never logged (lists, imports).
ALTER TABLE residents ADD COLUMN personal_id TEXT;
ALTER TABLE residents ADD COLUMN decided_at BIGINT;
ALTER TABLE residents ADD COLUMN decided_by TEXT;
ALTER TABLE residents ADD COLUMN explanation TEXT;
ALTER TABLE residents ADD COLUMN absent_at TEXT NOT NULL DEFAULT '';
ALTER TABLE residents ADD COLUMN field_activated_at BIGINT;
ALTER TABLE residents ADD COLUMN newcomer BIGINT NOT NULL DEFAULT 0;
CREATE INDEX residents_personal_id ON residents (commune, personal_id);

-- The grouping key an import gave the household (household column or
-- normalised address), to add later exports' newcomers to it.
ALTER TABLE households ADD COLUMN import_key TEXT;
CREATE INDEX households_import_key ON households (commune, import_key);

-- What the police's exports said, kept by imports (not by the projection).
CREATE TABLE registry_marks (
    resident TEXT PRIMARY KEY,
    commune TEXT NOT NULL,
    -- The latest import that listed the resident.
    checked_at BIGINT NOT NULL,
    -- The first import that showed the account activated.
    activated_at BIGINT
);

-- One row per visit (projection), for reports and fabrication signals.
CREATE TABLE visits (
    id TEXT PRIMARY KEY,
    household TEXT NOT NULL,
    commune TEXT NOT NULL,
    hamlet TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    outcomes BIGINT NOT NULL,
    activations BIGINT NOT NULL
);
CREATE INDEX visits_commune_at ON visits (commune, at_ms);
CREATE INDEX visits_user_at ON visits (user_id, at_ms);

CREATE TABLE import_runs (
    id TEXT PRIMARY KEY,
    commune TEXT NOT NULL,
    by_user TEXT NOT NULL,
    at BIGINT NOT NULL,
    file_name TEXT NOT NULL,
    rows_total BIGINT NOT NULL,
    accepted BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    households_created BIGINT NOT NULL,
    residents_created BIGINT NOT NULL,
    residents_updated BIGINT NOT NULL,
    -- JSON: the rejected rows (row number, column, code, message), no personal data.
    report TEXT NOT NULL
);
CREATE INDEX import_runs_commune ON import_runs (commune, at);

-- Who settled what in the review queue, and why.
CREATE TABLE review_log (
    id TEXT PRIMARY KEY,
    commune TEXT NOT NULL,
    household TEXT NOT NULL,
    resident TEXT NOT NULL,
    kind TEXT NOT NULL,
    decision TEXT NOT NULL,
    by_user TEXT NOT NULL,
    at BIGINT NOT NULL,
    note TEXT
);
CREATE INDEX review_log_commune ON review_log (commune, at);
