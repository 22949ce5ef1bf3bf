package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

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
