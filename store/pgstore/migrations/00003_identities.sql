-- +goose Up
-- Linked identities: a user's accounts at upstream identity providers
-- (login.providers). (provider, subject) is unique: one upstream account
-- never maps to two users.
CREATE TABLE identities (
    provider text NOT NULL,
    subject  text NOT NULL,
    user_id  text NOT NULL,
    data     jsonb NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX identities_user ON identities (user_id);

-- +goose Down
DROP TABLE identities;
