package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
)

// FindHosts returns a page of hosts ordered by id and the number of hosts
// that match the filter.
func (db *DB) FindHosts(ctx context.Context, filter dbplane.HostFilter) ([]*dbplane.Host, int, error) {
	var (
		hs    []*dbplane.Host
		total int
	)
	err := db.read(ctx, func(tx *Tx) error {
		var err error
		hs, total, err = findHosts(ctx, tx, filter)
		return err
	})
	if err != nil {
		return nil, 0, dbplane.E("sqlstore.FindHosts", err)
	}
	return hs, total, nil
}

const hostColumns = `id, name, address, agent_port, data_root, drained, region, zone, rack, os, arch, cpus, memory_mb,
	disk_gb, status, last_seen_at, created_at, updated_at`

// FindHostByID returns a host.
func (db *DB) FindHostByID(ctx context.Context, id int64) (*dbplane.Host, error) {
	var h *dbplane.Host
	err := db.read(ctx, func(tx *Tx) error {
		var err error
		h, err = findHostByID(ctx, tx, id)
		return err
	})
	return h, dbplane.E("sqlstore.FindHostByID", err)
}

func findHostByID(ctx context.Context, tx *Tx, id int64) (*dbplane.Host, error) {
	h, err := scanHost(tx.QueryRow(ctx, `SELECT `+hostColumns+` FROM hosts WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "host %d not found", id)
	}
	return h, err
}

func findHosts(ctx context.Context, tx *Tx, filter dbplane.HostFilter) ([]*dbplane.Host, int, error) {
	offset, limit := max(filter.Offset, 0), pageLimit(filter.Limit)
	var where whereClause
	if filter.Status != nil {
		where.add("status = ?", *filter.Status)
	}
	if filter.Zone != nil {
		where.add("zone = ?", *filter.Zone)
	}

	var total int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM hosts`+where.sql(), where.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("while counting hosts: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT `+hostColumns+` FROM hosts`+where.sql()+` ORDER BY id LIMIT ? OFFSET ?`,
		append(where.args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("while listing hosts: %w", err)
	}
	defer rows.Close()
	hs := make([]*dbplane.Host, 0, min(limit, total))
	for rows.Next() {
		h, err := scanHost(rows)
		if err != nil {
			return nil, 0, err
		}
		hs = append(hs, h)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("while listing hosts: %w", err)
	}
	return hs, total, nil
}

// scanHost reads a row of hostColumns from a *sql.Row or *sql.Rows.
func scanHost(s interface{ Scan(...any) error }) (*dbplane.Host, error) {
	var (
		h                dbplane.Host
		lastSeen         sql.NullInt64
		created, updated int64
		drained          int
	)
	err := s.Scan(&h.ID, &h.Name, &h.Address, &h.AgentPort, &h.DataRoot, &drained, &h.Region, &h.Zone, &h.Rack, &h.OS, &h.Arch,
		&h.CPUs, &h.MemoryMB, &h.DiskGB, &h.Status, &lastSeen, &created, &updated)
	if err != nil {
		return nil, fmt.Errorf("while reading a host: %w", err)
	}
	h.Drained = drained != 0
	h.LastSeenAt = nullMicros(lastSeen)
	h.CreatedAt, h.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &h, nil
}

// DeleteHost removes a host, refusing while nodes are placed on it: their
// clusters would lose a member the control plane can no longer reach.
func (db *DB) DeleteHost(ctx context.Context, id int64) error {
	err := db.write(ctx, func(tx *Tx) error { return deleteHost(ctx, tx, id) })
	return dbplane.E("sqlstore.DeleteHost", err)
}

// deleteHost is DeleteHost in tx.
func deleteHost(ctx context.Context, tx *Tx, id int64) error {
	if _, err := findHostByID(ctx, tx, id); err != nil {
		return err
	}
	var nodes int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM nodes WHERE host_id = ?`, id).Scan(&nodes); err != nil {
		return fmt.Errorf("while counting the host's nodes: %w", err)
	}
	if nodes > 0 {
		return dbplane.Errorf(dbplane.KindConflict, "host %d carries %d node(s): delete their clusters first", id, nodes)
	}
	_, err := tx.Exec(ctx, `DELETE FROM hosts WHERE id = ?`, id)
	if isForeignKeyViolation(err) {
		// Something other than a node still refers to the host.
		return &dbplane.Error{Kind: dbplane.KindConflict, Message: fmt.Sprintf("host %d is still in use", id), Err: err}
	} else if err != nil {
		return fmt.Errorf("while deleting the host: %w", err)
	}
	return nil
}

func isForeignKeyViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "FOREIGN KEY constraint failed") || strings.Contains(msg, "SQLSTATE 23503")
}

// SetHostDrained sets whether a host takes new nodes and returns it.
func (db *DB) SetHostDrained(ctx context.Context, id int64, drained bool) (*dbplane.Host, error) {
	var h *dbplane.Host
	err := db.write(ctx, func(tx *Tx) error {
		flag := 0
		if drained {
			flag = 1
		}
		// updated_at moves only when the flag does, so draining twice
		// changes nothing.
		res, err := tx.Exec(ctx, `
			UPDATE hosts SET updated_at = CASE WHEN drained <> ? THEN ? ELSE updated_at END, drained = ?
			WHERE id = ?`,
			flag, micros(tx.now), flag, id)
		if err != nil {
			return fmt.Errorf("while draining the host: %w", err)
		}
		if err := hostUpdated(res, id); err != nil {
			return err
		}
		h, err = findHostByID(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, dbplane.E("sqlstore.SetHostDrained", err)
	}
	return h, nil
}

// SetHostOnline records a successful health check. updated_at moves only
// when the status or a fact changes, not at every check, so it keeps
// meaning "the record changed".
func (db *DB) SetHostOnline(ctx context.Context, id int64, f dbplane.HostFacts, seen time.Time) error {
	err := db.write(ctx, func(tx *Tx) error {
		res, err := tx.Exec(ctx, `
			UPDATE hosts SET
				updated_at = CASE WHEN status NOT IN (?, ?) OR os <> ? OR arch <> ? OR cpus <> ? OR memory_mb <> ?
					OR disk_gb <> ? THEN ? ELSE updated_at END,
				status = CASE WHEN status = ? THEN status ELSE ? END,
				last_seen_at = ?, os = ?, arch = ?, cpus = ?, memory_mb = ?, disk_gb = ?
			WHERE id = ?`,
			string(dbplane.HostOnline), string(dbplane.HostDeleting), f.OS, f.Arch, f.CPUs, f.MemoryMB, f.DiskGB,
			micros(tx.now),
			string(dbplane.HostDeleting), string(dbplane.HostOnline),
			micros(seen), f.OS, f.Arch, f.CPUs, f.MemoryMB, f.DiskGB,
			id)
		if err != nil {
			return fmt.Errorf("while recording the host's health: %w", err)
		}
		return hostUpdated(res, id)
	})
	return dbplane.E("sqlstore.SetHostOnline", err)
}

// SetHostOffline marks an ONLINE host last seen before seenBefore OFFLINE.
// The condition is checked in the update itself, so a success recorded by
// another control plane in the meantime is not overridden.
func (db *DB) SetHostOffline(ctx context.Context, id int64, seenBefore time.Time) (bool, error) {
	var changed bool
	err := db.write(ctx, func(tx *Tx) error {
		res, err := tx.Exec(ctx, `
			UPDATE hosts SET status = ?, updated_at = ?
			WHERE id = ? AND status = ? AND (last_seen_at IS NULL OR last_seen_at < ?)`,
			string(dbplane.HostOffline), micros(tx.now), id, string(dbplane.HostOnline), micros(seenBefore))
		if err != nil {
			return fmt.Errorf("while marking the host offline: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("while marking the host offline: %w", err)
		}
		changed = n > 0
		return nil
	})
	return changed, dbplane.E("sqlstore.SetHostOffline", err)
}

// hostUpdated turns an update of no row into KindNotFound for host id.
func hostUpdated(res sql.Result, id int64) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("while updating host %d: %w", id, err)
	}
	if n == 0 {
		return dbplane.Errorf(dbplane.KindNotFound, "host %d not found", id)
	}
	return nil
}
