package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/dbplane/dbplane"
)

// CreateAccessKey stores k with its secret, encrypted and bound to k.ID,
// and sets k.CreatedAt. KindConflict if the id is taken; KindNotFound if
// the user is missing.
func (db *DB) CreateAccessKey(ctx context.Context, k *dbplane.AccessKey, secret string) error {
	err := db.write(ctx, func(tx *Tx) error {
		if err := db.lockUserKeys(ctx, tx, k.UserID); err != nil {
			return err
		}
		ct, keyID, err := db.seal("access-key secrets", secret, accessKeyAAD(k.ID))
		if err != nil {
			return err
		}
		k.CreatedAt, k.LastUsedAt = fromMicros(micros(tx.now)), nil
		_, err = tx.Exec(ctx, `INSERT INTO access_keys (id, user_id, description, secret_ciphertext, secret_key_id,
			created_at) VALUES (?, ?, ?, ?, ?, ?)`, k.ID, k.UserID, k.Description, ct, keyID, micros(k.CreatedAt))
		if isUniqueViolation(err) {
			return dbplane.Errorf(dbplane.KindConflict, "access key %s already exists", k.ID)
		} else if err != nil {
			return fmt.Errorf("while inserting the access key: %w", err)
		}
		return nil
	})
	return dbplane.E("sqlstore.CreateAccessKey", err)
}

// lockUserKeys locks the user's row (on PostgreSQL; SQLite has one writer)
// so that concurrent creates count each other's keys, and refuses a user
// who has dbplane.MaxAccessKeys already.
func (db *DB) lockUserKeys(ctx context.Context, tx *Tx, userID int64) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = ?`+db.forUpdate(), userID).Scan(&one)
	if isNoRows(err) {
		return dbplane.Errorf(dbplane.KindNotFound, "user %d not found", userID)
	} else if err != nil {
		return fmt.Errorf("while locking the user: %w", err)
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM access_keys WHERE user_id = ?`, userID).Scan(&n); err != nil {
		return fmt.Errorf("while counting the user's access keys: %w", err)
	}
	if n >= dbplane.MaxAccessKeys {
		e := dbplane.Errorf(dbplane.KindConflict,
			"user %d already has %d access keys, the most allowed; delete one first", userID, n)
		e.Err = dbplane.ErrAccessKeyLimit
		return e
	}
	return nil
}

// FindAccessKey returns an access key and its decrypted secret.
// KindNotFound if missing.
func (db *DB) FindAccessKey(ctx context.Context, id string) (*dbplane.AccessKey, string, error) {
	var (
		k      *dbplane.AccessKey
		secret string
	)
	err := db.read(ctx, func(tx *Tx) error {
		var (
			ct    []byte
			keyID string
			err   error
		)
		k, err = scanAccessKey(tx.QueryRow(ctx, `SELECT `+accessKeyColumns+`, secret_ciphertext, secret_key_id
			FROM access_keys WHERE id = ?`, id), &ct, &keyID)
		if isNoRows(err) {
			return dbplane.Errorf(dbplane.KindNotFound, "access key %s not found", id)
		} else if err != nil {
			return err
		}
		secret, err = db.open("the secret of access key "+id, ct, keyID, accessKeyAAD(id))
		return err
	})
	if err != nil {
		return nil, "", dbplane.E("sqlstore.FindAccessKey", err)
	}
	return k, secret, nil
}

// FindAccessKeys returns a user's access keys without secrets, oldest
// first.
func (db *DB) FindAccessKeys(ctx context.Context, userID int64) ([]*dbplane.AccessKey, error) {
	keys := []*dbplane.AccessKey{}
	err := db.read(ctx, func(tx *Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+accessKeyColumns+` FROM access_keys WHERE user_id = ?
			ORDER BY created_at, id`, userID)
		if err != nil {
			return fmt.Errorf("while listing access keys: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			k, err := scanAccessKey(rows)
			if err != nil {
				return err
			}
			keys = append(keys, k)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, dbplane.E("sqlstore.FindAccessKeys", err)
	}
	return keys, nil
}

// DeleteAccessKey removes an access key. KindNotFound if missing.
func (db *DB) DeleteAccessKey(ctx context.Context, id string) error {
	err := db.write(ctx, func(tx *Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM access_keys WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("while deleting the access key: %w", err)
		}
		return mustAffect(res, "access key %s not found", id)
	})
	return dbplane.E("sqlstore.DeleteAccessKey", err)
}

// TouchAccessKey records that a key was used at now. KindNotFound if
// missing.
func (db *DB) TouchAccessKey(ctx context.Context, id string, now time.Time) error {
	err := db.write(ctx, func(tx *Tx) error {
		res, err := tx.Exec(ctx, `UPDATE access_keys SET last_used_at = ? WHERE id = ?`, micros(now), id)
		if err != nil {
			return fmt.Errorf("while recording the use of the access key: %w", err)
		}
		return mustAffect(res, "access key %s not found", id)
	})
	return dbplane.E("sqlstore.TouchAccessKey", err)
}

const accessKeyColumns = `id, user_id, description, created_at, last_used_at`

// scanAccessKey reads a row of accessKeyColumns followed by the columns of
// extra.
func scanAccessKey(s interface{ Scan(...any) error }, extra ...any) (*dbplane.AccessKey, error) {
	var (
		k       dbplane.AccessKey
		created int64
		used    sql.NullInt64
	)
	if err := s.Scan(append([]any{&k.ID, &k.UserID, &k.Description, &created, &used}, extra...)...); err != nil {
		if isNoRows(err) {
			return nil, err
		}
		return nil, fmt.Errorf("while reading an access key: %w", err)
	}
	k.CreatedAt, k.LastUsedAt = fromMicros(created), nullMicros(used)
	return &k, nil
}
