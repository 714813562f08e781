-- The first schema. One text for SQLite and PostgreSQL: {{blob}} becomes
-- BLOB or BYTEA; times are Unix milliseconds (UTC); IDs are made by the
-- application (as2gate.NewID), so they sort by creation time.

CREATE TABLE certificates (
    id          TEXT NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    der         {{blob}} NOT NULL,
    subject     TEXT NOT NULL,
    issuer      TEXT NOT NULL,
    serial      TEXT NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE,
    not_before  BIGINT NOT NULL,
    not_after   BIGINT NOT NULL,
    private_key {{blob}},
    created_at  BIGINT NOT NULL
);

CREATE TABLE stations (
    id           TEXT NOT NULL PRIMARY KEY,
    as2_id       TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    email        TEXT NOT NULL,
    cert_id      TEXT NOT NULL REFERENCES certificates (id) ON DELETE RESTRICT,
    next_cert_id TEXT REFERENCES certificates (id) ON DELETE RESTRICT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE partners (
    id                TEXT NOT NULL PRIMARY KEY,
    as2_id            TEXT NOT NULL UNIQUE,
    name              TEXT NOT NULL,
    description       TEXT NOT NULL,
    url               TEXT NOT NULL,
    encrypt_cert_id   TEXT REFERENCES certificates (id) ON DELETE RESTRICT,
    sign_cert_id      TEXT REFERENCES certificates (id) ON DELETE RESTRICT,
    next_cert_id      TEXT REFERENCES certificates (id) ON DELETE RESTRICT,
    tls_cert_id       TEXT REFERENCES certificates (id) ON DELETE RESTRICT,
    sign              TEXT NOT NULL,
    sign_pss          BOOLEAN NOT NULL,
    encrypt           TEXT NOT NULL,
    key_transport     TEXT NOT NULL,
    compress          TEXT NOT NULL,
    mdn               TEXT NOT NULL,
    mdn_signed        BOOLEAN NOT NULL,
    mic_alg           TEXT NOT NULL,
    subject           TEXT NOT NULL,
    content_type      TEXT NOT NULL,
    timeout_ms        BIGINT NOT NULL,
    retries           INTEGER NOT NULL,
    retry_delay_ms    BIGINT NOT NULL,
    mdn_timeout_ms    BIGINT NOT NULL,
    headers           TEXT NOT NULL, -- JSON array of {"name", "value"}
    chunked           BOOLEAN NOT NULL,
    base64            BOOLEAN NOT NULL,
    require_signed    BOOLEAN NOT NULL,
    require_encrypted BOOLEAN NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);

-- Messages outlive their station and partner: the AS2 IDs stay on the row.
CREATE TABLE messages (
    id              TEXT NOT NULL PRIMARY KEY,
    direction       TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    version         INTEGER NOT NULL,
    station_id      TEXT REFERENCES stations (id) ON DELETE SET NULL,
    partner_id      TEXT REFERENCES partners (id) ON DELETE SET NULL,
    station_as2_id  TEXT NOT NULL,
    partner_as2_id  TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    status          TEXT NOT NULL,
    reason          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    signed          BOOLEAN NOT NULL,
    encrypted       BOOLEAN NOT NULL,
    compressed      BOOLEAN NOT NULL,
    algorithms      TEXT NOT NULL,
    mic             TEXT NOT NULL,
    mdn_mode        TEXT NOT NULL,
    mdn_url         TEXT NOT NULL,
    mdn_signed      BOOLEAN NOT NULL,
    mdn_message_id  TEXT NOT NULL,
    mdn_disposition TEXT NOT NULL,
    mdn_status      TEXT NOT NULL,
    mic_matched     BOOLEAN,
    folder          TEXT NOT NULL,
    raw_key         TEXT NOT NULL,
    mdn_key         TEXT NOT NULL,
    size            BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    completed_at    BIGINT
);

-- Lists are newest first (ORDER BY id DESC) under one filter at a time.
CREATE INDEX messages_direction ON messages (direction, id);
CREATE INDEX messages_station ON messages (station_id, id);
CREATE INDEX messages_partner ON messages (partner_id, id);
CREATE INDEX messages_status ON messages (status, id);
CREATE INDEX messages_message_id ON messages (message_id);

-- Duplicate detection: a Message-ID is received successfully from a partner
-- at most once, while a resend after an error (rejected) is accepted.
CREATE UNIQUE INDEX messages_received_once ON messages (partner_id, message_id)
    WHERE direction = 'in' AND status = 'received';

CREATE TABLE message_files (
    message_id   TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    idx          INTEGER NOT NULL,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    blob_key     TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    PRIMARY KEY (message_id, idx)
);

CREATE TABLE jobs (
    id          TEXT NOT NULL PRIMARY KEY,
    kind        TEXT NOT NULL,
    message_id  TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    run_at      BIGINT NOT NULL,
    attempts    INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE INDEX jobs_run_at ON jobs (run_at);
CREATE INDEX jobs_message ON jobs (message_id);

CREATE TABLE users (
    id            TEXT NOT NULL PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
