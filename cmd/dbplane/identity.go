package main

import (
	"context"
	"strconv"

	"github.com/dbplane/dbplane"
)

// identity returns the client as the identity service. The HTTP client
// offers it; a client that does not is a programming error.
func (c *cli) identity(ctx context.Context) (dbplane.IdentityService, error) {
	return serviceOf[dbplane.IdentityService](ctx, c, "manage identities")
}

// resolveProject turns a project argument, an id or a name, into an id.
// "*" names the global scope, for role bindings.
func resolveProject(ctx context.Context, id dbplane.IdentityService, arg string, allowGlobal bool) (int64, error) {
	if arg == "*" && allowGlobal {
		return dbplane.GlobalScope, nil
	}
	if n, err := strconv.ParseInt(arg, 10, 64); err == nil && n > 0 {
		return n, nil
	}
	name := arg
	ps, _, err := id.FindProjects(ctx, dbplane.ProjectFilter{Name: &name, Limit: 1})
	if err != nil {
		return 0, err
	}
	if len(ps) == 0 {
		return 0, dbplane.Errorf(dbplane.KindNotFound, "project %q not found", arg)
	}
	return ps[0].ID, nil
}

// projectFilter returns the id of the --project filter arg (an id or a
// name), or nil when it is empty.
func (c *cli) projectFilter(ctx context.Context, arg string) (*int64, error) {
	if arg == "" {
		return nil, nil
	}
	id, err := c.identity(ctx)
	if err != nil {
		return nil, err
	}
	pid, err := resolveProject(ctx, id, arg, false)
	if err != nil {
		return nil, err
	}
	return &pid, nil
}

// resolveUser turns a user argument, an id or a name, into an id.
func resolveUser(ctx context.Context, id dbplane.IdentityService, arg string) (int64, error) {
	if n, err := strconv.ParseInt(arg, 10, 64); err == nil && n > 0 {
		return n, nil
	}
	name := arg
	us, _, err := id.FindUsers(ctx, dbplane.UserFilter{Name: &name, Limit: 1})
	if err != nil {
		return 0, err
	}
	if len(us) == 0 {
		return 0, dbplane.Errorf(dbplane.KindNotFound, "user %q not found", arg)
	}
	return us[0].ID, nil
}

// quotaText renders one quota limit: "-" for unlimited.
func quotaText(limit int) string {
	if limit == 0 {
		return "-"
	}
	return itoa(limit)
}
