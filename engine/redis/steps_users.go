package redis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// Users dbplane creates in every cluster.
const (
	// AdminUser is the cluster's administrator, with the spec's password.
	AdminUser = "admin"
	// replicationUser is the user replicas authenticate as to their
	// primary.
	replicationUser = "replicator"
)

// aclUser is an ACL user: its name and its rules, as ACL SETUSER and the
// ACL file take them.
type aclUser struct {
	name  string
	rules []string
}

// aclUsers are the users of every node. Passwords are given as their
// SHA-256 (the "#<hex>" rule), so the admin password never reaches a host:
//
//   - default is off with no password and no rights, so a client that does
//     not authenticate can do nothing but AUTH (and HELLO);
//   - admin may run every command on every key and channel;
//   - replicator may only run what a replica sends its primary.
func aclUsers(adminPassword, replPassword string) []aclUser {
	return hashedACLUsers(passwordHash(adminPassword), passwordHash(replPassword))
}

// hashedACLUsers are aclUsers of the passwords' hashes.
func hashedACLUsers(adminHash, replHash string) []aclUser {
	return []aclUser{
		{"default", []string{"off", "resetpass", "resetkeys", "resetchannels", "-@all"}},
		{AdminUser, []string{"on", "resetpass", "#" + adminHash, "~*", "&*", "+@all"}},
		{replicationUser, []string{"on", "resetpass", "#" + replHash,
			"resetkeys", "resetchannels", "-@all", "+psync", "+replconf", "+ping"}},
	}
}

// renderACL returns the ACL file of a node: one "user" line per user.
func renderACL(users []aclUser) []byte {
	var b strings.Builder
	for _, u := range users {
		fmt.Fprintf(&b, "user %s %s\n", u.name, strings.Join(u.rules, " "))
	}
	return []byte(b.String())
}

// renderAuth returns the file redis.conf includes with the credentials a
// node replicates with. Every node has them, primaries too: in a Redis
// cluster any replica may follow any primary, and a primary may be demoted.
func renderAuth(replPassword string) []byte {
	return []byte("# Written by dbplane: the replication user's credentials.\n" +
		"masteruser " + replicationUser + "\nmasterauth " + replPassword + "\n")
}

// passwordHash is the SHA-256 of a password in hex, as ACL rules take it.
func passwordHash(password string) string {
	sum := sha256.Sum256([]byte(password))
	return hex.EncodeToString(sum[:])
}

// createUsers writes the ACL file and the replication credentials of every
// node, with a fresh random replication password. Running it again draws a
// new password and rewrites every copy; nodes already running get the new
// users and credentials at once (ACL SETUSER and CONFIG SET change them in
// place, so no client is disconnected), so files and memory always agree.
func (e *Engine) createUsers(ctx context.Context, s *step) error {
	password, err := s.adminPassword(ctx)
	if err != nil {
		return err
	}
	replPassword, err := enginekit.NewSecret(ctx)
	if err != nil {
		return err
	}
	users := aclUsers(password, replPassword)
	nodes, err := allNodes(s.Cluster)
	if err != nil {
		return err
	}
	var live []node
	for _, n := range nodes {
		running, err := s.writeUsers(ctx, n, users, replPassword)
		if err != nil {
			return err
		}
		if running {
			live = append(live, n)
		}
	}
	// The replicas' credentials change only once every primary knows them.
	for _, n := range live {
		if err := s.setMasterAuth(ctx, n, replPassword); err != nil {
			return err
		}
	}
	s.Logf("wrote users default (off), %s and %s to %d nodes (%s and %s); %d running nodes updated in place",
		AdminUser, replicationUser, len(nodes), "users.acl", "auth.conf", len(live))
	return nil
}

// writeUsers writes the ACL file and credentials of n and, if n runs, sets
// its users in place. It reports whether n runs.
func (s *step) writeUsers(ctx context.Context, n node, users []aclUser, replPassword string) (bool, error) {
	a, err := s.Agent(ctx, n.Node)
	if err != nil {
		return false, err
	}
	for _, f := range []dbplane.File{
		{Path: n.aclFile(), Owner: osUser, Mode: 0o600, Content: renderACL(users)},
		{Path: n.authFile(), Owner: osUser, Mode: 0o600, Content: renderAuth(replPassword)},
	} {
		if err := a.WriteFile(ctx, f); err != nil {
			return false, fmt.Errorf("while writing %s on host %d: %w", f.Path, n.HostID, err)
		}
	}
	st, err := a.InstanceStatus(ctx, n.instanceID())
	if dbplane.ErrorKind(err) == dbplane.KindNotFound || err == nil && !st.Running {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("while asking host %d about node %d: %w", n.HostID, n.Ordinal, err)
	}
	c, err := s.open(ctx, n)
	if err != nil {
		return false, err
	}
	defer c.Close()
	for _, u := range users {
		args := append([]any{"ACL", "SETUSER", u.name}, toArgs(u.rules)...)
		if _, err := command(ctx, c, n, args...); err != nil {
			return false, err
		}
	}
	return true, nil
}

// setMasterAuth sets the credentials a running node replicates with.
func (s *step) setMasterAuth(ctx context.Context, n node, replPassword string) error {
	c, err := s.open(ctx, n)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = command(ctx, c, n, "CONFIG", "SET", "masteruser", replicationUser, "masterauth", replPassword)
	return err
}

func toArgs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
