-- Hosts are reached at address:agent_port over mTLS; a drained host takes no
-- new nodes. Nodes are numbered within their cluster, and plans refer to
-- them by that ordinal.

-- +goose Up
ALTER TABLE hosts ADD COLUMN agent_port INTEGER NOT NULL DEFAULT 0;
ALTER TABLE hosts ADD COLUMN drained INTEGER NOT NULL DEFAULT 0;
ALTER TABLE hosts ADD COLUMN data_root TEXT NOT NULL DEFAULT '';
ALTER TABLE nodes ADD COLUMN ordinal INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX nodes_cluster_ordinal ON nodes (cluster_id, ordinal);

-- +goose Down
DROP INDEX nodes_cluster_ordinal;
ALTER TABLE nodes DROP COLUMN ordinal;
ALTER TABLE hosts DROP COLUMN data_root;
ALTER TABLE hosts DROP COLUMN drained;
ALTER TABLE hosts DROP COLUMN agent_port;
