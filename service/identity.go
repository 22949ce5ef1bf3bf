package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/dbplane/dbplane"
)

var _ dbplane.IdentityService = (*Identity)(nil)

// IdentityStore is what Identity keeps its records in.
type IdentityStore interface {
	dbplane.UserStore
	dbplane.ProjectStore
}

// Identity implements the identity service: projects, users, role
// bindings, tokens and access keys. Every method authorizes the principal
// of its context first.
type Identity struct {
	Store IdentityStore
	// Logger receives audit lines; it never sees passwords, tokens or
	// secret keys. Nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// CreateProject creates a project. Global admins only: projects hold the
// quotas that bound everyone else.
func (s *Identity) CreateProject(ctx context.Context, p *dbplane.Project) error {
	if err := fleet(ctx, dbplane.ActionManage); err != nil {
		return err
	}
	if err := validateProject(p, true); err != nil {
		return err
	}
	p.CreatedAt, p.Usage = s.now().UTC(), nil
	if err := s.Store.CreateProject(ctx, p); err != nil {
		return err
	}
	dbplane.AuditTarget(ctx, target("project", p.ID), p.ID)
	s.logger().InfoContext(ctx, "project created", "project_id", p.ID, "project", p.Name, "user", userName(ctx))
	return nil
}

// FindProjectByID returns a project with its usage. A project on which
// the caller has no role answers as a missing one.
func (s *Identity) FindProjectByID(ctx context.Context, id int64) (*dbplane.Project, error) {
	nf := notFound("project %d not found", id)
	if _, err := authenticated(ctx); err != nil {
		return nil, err
	}
	if id <= dbplane.GlobalScope {
		return nil, nf
	}
	if _, err := authorize(ctx, dbplane.ActionRead, resource{project: id, hidden: nf}); err != nil {
		return nil, err
	}
	p, err := s.Store.FindProjectByID(ctx, id)
	if err != nil {
		return nil, orNotFound(err, nf)
	}
	usage, err := s.Store.ProjectUsage(ctx, id)
	if err != nil {
		return nil, err
	}
	p.Usage = &usage
	return p, nil
}

// FindProjects returns a page of the projects the caller can read.
func (s *Identity) FindProjects(ctx context.Context, f dbplane.ProjectFilter) ([]*dbplane.Project, int, error) {
	ids, err := readableProjects(ctx, dbplane.ActionRead, f.IDs)
	if err != nil {
		return nil, 0, err
	}
	if ids != nil && len(ids) == 0 {
		return []*dbplane.Project{}, 0, nil
	}
	f.IDs = ids
	return s.Store.FindProjects(ctx, f)
}

// UpdateProject replaces a project's description and quota, and fills p
// with the stored project. Global admins only. A quota below the current
// usage is accepted: it stops growth without touching what exists.
func (s *Identity) UpdateProject(ctx context.Context, p *dbplane.Project) error {
	dbplane.AuditTarget(ctx, target("project", p.ID), p.ID)
	if err := manageProjects(ctx, p.ID); err != nil {
		return err
	}
	if err := validateProject(p, false); err != nil {
		return err
	}
	if err := s.Store.UpdateProject(ctx, p); err != nil {
		return err
	}
	stored, err := s.Store.FindProjectByID(ctx, p.ID)
	if err != nil {
		return err
	}
	*p = *stored
	s.logger().InfoContext(ctx, "project updated", "project_id", p.ID, "project", p.Name, "user", userName(ctx))
	return nil
}

// manageProjects authorizes changing project id, which global admins
// alone may do. A caller who cannot read the project gets the answer for a
// missing one, so that ids do not reveal which projects exist; its own
// members get 403.
func manageProjects(ctx context.Context, id int64) error {
	nf := notFound("project %d not found", id)
	if _, err := authenticated(ctx); err != nil {
		return err
	}
	if id <= dbplane.GlobalScope {
		return nf
	}
	if _, err := authorize(ctx, dbplane.ActionRead, resource{project: id, hidden: nf}); err != nil {
		return err
	}
	return fleet(ctx, dbplane.ActionManage)
}

// DeleteProject removes an empty project. Global admins only. The default
// project stays: clusters that name no project go there.
func (s *Identity) DeleteProject(ctx context.Context, id int64) error {
	dbplane.AuditTarget(ctx, target("project", id), id)
	if err := manageProjects(ctx, id); err != nil {
		return err
	}
	p, err := s.Store.FindProjectByID(ctx, id)
	if err != nil {
		return err
	}
	if p.Name == dbplane.DefaultProject {
		return dbplane.Errorf(dbplane.KindConflict, "the %s project cannot be deleted", dbplane.DefaultProject)
	}
	// The project's name is gone once it is deleted: record it now.
	if e := dbplane.AuditFrom(ctx); e != nil {
		e.Project = p.Name
	}
	if err := s.Store.DeleteProject(ctx, id); err != nil {
		return err
	}
	s.logger().InfoContext(ctx, "project deleted", "project_id", id, "project", p.Name, "user", userName(ctx))
	return nil
}

func (s *Identity) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Identity) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}
