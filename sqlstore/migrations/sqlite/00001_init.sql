-- Times are stored as Unix microseconds (BIGINT) in both dialects, so that
-- comparisons and scans behave the same on SQLite and PostgreSQL.

-- +goose Up
CREATE TABLE clusters (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT    NOT NULL UNIQUE,
    engine         TEXT    NOT NULL,
    version        TEXT    NOT NULL,
    topology       TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    spec           TEXT    NOT NULL,            -- redacted ClusterSpec JSON
    admin_password TEXT    NOT NULL DEFAULT '', -- encrypted from the identity issue on
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL
);
CREATE INDEX clusters_engine ON clusters (engine);
CREATE INDEX clusters_status ON clusters (status);

CREATE TABLE hosts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    address      TEXT    NOT NULL UNIQUE,
    region       TEXT    NOT NULL DEFAULT '',
    zone         TEXT    NOT NULL DEFAULT '',
    rack         TEXT    NOT NULL DEFAULT '',
    os           TEXT    NOT NULL DEFAULT '',
    arch         TEXT    NOT NULL DEFAULT '',
    cpus         INTEGER NOT NULL DEFAULT 0,
    memory_mb    BIGINT  NOT NULL DEFAULT 0,
    disk_gb      BIGINT  NOT NULL DEFAULT 0,
    status       TEXT    NOT NULL,
    last_seen_at BIGINT,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL
);

CREATE TABLE nodes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster_id BIGINT  NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    host_id    BIGINT  NOT NULL REFERENCES hosts (id),
    role       TEXT    NOT NULL,
    port       INTEGER NOT NULL,
    data_dir   TEXT    NOT NULL DEFAULT '',
    status     TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    UNIQUE (host_id, port),
    UNIQUE (cluster_id, host_id)
);

CREATE TABLE tasks (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    name              TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    cluster_id        BIGINT,                 -- no FK: a finished delete removes the cluster
    status            TEXT    NOT NULL,
    operation         TEXT    NOT NULL,
    prohibit_rollback INTEGER NOT NULL DEFAULT 0,
    creator           TEXT    NOT NULL DEFAULT '',
    context           TEXT    NOT NULL DEFAULT '{}',
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL,
    started_at        BIGINT,
    finished_at       BIGINT
);
CREATE INDEX tasks_cluster_status ON tasks (cluster_id, status);
CREATE INDEX tasks_status ON tasks (status);

CREATE TABLE subtasks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id      BIGINT  NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL, -- position in topological order
    name         TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    handler      TEXT    NOT NULL,
    undo         TEXT    NOT NULL DEFAULT '',
    params       TEXT    NOT NULL DEFAULT '{}',
    status       TEXT    NOT NULL,
    operation    TEXT    NOT NULL,
    timeout_ms   BIGINT  NOT NULL,
    max_attempts INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    run_count    INTEGER NOT NULL DEFAULT 0,
    executor     TEXT,
    lease_until  BIGINT,
    next_run_at  BIGINT  NOT NULL DEFAULT 0,
    error        TEXT    NOT NULL DEFAULT '',
    created_at   BIGINT  NOT NULL,
    started_at   BIGINT,
    finished_at  BIGINT
);
CREATE INDEX subtasks_task ON subtasks (task_id, seq);
CREATE INDEX subtasks_task_status ON subtasks (task_id, status);
CREATE INDEX subtasks_status ON subtasks (status, next_run_at);
CREATE INDEX subtasks_executor ON subtasks (executor) WHERE executor IS NOT NULL;

CREATE TABLE subtask_edges (
    task_id       BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    upstream_id   BIGINT NOT NULL REFERENCES subtasks (id) ON DELETE CASCADE,
    downstream_id BIGINT NOT NULL REFERENCES subtasks (id) ON DELETE CASCADE,
    PRIMARY KEY (upstream_id, downstream_id)
);
CREATE INDEX subtask_edges_downstream ON subtask_edges (downstream_id);
CREATE INDEX subtask_edges_task ON subtask_edges (task_id);

CREATE TABLE subtask_logs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    subtask_id BIGINT  NOT NULL REFERENCES subtasks (id) ON DELETE CASCADE,
    at         BIGINT  NOT NULL,
    message    TEXT    NOT NULL
);
CREATE INDEX subtask_logs_subtask ON subtask_logs (subtask_id, id);

CREATE TABLE task_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id    BIGINT  NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    subtask_id BIGINT  NOT NULL DEFAULT 0,
    name       TEXT    NOT NULL DEFAULT '',
    status     TEXT    NOT NULL,
    operation  TEXT    NOT NULL DEFAULT '',
    message    TEXT    NOT NULL DEFAULT '',
    at         BIGINT  NOT NULL
);
CREATE INDEX task_events_task ON task_events (task_id, id);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL
);

CREATE TABLE tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret_hash TEXT    NOT NULL UNIQUE,
    expires_at  BIGINT  NOT NULL,
    revoked_at  BIGINT,
    created_at  BIGINT  NOT NULL
);

-- +goose Down
DROP TABLE tokens;
DROP TABLE users;
DROP TABLE task_events;
DROP TABLE subtask_logs;
DROP TABLE subtask_edges;
DROP TABLE subtasks;
DROP TABLE tasks;
DROP TABLE nodes;
DROP TABLE hosts;
DROP TABLE clusters;
