package service

import (
	"context"
	"fmt"

	"github.com/dbplane/dbplane"
)

// CreateUser creates a user with a password and its bindings. Global admins
// only.
func (s *Identity) CreateUser(ctx context.Context, u *dbplane.User, password string) error {
	const op = "service.CreateUser"
	if err := fleet(ctx, dbplane.ActionManage); err != nil {
		return err
	}
	if err := validateUser(u, password); err != nil {
		return err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return dbplane.E(op, err)
	}
	u.CreatedAt = s.now().UTC()
	for i := range u.Bindings {
		u.Bindings[i].CreatedAt = u.CreatedAt
	}
	if err := s.Store.CreateUser(ctx, u, hash); err != nil {
		return err
	}
	dbplane.AuditTarget(ctx, target("user", u.ID), dbplane.GlobalScope)
	if stored, err := s.Store.FindUserByID(ctx, u.ID); err == nil {
		*u = *stored
	}
	s.logger().InfoContext(ctx, "user created", "user_id", u.ID, "name", u.Name, "by", userName(ctx))
	return nil
}

// FindUserByID returns a user with its bindings, to the user itself or a
// caller with a global role.
func (s *Identity) FindUserByID(ctx context.Context, id int64) (*dbplane.User, error) {
	if _, err := authorize(ctx, dbplane.ActionRead, resource{project: dbplane.GlobalScope, owner: id}); err != nil {
		return nil, err
	}
	u, err := s.Store.FindUserByID(ctx, id)
	return u, orNotFound(err, notFound("user %d not found", id))
}

