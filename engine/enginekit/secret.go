package enginekit

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/taskengine"
)

// AdminPassword returns the cluster's admin password from the store,
// registered with the task engine's redaction so that no log shows it.
func (s *Step) AdminPassword(ctx context.Context) (string, error) {
	pw, err := s.Deps.Store.ClusterPassword(ctx, s.Cluster.ID)
	taskengine.Redact(ctx, pw)
	if err != nil {
		return "", fmt.Errorf("while reading the admin password of cluster %s: %w", s.Cluster.Name, err)
	}
	if pw == "" {
		return "", dbplane.Permanent(fmt.Errorf("cluster %s has no admin password", s.Cluster.Name))
	}
	return pw, nil
}

// NewPassword returns the new admin password of the step's task, a
// password change, registered with the task engine's redaction.
func (s *Step) NewPassword(ctx context.Context) (string, error) {
	pw, err := s.Deps.Store.TaskPassword(ctx, s.TaskID)
	taskengine.Redact(ctx, pw)
	if err != nil {
		return "", fmt.Errorf("while reading the new admin password of task %d: %w", s.TaskID, err)
	}
	return pw, nil
}

// NewSecret draws a random password for an account only machines use
// (replication, state transfer) and registers it with the task engine's
// redaction: machines alone use it, but a log line must not hand it out
// either. Its characters (base64url) need no quoting in SQL, in a
// configuration file or in a connection string.
func NewSecret(ctx context.Context) (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("while drawing a password: %w", err)
	}
	pw := base64.RawURLEncoding.EncodeToString(b)
	taskengine.Redact(ctx, pw)
	return pw, nil
}
