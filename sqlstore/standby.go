package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/dbplane/dbplane"
)

// insertStandby records that c replicates from the cluster its spec names,
// in the transaction that creates c; the row goes with c (ON DELETE
// CASCADE).
func insertStandby(ctx context.Context, tx *Tx, c *dbplane.Cluster) error {
	if c.Spec.StandbyOf == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO cluster_replication (cluster_id, source_id) VALUES (?, ?)`,
		c.ID, c.Spec.StandbyOf); err != nil {
		return fmt.Errorf("while recording the standby's source: %w", err)
	}
	return nil
}

// attachReplication fills in the replication status of the standbys among
// cs, and the standbys of every cluster of cs, in one query.
func attachReplication(ctx context.Context, tx *Tx, cs []*dbplane.Cluster) error {
	if len(cs) == 0 {
		return nil
	}
	byID := make(map[int64]*dbplane.Cluster, len(cs))
	args := make([]any, 0, 2*len(cs))
	for _, c := range cs {
		byID[c.ID] = c
		args = append(args, c.ID)
	}
	args = append(args, args...)
	in := placeholders(len(cs))
	rows, err := tx.Query(ctx, `
		SELECT r.cluster_id, COALESCE(sc.name, ''), r.source_id, COALESCE(src.name, ''), r.state,
			r.io_running, r.sql_running, r.lag_seconds, r.position, r.last_error, r.checked_at
		FROM cluster_replication r
			LEFT JOIN clusters sc ON sc.id = r.cluster_id
			LEFT JOIN clusters src ON src.id = r.source_id
		WHERE r.cluster_id IN (`+in+`) OR r.source_id IN (`+in+`)
		ORDER BY r.cluster_id`, args...)
	if err != nil {
		return fmt.Errorf("while reading replication: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			st             dbplane.ReplicationStatus
			standby        dbplane.ClusterRef
			io, sqlRunning int
			lag, checked   sql.NullInt64
		)
		if err := rows.Scan(&standby.ID, &standby.Name, &st.Source.ID, &st.Source.Name, &st.State,
			&io, &sqlRunning, &lag, &st.Position, &st.LastError, &checked); err != nil {
			return fmt.Errorf("while reading replication: %w", err)
		}
		st.IORunning, st.SQLRunning = io != 0, sqlRunning != 0
		if lag.Valid {
			st.LagSeconds = &lag.Int64
		}
		st.CheckedAt = nullMicros(checked)
		if c := byID[standby.ID]; c != nil {
			c.Replication = &st
		}
		if c := byID[st.Source.ID]; c != nil {
			c.Standbys = append(c.Standbys, standby)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("while reading replication: %w", err)
	}
	return nil
}

// SetReplicationStatus records what the standby monitor found of a
// standby's replication. A status of ReplicationUnknown keeps the last
// answer's threads, lag and position and only changes the state: a standby
// that cannot be asked is not known to have stopped. KindNotFound if the
// cluster is not a standby (or is gone).
func (db *DB) SetReplicationStatus(ctx context.Context, clusterID int64, st dbplane.ReplicationStatus) error {
	err := db.write(ctx, func(tx *Tx) error {
		var (
			res sql.Result
			err error
		)
		if st.State == dbplane.ReplicationUnknown {
			res, err = tx.Exec(ctx, `UPDATE cluster_replication SET state = ?, last_error = ? WHERE cluster_id = ?`,
				st.State, st.LastError, clusterID)
		} else {
			var lag, checked sql.NullInt64
			if st.LagSeconds != nil {
				lag = sql.NullInt64{Int64: *st.LagSeconds, Valid: true}
			}
			if st.CheckedAt != nil {
				checked = sql.NullInt64{Int64: micros(*st.CheckedAt), Valid: true}
			}
			res, err = tx.Exec(ctx, `
				UPDATE cluster_replication SET state = ?, io_running = ?, sql_running = ?, lag_seconds = ?,
					position = ?, last_error = ?, checked_at = ?
				WHERE cluster_id = ?`,
				st.State, boolInt(st.IORunning), boolInt(st.SQLRunning), lag, st.Position, st.LastError, checked, clusterID)
		}
		if err != nil {
			return fmt.Errorf("while recording replication: %w", err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return dbplane.Errorf(dbplane.KindNotFound, "cluster %d is not a standby", clusterID)
		}
		return nil
	})
	if err != nil {
		return dbplane.E("sqlstore.SetReplicationStatus", err)
	}
	return nil
}
