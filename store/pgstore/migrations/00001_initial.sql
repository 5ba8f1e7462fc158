-- +goose Up
-- Version 1 of Gatehouse's PostgreSQL schema. Every table keeps the record
-- as JSON (data) beside the columns that are looked up, indexed or swept.
-- expires_at NULL means the record does not expire; a record whose
-- expires_at is at or before the current time is treated as absent and is
-- removed by the sweeper.

CREATE TABLE gatehouse_meta (
    name  text PRIMARY KEY,
    value bytea NOT NULL
);
-- The layout of the JSON records (store.SchemaVersion), as bbolt records it.
INSERT INTO gatehouse_meta (name, value) VALUES ('schema_version', '1');

CREATE TABLE signing_keys (
    id         text PRIMARY KEY,
    created_at timestamptz NOT NULL,
    retired_at timestamptz,
    expires_at timestamptz,
    data       jsonb NOT NULL
);
CREATE INDEX signing_keys_expires ON signing_keys (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE users (
    id   text PRIMARY KEY,
    name text NOT NULL UNIQUE,
    data jsonb NOT NULL
);

CREATE TABLE sessions (
    id         text PRIMARY KEY,
    user_id    text NOT NULL,
    expires_at timestamptz NOT NULL,
    data       jsonb NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE auth_codes (
    id              text PRIMARY KEY,
    code_expires_at timestamptz NOT NULL,
    redeemed_at     timestamptz,
    expires_at      timestamptz NOT NULL, -- KeepUntil: kept for replay detection
    data            jsonb NOT NULL
);
CREATE INDEX auth_codes_expires ON auth_codes (expires_at);

CREATE TABLE grants (
    id         text PRIMARY KEY,
    user_id    text NOT NULL,
    client_id  text NOT NULL,
    expires_at timestamptz NOT NULL,
    data       jsonb NOT NULL
);
CREATE INDEX grants_user ON grants (user_id);
CREATE INDEX grants_client ON grants (client_id);
CREATE INDEX grants_expires ON grants (expires_at);

CREATE TABLE refresh_tokens (
    id         text PRIMARY KEY,
    grant_id   text NOT NULL,
    rotated_at timestamptz,
    expires_at timestamptz NOT NULL,
    data       jsonb NOT NULL
);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

CREATE TABLE revoked_access_tokens (
    jti        text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX revoked_access_tokens_expires ON revoked_access_tokens (expires_at);

CREATE TABLE consents (
    user_id   text NOT NULL,
    client_id text NOT NULL,
    data      jsonb NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

CREATE TABLE assertion_ids (
    client_id  text NOT NULL,
    jti        text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX assertion_ids_expires ON assertion_ids (expires_at);

CREATE TABLE dcr_clients (
    id         text PRIMARY KEY,
    dedup_key  text UNIQUE, -- set while the client is unused and deduplicable
    issued_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    data       jsonb NOT NULL
);
CREATE INDEX dcr_clients_expires ON dcr_clients (expires_at);

CREATE TABLE dcr_initial_tokens (
    id         text PRIMARY KEY,
    uses_left  integer NOT NULL,
    expires_at timestamptz NOT NULL,
    data       jsonb NOT NULL
);
CREATE INDEX dcr_initial_tokens_expires ON dcr_initial_tokens (expires_at);

-- +goose Down
DROP TABLE dcr_initial_tokens, dcr_clients, assertion_ids, consents,
    revoked_access_tokens, refresh_tokens, grants, auth_codes, sessions,
    users, signing_keys, gatehouse_meta;
