-- Projects own clusters; users act on them through role bindings, a binding
-- with a NULL project applying to every project (dbplane.GlobalScope). The
-- old per-user role becomes a global binding. Access keys keep their secret
-- encrypted (HMAC verification needs it); audit events and failed logins
-- have their own tables. Cluster admin passwords move to an encrypted
-- column: the Go migration 00005 encrypts the plaintext ones and drops the
-- old column, because SQL cannot encrypt.

-- +goose Up
CREATE TABLE projects (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    name             TEXT    NOT NULL UNIQUE,
    description      TEXT    NOT NULL DEFAULT '',
    quota_clusters   INTEGER NOT NULL DEFAULT 0, -- 0: unlimited
    quota_nodes      INTEGER NOT NULL DEFAULT 0,
    quota_storage_gb INTEGER NOT NULL DEFAULT 0,
    created_at       BIGINT  NOT NULL
);
INSERT INTO projects (name, description, created_at)
VALUES ('default', 'Clusters that name no project', CAST(strftime('%s', 'now') AS BIGINT) * 1000000);

CREATE TABLE role_bindings (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id BIGINT REFERENCES projects (id) ON DELETE CASCADE, -- NULL: every project
    role       TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX role_bindings_user_project ON role_bindings (user_id, COALESCE(project_id, 0));
CREATE INDEX role_bindings_project ON role_bindings (project_id);
INSERT INTO role_bindings (user_id, project_id, role, created_at) SELECT id, NULL, role, created_at FROM users;
ALTER TABLE users DROP COLUMN role;

CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE access_keys (
    id                TEXT   PRIMARY KEY,
    user_id           BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    description       TEXT   NOT NULL DEFAULT '',
    secret_ciphertext BLOB   NOT NULL,
    secret_key_id     TEXT   NOT NULL,
    created_at        BIGINT NOT NULL,
    last_used_at      BIGINT
);
CREATE INDEX access_keys_user ON access_keys (user_id);

CREATE TABLE auth_failures (
    subject      TEXT    PRIMARY KEY,
    failures     INTEGER NOT NULL,
    window_start BIGINT  NOT NULL,
    locked_until BIGINT
);

CREATE TABLE audit_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           BIGINT  NOT NULL,
    user_name    TEXT    NOT NULL DEFAULT '',
    user_id      BIGINT  NOT NULL DEFAULT 0, -- no FK: events outlive users
    via          TEXT    NOT NULL DEFAULT '',
    project_id   BIGINT  NOT NULL DEFAULT 0, -- no FK: events outlive projects
    project_name TEXT    NOT NULL DEFAULT '',
    front_door   TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    target       TEXT    NOT NULL DEFAULT '',
    result       TEXT    NOT NULL,
    status       INTEGER NOT NULL,
    source       TEXT    NOT NULL DEFAULT '',
    request_id   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_at ON audit_events (at, id);
CREATE INDEX audit_events_user ON audit_events (user_name, at);
CREATE INDEX audit_events_project ON audit_events (project_id, at);
CREATE INDEX audit_events_action ON audit_events (action, at);

-- SQLite adds a column with a foreign key only if it defaults to NULL:
-- sqlstore always sets it.
ALTER TABLE clusters ADD COLUMN project_id BIGINT REFERENCES projects (id);
UPDATE clusters SET project_id = (SELECT id FROM projects WHERE name = 'default');
CREATE INDEX clusters_project ON clusters (project_id, id);
ALTER TABLE clusters ADD COLUMN password_ciphertext BLOB;
ALTER TABLE clusters ADD COLUMN password_key_id TEXT NOT NULL DEFAULT '';

ALTER TABLE tasks ADD COLUMN project_id BIGINT NOT NULL DEFAULT 0; -- no FK: tasks outlive clusters
UPDATE tasks SET project_id = COALESCE((SELECT c.project_id FROM clusters c WHERE c.id = tasks.cluster_id), 0);
CREATE INDEX tasks_project ON tasks (project_id, id);

-- +goose Down
DROP INDEX tasks_project;
ALTER TABLE tasks DROP COLUMN project_id;
ALTER TABLE clusters DROP COLUMN password_key_id;
ALTER TABLE clusters DROP COLUMN password_ciphertext;
DROP INDEX clusters_project;
ALTER TABLE clusters DROP COLUMN project_id;
DROP TABLE audit_events;
DROP TABLE auth_failures;
DROP TABLE access_keys;
DROP INDEX tokens_user;
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'viewer';
UPDATE users SET role = COALESCE(
    (SELECT b.role FROM role_bindings b WHERE b.user_id = users.id AND b.project_id IS NULL), 'viewer');
DROP TABLE role_bindings;
DROP TABLE projects;
