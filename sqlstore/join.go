package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/pki"
)

var _ pki.CAStore = (*DB)(nil)

// CreateJoinToken stores t by the hash of its secret and sets t.ID and
// t.CreatedAt; the secret itself is never stored.
func (db *DB) CreateJoinToken(ctx context.Context, t *dbplane.JoinToken, secretHash string) error {
	err := db.write(ctx, func(tx *Tx) error {
		t.CreatedAt = fromMicros(micros(tx.now))
		t.ExpiresAt = fromMicros(micros(t.ExpiresAt))
		err := tx.QueryRow(ctx, `
			INSERT INTO join_tokens (secret_hash, creator, expires_at, created_at) VALUES (?, ?, ?, ?)
			RETURNING id`,
			secretHash, t.Creator, micros(t.ExpiresAt), micros(t.CreatedAt),
		).Scan(&t.ID)
		if err != nil {
			return fmt.Errorf("while inserting the join token: %w", err)
		}
		return nil
	})
	return dbplane.E("sqlstore.CreateJoinToken", err)
}

// JoinHost consumes a join token and registers h in one transaction, so a
// host exists exactly when its token is spent. The token is consumed by a
// conditional update: of concurrent joins with one token, the first to
// update wins and the others find it used (PostgreSQL re-checks the
// condition after the winner commits; SQLite has one writer).
func (db *DB) JoinHost(ctx context.Context, secretHash string, now time.Time, h *dbplane.Host) error {
	err := db.write(ctx, func(tx *Tx) error {
		tokenID, err := consumeJoinToken(ctx, tx, secretHash, now)
		if err != nil {
			return err
		}
		if err := upsertHost(ctx, tx, h); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE join_tokens SET host_id = ? WHERE id = ?`, h.ID, tokenID); err != nil {
			return fmt.Errorf("while recording the host of the join token: %w", err)
		}
		stored, err := findHostByID(ctx, tx, h.ID)
		if err != nil {
			return err
		}
		*h = *stored
		return nil
	})
	return dbplane.E("sqlstore.JoinHost", err)
}

// consumeJoinToken marks a usable token used and returns its id, or says
// why the token cannot be used. Telling the three cases apart helps the
// operator and helps no attacker: tokens are 256-bit random secrets.
func consumeJoinToken(ctx context.Context, tx *Tx, secretHash string, now time.Time) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `
		UPDATE join_tokens SET used_at = ?
		WHERE secret_hash = ? AND used_at IS NULL AND expires_at > ?
		RETURNING id`,
		micros(tx.now), secretHash, micros(now),
	).Scan(&id)
	if err == nil {
		return id, nil
	} else if !isNoRows(err) {
		return 0, fmt.Errorf("while consuming the join token: %w", err)
	}
	var used sql.NullInt64
	err = tx.QueryRow(ctx, `SELECT used_at FROM join_tokens WHERE secret_hash = ?`, secretHash).Scan(&used)
	switch {
	case isNoRows(err):
		return 0, dbplane.Errorf(dbplane.KindUnauthorized, "unknown join token")
	case err != nil:
		return 0, fmt.Errorf("while reading the join token: %w", err)
	case used.Valid:
		return 0, dbplane.Errorf(dbplane.KindUnauthorized, "join token already used: create a new one")
	default:
		return 0, dbplane.Errorf(dbplane.KindUnauthorized, "join token expired: create a new one")
	}
}

// upsertHost inserts h as a NEW host, or updates the host of the same
// address (an agent that joins again, for instance after losing its state
// directory, or the first agent of a host registered by address) keeping
// its id, drained flag and creation time, and the zone and region of the
// IDC an administrator put it in. It sets h.ID.
func upsertHost(ctx context.Context, tx *Tx, h *dbplane.Host) error {
	const inIDC = `EXISTS (SELECT 1 FROM host_inventory i WHERE i.host_id = hosts.id AND i.idc_id IS NOT NULL)`
	now := micros(tx.now)
	err := tx.QueryRow(ctx, `
		INSERT INTO hosts (name, address, agent_port, data_root, region, zone, rack, os, arch, cpus, memory_mb,
			disk_gb, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (address) DO UPDATE SET
			name = excluded.name, agent_port = excluded.agent_port, data_root = excluded.data_root,
			region = CASE WHEN `+inIDC+` THEN hosts.region ELSE excluded.region END,
			zone = CASE WHEN `+inIDC+` THEN hosts.zone ELSE excluded.zone END,
			rack = excluded.rack, os = excluded.os,
			arch = excluded.arch, cpus = excluded.cpus, memory_mb = excluded.memory_mb, disk_gb = excluded.disk_gb,
			status = excluded.status, updated_at = excluded.updated_at
		RETURNING id`,
		h.Name, h.Address, h.AgentPort, h.DataRoot, h.Region, h.Zone, h.Rack, h.OS, h.Arch, h.CPUs, h.MemoryMB,
		h.DiskGB, string(dbplane.HostNew), now, now,
	).Scan(&h.ID)
	if err != nil {
		return fmt.Errorf("while registering the host: %w", err)
	}
	return nil
}

// LoadCA returns the stored CA. KindNotFound if there is none yet.
func (db *DB) LoadCA(ctx context.Context) (*pki.StoredCA, error) {
	var (
		st      pki.StoredCA
		created int64
	)
	err := db.read(ctx, func(tx *Tx) error {
		err := tx.QueryRow(ctx, `SELECT cert_pem, key_ciphertext, key_id, created_at FROM ca WHERE id = 1`).
			Scan(&st.CertPEM, &st.KeyCiphertext, &st.KeyID, &created)
		if isNoRows(err) {
			return dbplane.Errorf(dbplane.KindNotFound, "no CA is stored")
		} else if err != nil {
			return fmt.Errorf("while reading the CA: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, dbplane.E("sqlstore.LoadCA", err)
	}
	st.CreatedAt = fromMicros(created)
	return &st, nil
}

// CreateCA stores the CA. KindConflict if one is stored already: the CA
// table has one row, so control planes racing to create it agree on one.
func (db *DB) CreateCA(ctx context.Context, ca *pki.StoredCA) error {
	err := db.write(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO ca (id, cert_pem, key_ciphertext, key_id, created_at) VALUES (1, ?, ?, ?, ?)`,
			ca.CertPEM, ca.KeyCiphertext, ca.KeyID, micros(ca.CreatedAt))
		if isUniqueViolation(err) {
			return dbplane.Errorf(dbplane.KindConflict, "a CA is stored already")
		} else if err != nil {
			return fmt.Errorf("while storing the CA: %w", err)
		}
		return nil
	})
	return dbplane.E("sqlstore.CreateCA", err)
}
