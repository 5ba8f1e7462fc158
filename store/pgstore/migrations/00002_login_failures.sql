-- +goose Up
-- Failed sign-ins per account, shared by every instance (a leaky bucket:
-- store.LoginFailureStore). expires_at is when the level has drained to
-- zero; the sweeper removes the row then.
CREATE TABLE login_failures (
    account    text PRIMARY KEY,
    level      double precision NOT NULL,
    updated_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX login_failures_expires ON login_failures (expires_at);

-- +goose Down
DROP TABLE login_failures;
