-- +goose Up
-- A registered client's consents go with it (DeleteClient, the sweeper):
-- find them by client. Consents left by clients deleted before this
-- version are removed here.
CREATE INDEX consents_client_id ON consents (client_id);
DELETE FROM consents c
WHERE c.client_id LIKE 'dcr\_%'
  AND NOT EXISTS (SELECT 1 FROM dcr_clients d WHERE d.id = c.client_id);

-- +goose Down
DROP INDEX consents_client_id;
