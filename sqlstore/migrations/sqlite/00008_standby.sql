-- A standby cluster replicates from a source cluster: one row per standby,
-- made with the cluster and gone with it, holding what the standby monitor
-- last found. checked_at is NULL until the standby first answers;
-- lag_seconds is NULL when MariaDB does not know the lag.

-- +goose Up
CREATE TABLE cluster_replication (
    cluster_id  BIGINT  PRIMARY KEY REFERENCES clusters (id) ON DELETE CASCADE,
    source_id   BIGINT  NOT NULL, -- no FK: a source is not deleted while it has standbys
    state       TEXT    NOT NULL DEFAULT 'pending',
    io_running  INTEGER NOT NULL DEFAULT 0,
    sql_running INTEGER NOT NULL DEFAULT 0,
    lag_seconds BIGINT,
    position    TEXT    NOT NULL DEFAULT '',
    last_error  TEXT    NOT NULL DEFAULT '',
    checked_at  BIGINT
);
CREATE INDEX cluster_replication_source ON cluster_replication (source_id);

-- +goose Down
DROP TABLE cluster_replication;
