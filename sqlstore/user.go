package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/dbplane/dbplane"
)

// CreateUser inserts u with a password hash and its bindings, in one
// transaction, and sets u.ID and u.CreatedAt. KindConflict if the name is
// taken; KindNotFound if a binding's project is missing.
func (db *DB) CreateUser(ctx context.Context, u *dbplane.User, passwordHash string) error {
	err := db.write(ctx, func(tx *Tx) error {
		if err := insertUser(ctx, tx, u, passwordHash); err != nil {
			return err
		}
		for i := range u.Bindings {
			b := &u.Bindings[i]
			b.UserID = u.ID
			if err := upsertBinding(ctx, tx, b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		u.ID = 0 // the insert rolled back
	}
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
		if u, hash, err = findUser(ctx, tx, `name = ?`, name); isNoRows(err) {
			return dbplane.Errorf(dbplane.KindNotFound, "user %q not found", name)
		}
		return err
	})
	if err != nil {
		return nil, "", dbplane.E("sqlstore.FindUserByName", err)
	}
	return u, hash, nil
}

// FindUserByID returns a user. KindNotFound if missing.
func (db *DB) FindUserByID(ctx context.Context, id int64) (*dbplane.User, error) {
	var u *dbplane.User
	err := db.read(ctx, func(tx *Tx) error {
		var err error
		u, err = findUserByID(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, dbplane.E("sqlstore.FindUserByID", err)
	}
	return u, nil
}

// FindUsers returns a page of users ordered by id, with their bindings,
// and the number that match the filter.
func (db *DB) FindUsers(ctx context.Context, filter dbplane.UserFilter) ([]*dbplane.User, int, error) {
	var (
		users []*dbplane.User
		total int
	)
	err := db.read(ctx, func(tx *Tx) error {
		var where whereClause
		if filter.Name != nil {
			where.add("name = ?", *filter.Name)
		}
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM users`+where.sql(), where.args...).Scan(&total); err != nil {
			return fmt.Errorf("while counting users: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT id, name, password_hash, created_at FROM users`+where.sql()+
			` ORDER BY id LIMIT ? OFFSET ?`, append(where.args, pageLimit(filter.Limit), max(filter.Offset, 0))...)
		if err != nil {
			return fmt.Errorf("while listing users: %w", err)
		}
		defer rows.Close()
		users = []*dbplane.User{}
		for rows.Next() {
			u, _, err := scanUser(rows)
			if err != nil {
				return err
			}
			users = append(users, u)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("while listing users: %w", err)
		}
		rows.Close()
		return attachBindings(ctx, tx, users)
	})
	if err != nil {
		return nil, 0, dbplane.E("sqlstore.FindUsers", err)
	}
	return users, total, nil
}

// SetUserPassword replaces a user's password hash and revokes its tokens
// at now, in one transaction: a changed password logs out every session.
// KindNotFound if the user is missing.
func (db *DB) SetUserPassword(ctx context.Context, userID int64, passwordHash string, now time.Time) error {
	err := db.write(ctx, func(tx *Tx) error {
		res, err := tx.Exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, passwordHash, userID)
		if err != nil {
			return fmt.Errorf("while updating the password: %w", err)
		}
		if err := mustAffect(res, "user %d not found", userID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`,
			micros(now), userID); err != nil {
			return fmt.Errorf("while revoking the user's tokens: %w", err)
		}
		return nil
	})
	return dbplane.E("sqlstore.SetUserPassword", err)
}

// DeleteUser removes a user; its bindings, tokens and access keys go with
// it by cascade. KindNotFound if missing; KindConflict (ErrLastAdmin) if
// it is the last global admin.
func (db *DB) DeleteUser(ctx context.Context, id int64) error {
	err := db.write(ctx, func(tx *Tx) error {
		return db.keepingAnAdmin(ctx, tx, "delete the last global admin", func() error {
			res, err := tx.Exec(ctx, `DELETE FROM users WHERE id = ?`, id)
			if err != nil {
				return fmt.Errorf("while deleting the user: %w", err)
			}
			return mustAffect(res, "user %d not found", id)
		})
	})
	return dbplane.E("sqlstore.DeleteUser", err)
}

// insertUser inserts u. A taken name is KindConflict; the driver's error is
// dropped from it because mapErr would otherwise replace the message.
func insertUser(ctx context.Context, tx *Tx, u *dbplane.User, passwordHash string) error {
	u.CreatedAt = fromMicros(micros(tx.now))
	err := tx.QueryRow(ctx, `
		INSERT INTO users (name, password_hash, created_at) VALUES (?, ?, ?)
		RETURNING id`,
		u.Name, passwordHash, micros(u.CreatedAt),
	).Scan(&u.ID)
	if isUniqueViolation(err) {
		return dbplane.Errorf(dbplane.KindConflict, "user name %q already exists", u.Name)
	} else if err != nil {
		return fmt.Errorf("while inserting the user: %w", err)
	}
	return nil
}

// findUser returns the user matching where, with its bindings and password
// hash; sql.ErrNoRows if none.
func findUser(ctx context.Context, tx *Tx, where string, arg any) (*dbplane.User, string, error) {
	u, hash, err := scanUser(tx.QueryRow(ctx, `SELECT id, name, password_hash, created_at FROM users WHERE `+where, arg))
	if err != nil {
		return nil, "", err
	}
	if err := attachBindings(ctx, tx, []*dbplane.User{u}); err != nil {
		return nil, "", err
	}
	return u, hash, nil
}

func findUserByID(ctx context.Context, tx *Tx, id int64) (*dbplane.User, error) {
	u, _, err := findUser(ctx, tx, `id = ?`, id)
	if isNoRows(err) {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "user %d not found", id)
	}
	return u, err
}

func scanUser(s interface{ Scan(...any) error }) (*dbplane.User, string, error) {
	var (
		u       dbplane.User
		hash    string
		created int64
	)
	if err := s.Scan(&u.ID, &u.Name, &hash, &created); err != nil {
		if isNoRows(err) {
			return nil, "", err
		}
		return nil, "", fmt.Errorf("while reading a user: %w", err)
	}
	u.CreatedAt = fromMicros(created)
	return &u, hash, nil
}

// mustAffect returns KindNotFound with the message format, args unless res
// changed a row.
func mustAffect(res interface{ RowsAffected() (int64, error) }, format string, args ...any) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return dbplane.Errorf(dbplane.KindNotFound, format, args...)
	}
	return nil
}
