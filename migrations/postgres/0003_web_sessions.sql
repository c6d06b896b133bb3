-- Gõ Cửa server schema, version 3 (PostgreSQL): browser sessions of the review pages
-- (leaders, officers, the provincial office). Phones keep their tokens.
-- Keep in step between migrations/sqlite and migrations/postgres.

CREATE TABLE web_sessions (
    -- SHA-256 (hex) of the cookie's random token; the token itself is
    -- never stored.
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    -- Per-session token every form carries (CSRF protection).
    csrf TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);
