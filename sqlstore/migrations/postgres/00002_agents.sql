-- Hosts are reached at address:agent_port over mTLS; a drained host takes no
-- new nodes. Nodes are numbered within their cluster, and plans refer to
-- them by that ordinal; each records the memory and disk it was promised, so
-- placement knows what a host has left.

-- +goose Up
ALTER TABLE hosts ADD COLUMN agent_port INTEGER NOT NULL DEFAULT 0;
ALTER TABLE hosts ADD COLUMN drained INTEGER NOT NULL DEFAULT 0;
ALTER TABLE hosts ADD COLUMN data_root TEXT NOT NULL DEFAULT '';
ALTER TABLE nodes ADD COLUMN ordinal INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN memory_mb BIGINT NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN volume_gb BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX nodes_cluster_ordinal ON nodes (cluster_id, ordinal);

-- +goose Down
DROP INDEX nodes_cluster_ordinal;
ALTER TABLE nodes DROP COLUMN volume_gb;
ALTER TABLE nodes DROP COLUMN memory_mb;
ALTER TABLE nodes DROP COLUMN ordinal;
ALTER TABLE hosts DROP COLUMN data_root;
ALTER TABLE hosts DROP COLUMN drained;
ALTER TABLE hosts DROP COLUMN agent_port;
