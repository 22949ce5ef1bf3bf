package sqlstore

import (
	"context"
	"fmt"

	"github.com/dbplane/dbplane"
)

// Bindings are stored with a NULL project for dbplane.GlobalScope, so that
// the foreign key to projects holds for the others; the unique index on
// (user_id, COALESCE(project_id, 0)) allows one binding per user and scope.

// globalProjectName is the ProjectName of a global binding.
const globalProjectName = "*"

// BindRole inserts or replaces the binding of b.UserID on b.ProjectID and
// fills b's names and creation time. KindInvalid for an unknown role;
// KindNotFound if the user or project is missing.
func (db *DB) BindRole(ctx context.Context, b *dbplane.RoleBinding) error {
	err := db.write(ctx, func(tx *Tx) error {
		return db.keepingAnAdmin(ctx, tx, "remove the last global admin binding", func() error {
			return upsertBinding(ctx, tx, b)
		})
	})
	return dbplane.E("sqlstore.BindRole", err)
}

// UnbindRole removes the binding of a user on a project (GlobalScope for
// the global one). KindNotFound if missing.
func (db *DB) UnbindRole(ctx context.Context, userID, projectID int64) error {
	err := db.write(ctx, func(tx *Tx) error {
		return db.keepingAnAdmin(ctx, tx, "remove the last global admin binding", func() error {
			res, err := tx.Exec(ctx, `DELETE FROM role_bindings WHERE user_id = ? AND COALESCE(project_id, 0) = ?`,
				userID, projectID)
			if err != nil {
				return fmt.Errorf("while removing the binding: %w", err)
			}
			return mustAffect(res, "user %d has no binding on project %d", userID, projectID)
		})
	})
	return dbplane.E("sqlstore.UnbindRole", err)
}

// keepingAnAdmin runs change in tx and refuses it (KindConflict wrapping
// dbplane.ErrLastAdmin) if it leaves no global admin where there was one.
// The global admin bindings are locked first (on PostgreSQL; SQLite has one
// writer), so that two admins removing each other at once cannot both pass.
func (db *DB) keepingAnAdmin(ctx context.Context, tx *Tx, what string, change func() error) error {
	before, err := globalAdmins(ctx, tx, db.forUpdate())
	if err != nil {
		return err
	}
	if err := change(); err != nil {
		return err
	}
	after, err := globalAdmins(ctx, tx, "")
	if err != nil || before == 0 || after > 0 {
		return err
	}
	e := dbplane.Errorf(dbplane.KindConflict,
		"cannot %s: nobody could manage users, projects or hosts any more; grant another user the global admin role first", what)
	e.Err = dbplane.ErrLastAdmin
	return e
}

// globalAdmins counts the global admin bindings; lock, when not empty,
// locks them.
func globalAdmins(ctx context.Context, tx *Tx, lock string) (int, error) {
	rows, err := tx.Query(ctx, `SELECT user_id FROM role_bindings WHERE project_id IS NULL AND role = ?`+lock,
		dbplane.RoleAdmin)
	if err != nil {
		return 0, fmt.Errorf("while reading the global admins: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("while reading the global admins: %w", err)
	}
	return n, nil
}

// FindRoleBindings returns the bindings on a project, or the global ones
// for GlobalScope, by user id.
func (db *DB) FindRoleBindings(ctx context.Context, projectID int64) ([]dbplane.RoleBinding, error) {
	var bs []dbplane.RoleBinding
	err := db.read(ctx, func(tx *Tx) error {
		var err error
		bs, err = findBindings(ctx, tx, `COALESCE(b.project_id, 0) = ?`, projectID)
		return err
	})
	if err != nil {
		return nil, dbplane.E("sqlstore.FindRoleBindings", err)
	}
	return bs, nil
}

// upsertBinding stores b, replacing the role of an existing binding of the
// same user and scope, and reads it back with its names.
func upsertBinding(ctx context.Context, tx *Tx, b *dbplane.RoleBinding) error {
	if !dbplane.ValidRole(b.Role) {
		return dbplane.Invalid(dbplane.FieldError{Field: "role",
			Message: fmt.Sprintf("%q is not a role: use viewer, operator or admin", b.Role)})
	}
	if err := userExists(ctx, tx, b.UserID); err != nil {
		return err
	}
	var project any // NULL for GlobalScope
	if b.ProjectID != dbplane.GlobalScope {
		if _, err := findProjectByID(ctx, tx, b.ProjectID, false); err != nil {
			return err
		}
		project = b.ProjectID
	}
	_, err := tx.Exec(ctx, `INSERT INTO role_bindings (user_id, project_id, role, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, COALESCE(project_id, 0)) DO UPDATE SET role = excluded.role, created_at = excluded.created_at`,
		b.UserID, project, b.Role, micros(tx.now))
	if err != nil {
		return fmt.Errorf("while storing the binding: %w", err)
	}
	stored, err := findBindings(ctx, tx, `b.user_id = ? AND COALESCE(b.project_id, 0) = ?`, b.UserID, b.ProjectID)
	if err != nil {
		return err
	}
	if len(stored) != 1 {
		return fmt.Errorf("the binding of user %d on project %d is missing after storing it", b.UserID, b.ProjectID)
	}
	*b = stored[0]
	return nil
}

// attachBindings loads the bindings of users in one query.
func attachBindings(ctx context.Context, tx *Tx, users []*dbplane.User) error {
	if len(users) == 0 {
		return nil
	}
	byID := make(map[int64]*dbplane.User, len(users))
	args := make([]any, len(users))
	for i, u := range users {
		byID[u.ID] = u
		args[i] = u.ID
	}
	bs, err := findBindings(ctx, tx, `b.user_id IN (`+placeholders(len(args))+`)`, args...)
	if err != nil {
		return err
	}
	for _, b := range bs {
		u := byID[b.UserID]
		u.Bindings = append(u.Bindings, b)
	}
	return nil
}

// findBindings returns the bindings matching where (over alias b), by user
// and then project, the global one first.
func findBindings(ctx context.Context, tx *Tx, where string, args ...any) ([]dbplane.RoleBinding, error) {
	rows, err := tx.Query(ctx, `
		SELECT b.user_id, u.name, COALESCE(b.project_id, 0), COALESCE(p.name, '`+globalProjectName+`'), b.role, b.created_at
		FROM role_bindings b JOIN users u ON u.id = b.user_id LEFT JOIN projects p ON p.id = b.project_id
		WHERE `+where+` ORDER BY b.user_id, COALESCE(b.project_id, 0)`, args...)
	if err != nil {
		return nil, fmt.Errorf("while listing role bindings: %w", err)
	}
	defer rows.Close()
	var bs []dbplane.RoleBinding
	for rows.Next() {
		var (
			b       dbplane.RoleBinding
			created int64
		)
		if err := rows.Scan(&b.UserID, &b.UserName, &b.ProjectID, &b.ProjectName, &b.Role, &created); err != nil {
			return nil, fmt.Errorf("while reading a role binding: %w", err)
		}
		b.CreatedAt = fromMicros(created)
		bs = append(bs, b)
	}
	return bs, rows.Err()
}
