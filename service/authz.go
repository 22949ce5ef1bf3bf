package service

import (
	"context"
	"fmt"
	"slices"

	"github.com/dbplane/dbplane"
)

// This file is the one place where the services decide who may do what.
// Every method of Service, Hosts, Identity and Audit asks authorize (or,
// for lists, readableProjects) before it reads or changes anything.

// ViaSystem is the Principal.Via of the control plane's own calls, such as
// dev mode issuing join tokens for the agents it starts.
const ViaSystem = "system"

// SystemUser is the user name of the control plane's own principal, as
// recorded in task creators and logs.
const SystemUser = "system"

// SystemContext returns ctx carrying the control plane's own principal: a
// global admin. Only code inside the control plane calls it; a request's
// context never carries it, so a missing principal is never trusted.
func SystemContext(ctx context.Context) context.Context {
	return dbplane.WithPrincipal(ctx, &dbplane.Principal{
		User: &dbplane.User{Name: SystemUser, Bindings: []dbplane.RoleBinding{
			{ProjectID: dbplane.GlobalScope, ProjectName: "*", Role: dbplane.RoleAdmin},
		}},
		Via: ViaSystem,
	})
}

// resource is what a call acts on, as far as authorization cares.
type resource struct {
	// project owns the resource; GlobalScope for resources of the fleet
	// itself (hosts, users, projects' quotas, the whole audit log).
	project int64
	// owner is the user a self-service resource belongs to (the user
	// itself, its tokens and access keys), who may act on it whatever its
	// role; 0 for none.
	owner int64
	// hidden, if set, is answered instead of KindForbidden to a caller who
	// may not even see the resource: its own not-found error, so that a
	// refusal does not reveal that it exists. Project resources are
	// hidden from callers who cannot read their project; owned resources
	// from everyone but their owner and those allowed the action.
	hidden error
}

// authorize decides whether the principal of ctx may do a on r, and
// returns the principal if so.
func authorize(ctx context.Context, a dbplane.Action, r resource) (*dbplane.Principal, error) {
	p := dbplane.PrincipalFrom(ctx)
	return p, decide(p, a, r)
}

// decide is the authorization rule, a pure function of the caller, the
// action and the resource:
//
//   - no principal: KindUnauthorized, never trusted;
//   - the owner of an owned resource, or a caller whose bindings allow the
//     action on the resource's project (a global binding allows it on
//     every project and on the fleet): allowed;
//   - a hidden resource the caller may not see: its not-found error;
//   - otherwise KindForbidden.
func decide(p *dbplane.Principal, a dbplane.Action, r resource) error {
	if p == nil || p.User == nil {
		return errUnauthenticated()
	}
	if r.owner != 0 && p.User.ID == r.owner {
		return nil
	}
	if p.Can(a, r.project) {
		return nil
	}
	if r.hidden != nil {
		if r.owner != 0 || (r.project != dbplane.GlobalScope && !p.Can(dbplane.ActionRead, r.project)) {
			return r.hidden
		}
	}
	return errForbidden(p, a, r.project)
}

// authenticated returns the principal of ctx, or KindUnauthorized. Calls
// whose resource is only known after validating the request check it first,
// so that an anonymous caller learns nothing from validation errors.
func authenticated(ctx context.Context) (*dbplane.Principal, error) {
	p := dbplane.PrincipalFrom(ctx)
	if p == nil || p.User == nil {
		return nil, errUnauthenticated()
	}
	return p, nil
}

// readableProjects narrows the project ids a list asked for to those on
// which the principal of ctx may do a. It returns nil for every project,
// and a non-nil empty slice when nothing is left, which callers answer with
// an empty page without asking the store.
func readableProjects(ctx context.Context, a dbplane.Action, asked []int64) ([]int64, error) {
	p, err := authenticated(ctx)
	if err != nil {
		return nil, err
	}
	all, mine := p.Projects(a)
	if all {
		return asked, nil
	}
	if asked == nil {
		return append([]int64{}, mine...), nil
	}
	out := []int64{}
	for _, id := range asked {
		if slices.Contains(mine, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// visibleBindings drops the bindings of u on projects the principal cannot
// read, so a user looked up by a project admin shows only that admin's
// projects.
func visibleBindings(p *dbplane.Principal, u *dbplane.User) {
	if p.Can(dbplane.ActionRead, dbplane.GlobalScope) || p.User.ID == u.ID {
		return
	}
	u.Bindings = slices.DeleteFunc(u.Bindings, func(b dbplane.RoleBinding) bool {
		return b.ProjectID == dbplane.GlobalScope || !p.Can(dbplane.ActionRead, b.ProjectID)
	})
}

// authorizeUserLookup decides who may list users: callers with a global
// role; and project admins looking one up by name, since binding a user to
// their project needs its id.
func authorizeUserLookup(ctx context.Context, byName bool) (*dbplane.Principal, error) {
	p, err := authenticated(ctx)
	if err != nil {
		return nil, err
	}
	if all, ids := p.Projects(dbplane.ActionManage); byName && (all || len(ids) > 0) {
		return p, nil
	}
	return p, decide(p, dbplane.ActionRead, resource{project: dbplane.GlobalScope})
}

func errUnauthenticated() error {
	return dbplane.Errorf(dbplane.KindUnauthorized, "authentication required")
}

// actionRoles names the least role that allows each action, for messages.
var actionRoles = map[dbplane.Action]string{
	dbplane.ActionRead:    dbplane.RoleViewer,
	dbplane.ActionOperate: dbplane.RoleOperator,
	dbplane.ActionManage:  dbplane.RoleAdmin,
}

func errForbidden(p *dbplane.Principal, a dbplane.Action, project int64) error {
	if project == dbplane.GlobalScope {
		return dbplane.Errorf(dbplane.KindForbidden, "user %q lacks the global %s role", p.Name(), actionRoles[a])
	}
	return dbplane.Errorf(dbplane.KindForbidden, "user %q lacks the %s role on project %d", p.Name(), actionRoles[a], project)
}

// notFound returns a KindNotFound error, and hides refusals behind it: the
// same message whether the resource is missing or hidden.
func notFound(format string, args ...any) error {
	return dbplane.Errorf(dbplane.KindNotFound, format, args...)
}

// orNotFound replaces a store's not-found error by nf, so a missing and a
// hidden resource answer exactly alike.
func orNotFound(err, nf error) error {
	if dbplane.ErrorKind(err) == dbplane.KindNotFound {
		return nf
	}
	return err
}

// target formats an audit target, such as "cluster/12".
func target(kind string, id any) string {
	return fmt.Sprintf("%s/%v", kind, id)
}
