package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/dbplane/dbplane"
)

// CreateToken stores t by the hash of its secret and sets t.ID and
// t.CreatedAt; the secret itself is never stored. KindNotFound if the user
// is missing.
func (db *DB) CreateToken(ctx context.Context, t *dbplane.Token, secretHash string) error {
	err := db.write(ctx, func(tx *Tx) error {
		return insertToken(ctx, tx, t, secretHash)
	})
	return dbplane.E("sqlstore.CreateToken", err)
}

// FindUserByToken returns the user and the id of a token that exists, is
// not revoked and expires after now. KindUnauthorized otherwise, without
// saying which: callers only need to refuse the request.
func (db *DB) FindUserByToken(ctx context.Context, secretHash string, now time.Time) (*dbplane.User, int64, error) {
	var (
		u       *dbplane.User
		tokenID int64
	)
	err := db.read(ctx, func(tx *Tx) error {
		var userID int64
		err := tx.QueryRow(ctx, `SELECT id, user_id FROM tokens
			WHERE secret_hash = ? AND revoked_at IS NULL AND expires_at > ?`,
			secretHash, micros(now)).Scan(&tokenID, &userID)
		if isNoRows(err) {
			return dbplane.Errorf(dbplane.KindUnauthorized, "invalid, expired or revoked token")
		} else if err != nil {
			return fmt.Errorf("while reading the token: %w", err)
		}
		u, err = findUserByID(ctx, tx, userID)
		return err
	})
	if err != nil {
		return nil, 0, dbplane.E("sqlstore.FindUserByToken", err)
	}
	return u, tokenID, nil
}

// FindToken returns a token without its secret. KindNotFound if missing.
func (db *DB) FindToken(ctx context.Context, id int64) (*dbplane.Token, error) {
	var t *dbplane.Token
	err := db.read(ctx, func(tx *Tx) error {
		var err error
		t, err = scanToken(tx.QueryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = ?`, id))
		if isNoRows(err) {
			return dbplane.Errorf(dbplane.KindNotFound, "token %d not found", id)
		}
		return err
	})
	if err != nil {
		return nil, dbplane.E("sqlstore.FindToken", err)
	}
	return t, nil
}

// FindTokens returns a user's tokens that are unexpired at now, revoked or
// not, oldest first.
func (db *DB) FindTokens(ctx context.Context, userID int64, now time.Time) ([]*dbplane.Token, error) {
	tokens := []*dbplane.Token{}
	err := db.read(ctx, func(tx *Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE user_id = ? AND expires_at > ? ORDER BY id`,
			userID, micros(now))
		if err != nil {
			return fmt.Errorf("while listing tokens: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanToken(rows)
			if err != nil {
				return err
			}
			tokens = append(tokens, t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, dbplane.E("sqlstore.FindTokens", err)
	}
	return tokens, nil
}

// RevokeToken revokes a token at now; revoking it again keeps the first
// time. KindNotFound if missing.
func (db *DB) RevokeToken(ctx context.Context, id int64, now time.Time) error {
	err := db.write(ctx, func(tx *Tx) error {
		res, err := tx.Exec(ctx, `UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, micros(now), id)
		if err != nil {
			return fmt.Errorf("while revoking the token: %w", err)
		}
		return mustAffect(res, "token %d not found", id)
	})
	return dbplane.E("sqlstore.RevokeToken", err)
}

const tokenColumns = `id, user_id, expires_at, revoked_at, created_at`

func scanToken(s interface{ Scan(...any) error }) (*dbplane.Token, error) {
	var (
		t                dbplane.Token
		expires, created int64
		revoked          sql.NullInt64
	)
	if err := s.Scan(&t.ID, &t.UserID, &expires, &revoked, &created); err != nil {
		if isNoRows(err) {
			return nil, err
		}
		return nil, fmt.Errorf("while reading a token: %w", err)
	}
	t.ExpiresAt, t.RevokedAt, t.CreatedAt = fromMicros(expires), nullMicros(revoked), fromMicros(created)
	return &t, nil
}

// insertToken inserts t after checking that its user exists, so that a
// missing user is KindNotFound rather than a foreign key failure.
func insertToken(ctx context.Context, tx *Tx, t *dbplane.Token, secretHash string) error {
	if err := userExists(ctx, tx, t.UserID); err != nil {
		return err
	}
	t.CreatedAt = fromMicros(micros(tx.now))
	t.ExpiresAt = fromMicros(micros(t.ExpiresAt))
	t.RevokedAt = nil
	err := tx.QueryRow(ctx, `
		INSERT INTO tokens (user_id, secret_hash, expires_at, created_at) VALUES (?, ?, ?, ?)
		RETURNING id`,
		t.UserID, secretHash, micros(t.ExpiresAt), micros(t.CreatedAt),
	).Scan(&t.ID)
	if err != nil {
		return fmt.Errorf("while inserting the token: %w", err)
	}
	return nil
}

// userExists returns KindNotFound if user id is missing.
func userExists(ctx context.Context, tx *Tx, id int64) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = ?`, id).Scan(&one)
	if isNoRows(err) {
		return dbplane.Errorf(dbplane.KindNotFound, "user %d not found", id)
	} else if err != nil {
		return fmt.Errorf("while reading the user: %w", err)
	}
	return nil
}
