package sqlstore

import (
	"context"
	"fmt"

	"github.com/dbplane/dbplane"
)

// insertNodes stores the placed nodes of c. The unique indexes on (host,
// port) and (cluster, host) catch a concurrent placement that took the
// same host or port.
func insertNodes(ctx context.Context, tx *Tx, c *dbplane.Cluster) error {
	for i := range c.Nodes {
		n := &c.Nodes[i]
		n.ClusterID, n.CreatedAt = c.ID, fromMicros(micros(tx.now))
		err := tx.QueryRow(ctx, `INSERT INTO nodes (cluster_id, host_id, ordinal, role, port, data_dir, status,
			memory_mb, volume_gb, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			c.ID, n.HostID, n.Ordinal, n.Role, n.Port, n.DataDir, n.Status, n.MemoryMB, n.VolumeGB, micros(tx.now)).Scan(&n.ID)
		if isUniqueViolation(err) {
			return &dbplane.Error{Kind: dbplane.KindConflict, Err: dbplane.ErrPlacementRace,
				Message: fmt.Sprintf("host %d or its port %d was taken by another cluster meanwhile", n.HostID, n.Port)}
		} else if err != nil {
			return fmt.Errorf("while inserting node %d: %w", n.Ordinal, err)
		}
	}
	return nil
}

// SetNodesStatus sets the status of every node of a cluster.
func (db *DB) SetNodesStatus(ctx context.Context, clusterID int64, status string) error {
	err := db.write(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `UPDATE nodes SET status = ? WHERE cluster_id = ?`, status, clusterID)
		return err
	})
	return dbplane.E("sqlstore.SetNodesStatus", err)
}

// DeleteNodes forgets a cluster's nodes.
func (db *DB) DeleteNodes(ctx context.Context, clusterID int64) error {
	err := db.write(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM nodes WHERE cluster_id = ?`, clusterID)
		return err
	})
	return dbplane.E("sqlstore.DeleteNodes", err)
}

// ClusterPassword returns a cluster's admin password, decrypted. A cluster
// stored without a password (by a version that allowed none) has "".
func (db *DB) ClusterPassword(ctx context.Context, id int64) (string, error) {
	var pw string
	err := db.read(ctx, func(tx *Tx) error {
		var (
			ct    []byte
			keyID string
		)
		err := tx.QueryRow(ctx, `SELECT password_ciphertext, password_key_id FROM clusters WHERE id = ?`, id).Scan(&ct, &keyID)
		if isNoRows(err) {
			return dbplane.Errorf(dbplane.KindNotFound, "cluster %d not found", id)
		} else if err != nil {
			return fmt.Errorf("while reading the cluster password: %w", err)
		}
		if keyID == "" {
			return nil
		}
		pw, err = db.open(fmt.Sprintf("the admin password of cluster %d", id), ct, keyID, clusterPasswordAAD(id))
		return err
	})
	return pw, dbplane.E("sqlstore.ClusterPassword", err)
}

// HostLoads returns every host with the ports, memory and disk promised to
// the nodes on it.
func (db *DB) HostLoads(ctx context.Context) ([]dbplane.HostLoad, error) {
	var loads []dbplane.HostLoad
	err := db.read(ctx, func(tx *Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+hostColumns+` FROM hosts ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		byID := map[int64]int{}
		for rows.Next() {
			h, err := scanHost(rows)
			if err != nil {
				return err
			}
			byID[h.ID] = len(loads)
			loads = append(loads, dbplane.HostLoad{Host: h, Ports: map[int]bool{}})
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		nrows, err := tx.Query(ctx, `SELECT host_id, port, memory_mb, volume_gb FROM nodes`)
		if err != nil {
			return err
		}
		defer nrows.Close()
		for nrows.Next() {
			var hostID, mem, vol int64
			var port int
			if err := nrows.Scan(&hostID, &port, &mem, &vol); err != nil {
				return err
			}
			if i, ok := byID[hostID]; ok {
				loads[i].Ports[port] = true
				loads[i].MemoryMB += mem
				loads[i].VolumeGB += vol
			}
		}
		return nrows.Err()
	})
	return loads, dbplane.E("sqlstore.HostLoads", err)
}
