-- A password change task keeps the new admin password, encrypted and bound
-- to the task, until its last step makes it the cluster's: the cluster's
-- stored password stays the one in force while the task runs, and two
-- tasks never read each other's.

-- +goose Up
CREATE TABLE task_secrets (
    task_id    BIGINT NOT NULL PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
    ciphertext BLOB   NOT NULL,
    key_id     TEXT   NOT NULL
);

-- +goose Down
DROP TABLE task_secrets;
