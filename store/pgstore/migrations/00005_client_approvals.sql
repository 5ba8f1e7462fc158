-- Client approval records (client_profiles[].approval: admin, blocks).
-- One row per client ID; they never expire, and a registered client's row
-- is deleted with the client.

-- +goose Up
CREATE TABLE client_approvals (
    client_id    text PRIMARY KEY,
    state        text NOT NULL,
    requested_at timestamptz NOT NULL,
    data         jsonb NOT NULL
);

-- +goose Down
DROP TABLE client_approvals;
