package redis

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/taskengine"
)

// setPassword gives the node's admin user the task's new password: the
// ACL file (0600) is rewritten with its SHA-256 and the replication user's
// current one, and the running server gets it with ACL SETUSER; then the
// node must accept the new password. A node that accepts only the new
// password already (an earlier run) gets the same again.
func (e *Engine) setPassword(ctx context.Context, s *step) error {
	newPW, err := s.NewPassword(ctx)
	if err != nil {
		return err
	}
	oldPW, err := s.adminPassword(ctx)
	if err != nil {
		return err
	}
	c, err := s.openAs(ctx, s.n, oldPW)
	if err == nil {
		_, err = command(ctx, c, s.n, "PING")
		if err != nil {
			c.Close()
		}
	}
	if isWrongPass(err) {
		c, err = s.openAs(ctx, s.n, newPW)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	replHash, err := userPasswordHash(ctx, c, s.n, replicationUser)
	if err != nil {
		return err
	}
	hash := passwordHash(newPW)
	taskengine.Redact(ctx, hash)
	a, err := s.Agent(ctx, s.n.Node)
	if err != nil {
		return err
	}
	f := dbplane.File{Path: s.n.aclFile(), Owner: osUser, Mode: 0o600, Content: renderACL(hashedACLUsers(hash, replHash))}
	if err := a.WriteFile(ctx, f); err != nil {
		return fmt.Errorf("while writing %s on host %d: %w", f.Path, s.n.HostID, err)
	}
	if _, err := command(ctx, c, s.n, "ACL", "SETUSER", AdminUser, "resetpass", "#"+hash); err != nil {
		return err
	}
	check, err := s.openAs(ctx, s.n, newPW)
	if err != nil {
		return err
	}
	defer check.Close()
	who, err := command(ctx, check, s.n, "ACL", "WHOAMI")
	if err != nil {
		return fmt.Errorf("node %d does not accept the new password of %s: %w", s.n.Ordinal, AdminUser, err)
	}
	if who != AdminUser {
		return fmt.Errorf("node %d does not accept the new password of %s: it answers as %q", s.n.Ordinal, AdminUser, who)
	}
	s.Logf("node %d: %s has the new password, in memory and in %s", s.n.Ordinal, AdminUser, s.n.aclFile())
	return nil
}

// isWrongPass reports whether err is Redis refusing a user's password.
func isWrongPass(err error) bool {
	return err != nil && strings.Contains(err.Error(), "WRONGPASS")
}

// userPasswordHash returns the SHA-256 of the password of a user of the
// node, from ACL GETUSER.
func userPasswordHash(ctx context.Context, c conn, n node, user string) (string, error) {
	reply, err := c.Do(ctx, "ACL", "GETUSER", user)
	if err != nil {
		return "", fmt.Errorf("while running ACL GETUSER on node %d: %w", n.Ordinal, err)
	}
	fields, _ := reply.([]any)
	for i := 0; i+1 < len(fields); i += 2 {
		if fmt.Sprint(fields[i]) != "passwords" {
			continue
		}
		if hashes, _ := fields[i+1].([]any); len(hashes) > 0 {
			return fmt.Sprint(hashes[0]), nil
		}
	}
	return "", dbplane.Permanent(fmt.Errorf("node %d has no password for user %s", n.Ordinal, user))
}

// checkParameters checks a change on node 0 before the spec records it:
// CONFIG GET must know every parameter, and CONFIG SET must take every new
// value of a mutable one. A refusal fails the task for good, naming the
// parameter as the API does.
func (e *Engine) checkParameters(ctx context.Context, s *step) error {
	if err := CheckParameters(s.Params); err != nil {
		return err
	}
	c, err := s.open(ctx, s.n)
	if err != nil {
		return err
	}
	defer c.Close()
	return enginekit.CheckEach(s.Params, func(k, v string) (string, error) {
		reply, err := c.Do(ctx, "CONFIG", "GET", k)
		if err != nil {
			return "", fmt.Errorf("while running CONFIG GET on node %d: %w", s.n.Ordinal, err)
		}
		if got, _ := reply.([]any); len(got) == 0 {
			return "is not a Redis configuration parameter", nil
		}
		if v != "" && !immutableParameters[k] {
			if _, err := c.Do(ctx, "CONFIG", "SET", k, v); err != nil && !isImmutable(err) {
				return enginekit.Refuses("Redis", err), nil
			}
			s.Logf("%s %s on node %d", k, v, s.n.Ordinal)
		}
		return "", nil
	})
}

// isImmutable reports whether err is CONFIG SET refusing a parameter that
// changes only at start.
func isImmutable(err error) bool {
	return err != nil && strings.Contains(err.Error(), "immutable")
}

// applyParameters sets the changed parameters on the running node, whose
// redis.conf the previous step rewrote: a removed one goes back to
// dbplane's value; those that change only at start are left to the
// rolling restart the plan then holds. A parameter CONFIG SET calls
// immutable that the plan did not restart for fails the step, saying to
// restart the cluster.
func (e *Engine) applyParameters(ctx context.Context, s *step) error {
	mem, vcpus, err := e.size(s)
	if err != nil {
		return err
	}
	settings, err := nodeSettings(s.n, mem, vcpus)
	if err != nil {
		return err
	}
	c, err := s.open(ctx, s.n)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, k := range slices.Sorted(maps.Keys(s.Params)) {
		v := s.Params[k]
		if v == "" {
			i := slices.IndexFunc(settings, func(st setting) bool { return st.name == k })
			if i < 0 {
				continue // back to Redis' default at the restart
			}
			v = settings[i].value
		}
		if immutableParameters[k] {
			continue
		}
		if _, err := c.Do(ctx, "CONFIG", "SET", k, v); isImmutable(err) {
			return dbplane.Permanent(errors.New(k + " changes only when Redis starts: redis.conf has it; restart the cluster to apply it"))
		} else if err != nil {
			return fmt.Errorf("while setting %s on node %d: %w", k, s.n.Ordinal, err)
		}
		s.Logf("%s %s on node %d", k, v, s.n.Ordinal)
	}
	return nil
}
