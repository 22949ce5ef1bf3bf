package agent

import (
	"context"
	"fmt"
	"os/exec"

	"github.com/dbplane/dbplane"
)

// EnsureUser makes sure a system user and its group exist: no home
// directory, no login shell, a system uid.
func (h *Host) EnsureUser(ctx context.Context, name string) error {
	const op = "agent.EnsureUser"
	if err := validUserName("name", name); err != nil {
		return dbplane.E(op, err)
	}
	// useradd locks /etc/passwd itself, but two calls for the same name
	// would race between getent and useradd.
	select {
	case h.users <- struct{}{}:
		defer func() { <-h.users }()
	case <-ctx.Done():
		return dbplane.E(op, ctx.Err())
	}
	exists, err := userExists(ctx, name)
	if err != nil || exists {
		return dbplane.E(op, err)
	}
	out, err := exec.CommandContext(ctx, "useradd", "--system", "--user-group", "--no-create-home",
		"--shell", "/usr/sbin/nologin", name).CombinedOutput()
	if err != nil {
		return dbplane.E(op, fmt.Errorf("while adding user %q: %w: %s", name, err, out))
	}
	h.log.Info("created OS user", "user", name)
	return nil
}

// userExists asks the name service (not only /etc/passwd, so that users
// from LDAP count) whether name exists. getent exits 2 for "not found".
func userExists(ctx context.Context, name string) (bool, error) {
	err := exec.CommandContext(ctx, "getent", "passwd", name).Run()
	if err == nil {
		return true, nil
	}
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 2 {
		return false, nil
	}
	return false, fmt.Errorf("while looking up user %q: %w", name, err)
}