// FindUsers returns a page of users. Callers with a global role see every
// user; project admins may look one up by its exact name, to bind it to
// their projects, and see only its bindings on projects they can read.
func (s *Identity) FindUsers(ctx context.Context, f dbplane.UserFilter) ([]*dbplane.User, int, error) {
	p, err := authorizeUserLookup(ctx, f.Name != nil)
	if err != nil {
		return nil, 0, err
	}
	us, total, err := s.Store.FindUsers(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	for _, u := range us {
		visibleBindings(p, u)
	}
	return us, total, nil
}

// SetUserPassword replaces a user's password and revokes its tokens, so a
// token issued for the old password stops working. Access keys are kept:
// they are credentials of their own that automation relies on, and are
// deleted one by one with DeleteAccessKey. Users change their own password
// and must give the current one, so that a stolen token or access key
// cannot take the account over for good; global admins set anyone else's
// without it.
func (s *Identity) SetUserPassword(ctx context.Context, id int64, current, password string) error {
	const op = "service.SetUserPassword"
	dbplane.AuditTarget(ctx, target("user", id), dbplane.GlobalScope)
	p, err := authorize(ctx, dbplane.ActionManage, resource{project: dbplane.GlobalScope, owner: id})
	if err != nil {
		return err
	}
	u, err := s.Store.FindUserByID(ctx, id)
	if err != nil {
		return orNotFound(err, notFound("user %d not found", id))
	}
	if p.User.ID == id {
		if err := s.checkCurrentPassword(ctx, u.Name, current); err != nil {
			return err
		}
	}
	if msg := userPasswordProblem(u.Name, password); msg != "" {
		return dbplane.Invalid(dbplane.FieldError{Field: "password", Message: msg})
	}
	hash, err := HashPassword(password)
	if err != nil {
		return dbplane.E(op, err)
	}
	if err := s.Store.SetUserPassword(ctx, id, hash, s.now()); err != nil {
		return err
	}
	s.logger().InfoContext(ctx, "user password changed; its tokens revoked, its access keys kept",
		"user_id", id, "by", userName(ctx))
	return nil
}

// checkCurrentPassword verifies the current password of a user changing
// its own. A wrong one counts towards the user's lockout, under the same
// subject as a failed login, so this is no side door for guessing it.
func (s *Identity) checkCurrentPassword(ctx context.Context, name, current string) error {
	const op = "service.SetUserPassword"
	if current == "" {
		return dbplane.Invalid(dbplane.FieldError{Field: "current_password", Message: "required"})
	}
	subject := "user:" + name
	now := s.now()
	until, err := s.Store.AuthLockedUntil(ctx, subject, now)
	if err != nil {
		return dbplane.E(op, err)
	}
	if !until.IsZero() {
		return errLocked(until, now)
	}
	_, hash, err := s.Store.FindUserByName(ctx, name)
	if err != nil {
		return dbplane.E(op, err)
	}
	ok, err := VerifyPassword(hash, current)
	if err != nil {
		return dbplane.E(op, fmt.Errorf("while verifying the current password of user %q: %w", name, err))
	}
	if ok {
		return dbplane.E(op, s.Store.ClearAuthFailures(ctx, subject))
	}
	s.logger().InfoContext(ctx, "password change refused", "user", name, "reason", "wrong current password")
	until, err = s.Store.RecordAuthFailure(ctx, subject, now, dbplane.DefaultLockoutPolicy)
	if err != nil {
		return dbplane.E(op, err)
	}
	if !until.IsZero() {
		s.logger().WarnContext(ctx, "locked out after repeated failures", "user", name, "until", until)
		return errLocked(until, now)
	}
	return dbplane.Invalid(dbplane.FieldError{Field: "current_password", Message: "does not match"})
}

// DeleteUser removes a user with its bindings, tokens and access keys.
// Global admins only; the last global admin stays.
func (s *Identity) DeleteUser(ctx context.Context, id int64) error {
	dbplane.AuditTarget(ctx, target("user", id), dbplane.GlobalScope)
	if err := fleet(ctx, dbplane.ActionManage); err != nil {
		return err
	}
	u, err := s.Store.FindUserByID(ctx, id)
	if err != nil {
		return orNotFound(err, notFound("user %d not found", id))
	}
	if err := s.keepAnAdmin(ctx, u, "delete user "+u.Name); err != nil {
		return err
	}
	if err := s.Store.DeleteUser(ctx, id); err != nil {
		return err
	}
	s.logger().InfoContext(ctx, "user deleted", "user_id", id, "name", u.Name, "by", userName(ctx))
	return nil
}

// BindRole grants a role on a project, or globally. Project admins bind the
// members of their projects, with any role on them; global bindings need a
// global admin.
func (s *Identity) BindRole(ctx context.Context, b *dbplane.RoleBinding) error {
	if _, err := authenticated(ctx); err != nil {
		return err
	}
	if err := validateBinding(b.UserID, b.ProjectID, &b.Role); err != nil {
		return err
	}
	dbplane.AuditTarget(ctx, bindingTarget(b.UserID, b.ProjectID), b.ProjectID)
	if err := authorizeBinding(ctx, b.ProjectID); err != nil {
		return err
	}
	if b.ProjectID == dbplane.GlobalScope && b.Role != dbplane.RoleAdmin {
		if err := s.keepAdminBinding(ctx, b.UserID); err != nil {
			return err
		}
	}
	b.CreatedAt = s.now().UTC()
	if err := s.Store.BindRole(ctx, b); err != nil {
		return err
	}
	s.logger().InfoContext(ctx, "role bound", "user_id", b.UserID, "project_id", b.ProjectID, "role", b.Role,
		"by", userName(ctx))
	return nil
}

// FindMembers returns the bindings on a project to those who can read the
// project (others get the project's not-found error), or the global ones to
// global readers.
func (s *Identity) FindMembers(ctx context.Context, projectID int64) ([]dbplane.RoleBinding, error) {
	if projectID < dbplane.GlobalScope {
		return nil, notFound("project %d not found", projectID)
	}
	_, err := authorize(ctx, dbplane.ActionRead,
		resource{project: projectID, hidden: notFound("project %d not found", projectID)})
	if err != nil {
		return nil, err
	}
	if projectID != dbplane.GlobalScope {
		if _, err := s.Store.FindProjectByID(ctx, projectID); err != nil {
			return nil, orNotFound(err, notFound("project %d not found", projectID))
		}
	}
	return s.Store.FindRoleBindings(ctx, projectID)
}

// UnbindRole removes a user's binding on a project, or its global one.
// Authorized as BindRole; the last global admin binding stays.
func (s *Identity) UnbindRole(ctx context.Context, userID, projectID int64) error {
	if _, err := authenticated(ctx); err != nil {
		return err
	}
	if err := validateBinding(userID, projectID, nil); err != nil {
		return err
	}
	dbplane.AuditTarget(ctx, bindingTarget(userID, projectID), projectID)
	if err := authorizeBinding(ctx, projectID); err != nil {
		return err
	}
	if projectID == dbplane.GlobalScope {
		if err := s.keepAdminBinding(ctx, userID); err != nil {
			return err
		}
	}
	if err := s.Store.UnbindRole(ctx, userID, projectID); err != nil {
		return err
	}
	s.logger().InfoContext(ctx, "role unbound", "user_id", userID, "project_id", projectID, "by", userName(ctx))
	return nil
}

// authorizeBinding authorizes changing the bindings of a project: its
// admins may; a project the caller cannot read answers as a missing one.
func authorizeBinding(ctx context.Context, projectID int64) error {
	_, err := authorize(ctx, dbplane.ActionManage,
		resource{project: projectID, hidden: notFound("project %d not found", projectID)})
	return err
}

// validateBinding checks a binding's ids and, when role is not nil, its
// role.
func validateBinding(userID, projectID int64, role *string) error {
	var errs []dbplane.FieldError
	if userID <= 0 {
		errs = append(errs, dbplane.FieldError{Field: "user_id", Message: "required"})
	}
	if projectID < 0 {
		errs = append(errs, dbplane.FieldError{Field: "project_id",
			Message: fmt.Sprintf("must be a project's id, or %d for every project", dbplane.GlobalScope)})
	}
	if role != nil && !dbplane.ValidRole(*role) {
		errs = append(errs, dbplane.FieldError{Field: "role", Message: roleProblem(*role)})
	}
	if len(errs) > 0 {
		return dbplane.Invalid(errs...)
	}
	return nil
}

func bindingTarget(userID, projectID int64) string {
	return fmt.Sprintf("binding/%d/%d", userID, projectID)
}

// keepAdminBinding refuses to take the global admin role from the last user
// who holds it: nobody could manage users, projects or hosts any more.
func (s *Identity) keepAdminBinding(ctx context.Context, userID int64) error {
	u, err := s.Store.FindUserByID(ctx, userID)
	if dbplane.ErrorKind(err) == dbplane.KindNotFound {
		return nil // the store answers for a missing user
	} else if err != nil {
		return err
	}
	return s.keepAnAdmin(ctx, u, "remove the global admin role of "+u.Name)
}

// keepAnAdmin refuses what (removing u or its global admin role) if u is the
// only global admin, with a message naming the user. It is the friendly
// check; the store checks again in the change's transaction, so that two
// admins removing each other at the same time cannot both pass.
func (s *Identity) keepAnAdmin(ctx context.Context, u *dbplane.User, what string) error {
	if !isGlobalAdmin(u) {
		return nil
	}
	for offset := 0; ; {
		page, total, err := s.Store.FindUsers(ctx, dbplane.UserFilter{Offset: offset, Limit: dbplane.MaxPageSize})
		if err != nil {
			return err
		}
		for _, o := range page {
			if o.ID != u.ID && isGlobalAdmin(o) {
				return nil
			}
		}
		offset += len(page)
		if len(page) == 0 || offset >= total {
			break
		}
	}
	return dbplane.Errorf(dbplane.KindConflict,
		"cannot %s: it holds the last global admin binding; grant another user the global admin role first", what)
}

func isGlobalAdmin(u *dbplane.User) bool {
	for _, b := range u.Bindings {
		if b.ProjectID == dbplane.GlobalScope && b.Role == dbplane.RoleAdmin {
			return true
		}
	}
	return false
}
