package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/dbplane/dbplane"
)

// CreateUser inserts u with a password hash and sets u.ID and u.CreatedAt.
// KindConflict if the name is taken.
func (db *DB) CreateUser(ctx context.Context, u *dbplane.User, passwordHash string) error {
	err := db.write(ctx, func(tx *Tx) error {
		return insertUser(ctx, tx, u, passwordHash)
	})
	return dbplane.E("sqlstore.CreateUser", err)
}

// FindUserByName returns a user and its password hash. KindNotFound if
// missing.
func (db *DB) FindUserByName(ctx context.Context, name string) (*dbplane.User, string, error) {
	var (
		u    *dbplane.User
		hash string
	)
	err := db.read(ctx, func(tx *Tx) error {
		var err error
		u, hash, err = findUserByName(ctx, tx, name)
		return err
	})
	if err != nil {
		return nil, "", dbplane.E("sqlstore.FindUserByName", err)
	}
	return u, hash, nil
}

// SetUserPassword replaces a user's password hash. KindNotFound if the user
// is missing.
func (db *DB) SetUserPassword(ctx context.Context, userID int64, passwordHash string) error {
	err := db.write(ctx, func(tx *Tx) error {
		res, err := tx.Exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, passwordHash, userID)
		if err != nil {
			return fmt.Errorf("while updating the password: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("while updating the password: %w", err)
		} else if n == 0 {
			return dbplane.Errorf(dbplane.KindNotFound, "user %d not found", userID)
		}
		return nil
	})
	return dbplane.E("sqlstore.SetUserPassword", err)
}

// CreateToken stores t by the hash of its secret and sets t.ID and
// t.CreatedAt; the secret itself is never stored. KindNotFound if the user
// is missing.
func (db *DB) CreateToken(ctx context.Context, t *dbplane.Token, secretHash string) error {
	err := db.write(ctx, func(tx *Tx) error {
		return insertToken(ctx, tx, t, secretHash)
	})
	return dbplane.E("sqlstore.CreateToken", err)
}

// FindUserByToken returns the user of a token that exists, is not revoked
// and expires after now. KindUnauthorized otherwise, without saying which:
// callers only need to refuse the request.
func (db *DB) FindUserByToken(ctx context.Context, secretHash string, now time.Time) (*dbplane.User, error) {
	var u *dbplane.User
	err := db.read(ctx, func(tx *Tx) error {
		var err error
		u, err = findUserByToken(ctx, tx, secretHash, now)
		return err
	})
	if err != nil {
		return nil, dbplane.E("sqlstore.FindUserByToken", err)
	}
	return u, nil
}

// insertUser inserts u. A taken name is KindConflict; the driver's error is
// dropped from it because mapErr would otherwise replace the message.
func insertUser(ctx context.Context, tx *Tx, u *dbplane.User, passwordHash string) error {
	u.CreatedAt = fromMicros(micros(tx.now))
	err := tx.QueryRow(ctx, `
		INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)
		RETURNING id`,
		u.Name, u.Role, passwordHash, micros(u.CreatedAt),
	).Scan(&u.ID)
	if isUniqueViolation(err) {
		return dbplane.Errorf(dbplane.KindConflict, "user name %q already exists", u.Name)
	} else if err != nil {
		return fmt.Errorf("while inserting the user: %w", err)
	}
	return nil
}

func findUserByName(ctx context.Context, tx *Tx, name string) (*dbplane.User, string, error) {
	var (
		u       dbplane.User
		hash    string
		created int64
	)
	err := tx.QueryRow(ctx, `SELECT id, name, role, password_hash, created_at FROM users WHERE name = ?`, name).
		Scan(&u.ID, &u.Name, &u.Role, &hash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", dbplane.Errorf(dbplane.KindNotFound, "user %q not found", name)
	} else if err != nil {
		return nil, "", fmt.Errorf("while reading the user: %w", err)
	}
	u.CreatedAt = fromMicros(created)
	return &u, hash, nil
}

// insertToken inserts t after checking that its user exists, so that a
// missing user is KindNotFound rather than a foreign key failure.
func insertToken(ctx context.Context, tx *Tx, t *dbplane.Token, secretHash string) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = ?`, t.UserID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return dbplane.Errorf(dbplane.KindNotFound, "user %d not found", t.UserID)
	} else if err != nil {
		return fmt.Errorf("while reading the user: %w", err)
	}
	t.CreatedAt = fromMicros(micros(tx.now))
	t.ExpiresAt = fromMicros(micros(t.ExpiresAt))
	err = tx.QueryRow(ctx, `
		INSERT INTO tokens (user_id, secret_hash, expires_at, created_at) VALUES (?, ?, ?, ?)
		RETURNING id`,
		t.UserID, secretHash, micros(t.ExpiresAt), micros(t.CreatedAt),
	).Scan(&t.ID)
	if err != nil {
		return fmt.Errorf("while inserting the token: %w", err)
	}
	return nil
}

func findUserByToken(ctx context.Context, tx *Tx, secretHash string, now time.Time) (*dbplane.User, error) {
	var (
		u       dbplane.User
		created int64
	)
	err := tx.QueryRow(ctx, `
		SELECT u.id, u.name, u.role, u.created_at
		FROM tokens t JOIN users u ON u.id = t.user_id
		WHERE t.secret_hash = ? AND t.revoked_at IS NULL AND t.expires_at > ?`,
		secretHash, micros(now),
	).Scan(&u.ID, &u.Name, &u.Role, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, dbplane.Errorf(dbplane.KindUnauthorized, "invalid or expired token")
	} else if err != nil {
		return nil, fmt.Errorf("while reading the token: %w", err)
	}
	u.CreatedAt = fromMicros(created)
	return &u, nil
}
