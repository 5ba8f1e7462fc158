-- +goose Up
-- Authorization requests waiting for the user to sign in
-- (store.PendingRequestStore): short-lived, swept at expires_at.
CREATE TABLE pending_requests (
    id         text PRIMARY KEY,
    expires_at timestamptz NOT NULL,
    data       jsonb NOT NULL
);
CREATE INDEX pending_requests_expires ON pending_requests (expires_at);

-- +goose Down
DROP TABLE pending_requests;
