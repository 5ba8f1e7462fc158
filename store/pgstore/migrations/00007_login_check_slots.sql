-- +goose Up
-- The slowed accounts' check schedule, shared by every instance
-- (store.LoginFailureStore.ReserveLoginCheck): an account past
-- login.max_failures_per_account gets one password check per
-- login.account_slowdown across all instances, not per instance.
-- expires_at covers it, so the sweeper keeps a row until its next slot
-- has passed.
ALTER TABLE login_failures ADD COLUMN next_check_at timestamptz;

-- +goose Down
ALTER TABLE login_failures DROP COLUMN next_check_at;
