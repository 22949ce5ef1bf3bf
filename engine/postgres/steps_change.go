package postgres

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/taskengine"
)

// setPassword sets the SCRAM-SHA-256 verifier of the task's new password
// on the admin role of the primary. The verifier, not the password,
// reaches the server, and the script's session settings keep it out of
// the server's log. Running it again draws a new salt for the same
// password.
func (e *Engine) setPassword(ctx context.Context, s *step) error {
	pw, err := s.NewPassword(ctx)
	if err != nil {
		return err
	}
	verifier, err := scramVerifier(pw)
	if err != nil {
		return err
	}
	taskengine.Redact(ctx, verifier)
	a, err := s.Agent(ctx, s.n.Node)
	if err != nil {
		return err
	}
	script := fmt.Sprintf("ALTER ROLE %s PASSWORD %s;\n", AdminUser, quoteLiteral(verifier))
	if _, err := s.psql(ctx, a, s.n, script); err != nil {
		return fmt.Errorf("while setting the admin password: %w", err)
	}
	s.Logf("set the new password of %s on node %d (SCRAM-SHA-256)", AdminUser, s.n.Ordinal)
	return nil
}

// verifyPassword waits until the node's admin role holds a verifier of the
// new password, which streaming replication carries from the primary.
func (e *Engine) verifyPassword(ctx context.Context, s *step) error {
	pw, err := s.NewPassword(ctx)
	if err != nil {
		return err
	}
	a, err := s.Agent(ctx, s.n.Node)
	if err != nil {
		return err
	}
	query := fmt.Sprintf("SELECT rolpassword FROM pg_authid WHERE rolname = %s;\n", quoteLiteral(AdminUser))
	err = enginekit.Poll(ctx, streamTimeout, func(ctx context.Context) error {
		out, err := s.psql(ctx, a, s.n, query)
		if err == nil && !scramMatches(out, pw) {
			err = errors.New("it holds another password")
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("replica %d did not receive the new password within %s: %w", s.n.Ordinal, streamTimeout, err)
	}
	s.Logf("replica %d holds the new password of %s", s.n.Ordinal, AdminUser)
	return nil
}

// scramMatches reports whether a SCRAM-SHA-256 verifier, as pg_authid
// stores it, is one of password.
func scramMatches(verifier, password string) bool {
	rest, ok := strings.CutPrefix(strings.TrimSpace(verifier), "SCRAM-SHA-256$")
	if !ok {
		return false
	}
	iterSalt, keys, ok1 := strings.Cut(rest, "$")
	iter, salt64, ok2 := strings.Cut(iterSalt, ":")
	stored64, _, ok3 := strings.Cut(keys, ":")
	n, err := strconv.Atoi(iter)
	salt, err1 := base64.StdEncoding.DecodeString(salt64)
	stored, err2 := base64.StdEncoding.DecodeString(stored64)
	if !ok1 || !ok2 || !ok3 || err != nil || err1 != nil || err2 != nil || n < 1 || n > 1<<20 {
		return false
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, n, sha256.Size)
	if err != nil {
		return false
	}
	want := sha256.Sum256(hmacSHA256(salted, "Client Key"))
	return subtle.ConstantTimeCompare(want[:], stored) == 1
}

// settingName matches the parameter names a change may name in SQL: a
// name, or an extension's prefix.name.
var settingName = regexp.MustCompile(`^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$`)

// contexts returns the context (pg_settings.context: postmaster, sighup,
// user, …) of each parameter of the change the node knows.
func (s *step) contexts(ctx context.Context, a dbplane.HostAgent, n node) (map[string]string, error) {
	var quoted []string
	for _, k := range slices.Sorted(maps.Keys(s.Params)) {
		if settingName.MatchString(k) {
			quoted = append(quoted, quoteLiteral(k))
		}
	}
	out := map[string]string{}
	if len(quoted) == 0 {
		return out, nil
	}
	res, err := s.psql(ctx, a, n, "SELECT name, context FROM pg_settings WHERE name IN ("+strings.Join(quoted, ", ")+");\n")
	if err != nil {
		return nil, fmt.Errorf("while reading pg_settings of node %d: %w", n.Ordinal, err)
	}
	for line := range strings.Lines(res) {
		if name, c, ok := strings.Cut(strings.TrimSpace(line), "|"); ok {
			out[name] = c
		}
	}
	return out, nil
}

// checkParameters checks a change on the primary before the spec records
// it: every parameter must be one of pg_settings, and PostgreSQL must
// accept every value, which ALTER SYSTEM SET checks (the setting is reset
// at once: postgresql.conf holds the cluster's parameters). A refusal
// fails the task for good, naming the parameter as the API does.
func (e *Engine) checkParameters(ctx context.Context, s *step) error {
	if err := CheckParameters(s.Params); err != nil {
		return err
	}
	a, err := s.Agent(ctx, s.n.Node)
	if err != nil {
		return err
	}
	known, err := s.contexts(ctx, a, s.n)
	if err != nil {
		return err
	}
	return enginekit.CheckEach(s.Params, func(k, v string) (string, error) {
		c, ok := known[k]
		switch {
		case !ok:
			return fmt.Sprintf("is not a parameter of PostgreSQL %s", e.version(s.Cluster)), nil
		case v == "":
			s.Logf("%s (%s): back to its default", k, c)
		default:
			script := fmt.Sprintf("ALTER SYSTEM SET %s = %s;\nALTER SYSTEM RESET %s;\n", k, quoteLiteral(v), k)
			if _, err := s.psql(ctx, a, s.n, script); err != nil {
				return enginekit.Refuses("PostgreSQL", err), nil
			}
			s.Logf("%s = %s is valid (context %s)", k, v, c)
		}
		return "", nil
	})
}

// applyParameters applies a recorded change on the node, whose
// postgresql.conf the previous step rewrote: a reload, or a restart when a
// changed parameter takes effect only at server start (context
// postmaster), waiting until a replica streams again.
func (e *Engine) applyParameters(ctx context.Context, s *step) error {
	a, err := s.Agent(ctx, s.n.Node)
	if err != nil {
		return err
	}
	known, err := s.contexts(ctx, a, s.n)
	if err != nil {
		return err
	}
	var restart []string
	for _, k := range slices.Sorted(maps.Keys(s.Params)) {
		if c, ok := known[k]; !ok || c == "postmaster" {
			restart = append(restart, k)
		}
	}
	if len(restart) == 0 {
		if _, err := s.psql(ctx, a, s.n, "SELECT pg_reload_conf();\n"); err != nil {
			return fmt.Errorf("while reloading node %d: %w", s.n.Ordinal, err)
		}
		s.Logf("node %d reloaded its configuration: %s", s.n.Ordinal, enginekit.Names(s.Params))
		return nil
	}
	s.Logf("restarting node %d: %s take effect only at server start", s.n.Ordinal, strings.Join(restart, ", "))
	if err := e.stop(ctx, s); err != nil {
		return err
	}
	if err := e.start(ctx, s); err != nil {
		return err
	}
	if !s.n.isPrimary() {
		return e.verifyStreaming(ctx, s)
	}
	// The replicas reconnect to the restarted primary.
	for _, m := range others(s.Cluster, s.n) {
		if err := e.verifyStreaming(ctx, s.on(m)); err != nil {
			return err
		}
	}
	return nil
}
