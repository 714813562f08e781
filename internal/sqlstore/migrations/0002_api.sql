-- The REST API: read state of received messages, login tokens, API keys
-- and the audit log.

ALTER TABLE messages ADD COLUMN read_at BIGINT;

-- Only the SHA-256 of a token's secret is kept. A family is every token
-- descended from one login.
CREATE TABLE tokens (
    id         TEXT NOT NULL PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id  TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    revoked_at BIGINT
);

CREATE INDEX tokens_family ON tokens (family_id);
CREATE INDEX tokens_user ON tokens (user_id);
CREATE INDEX tokens_expires ON tokens (expires_at);

CREATE TABLE api_keys (
    id           TEXT NOT NULL PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT,
    created_by   TEXT NOT NULL
);

-- Lists are newest first (ORDER BY id DESC), filtered by actor or action.
CREATE TABLE audit_log (
    id     TEXT NOT NULL PRIMARY KEY,
    at     BIGINT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    remote TEXT NOT NULL,
    result TEXT NOT NULL,
    detail TEXT NOT NULL
);

CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
