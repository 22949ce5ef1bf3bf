package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// asPostgres returns a command run as the postgres OS user from the node's
// home, so that programs never start in a directory they cannot read.
func asPostgres(n node, argv ...string) dbplane.Command {
	return dbplane.Command{User: osUser, Argv: argv, Dir: n.home()}
}

// fileExists reports whether path exists on the host of n, as postgres sees
// it.
func fileExists(ctx context.Context, a dbplane.HostAgent, n node, path string) (bool, error) {
	return enginekit.FileExists(ctx, a, osUser, n.Node, path)
}

// allExist reports whether every path exists on the host of n.
func allExist(ctx context.Context, a dbplane.HostAgent, n node, paths ...string) (bool, error) {
	return enginekit.AllExist(ctx, a, osUser, n.Node, paths...)
}

// psql runs an SQL script on the node as the postgres superuser, over the
// node's Unix socket (peer authentication: no password exists for it). The
// script goes on standard input, never in the arguments, so that nothing it
// holds shows in the host's process list. Rows come back unaligned, fields
// separated by '|'.
func (s *step) psql(ctx context.Context, a dbplane.HostAgent, n node, script string) (string, error) {
	cmd := asPostgres(n, s.bin("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
		"-h", n.socketDir(), "-p", fmt.Sprint(n.Port), "-U", osUser, "-d", "postgres", "-f", "-")
	cmd.Env = []string{"PGCONNECT_TIMEOUT=10"}
	cmd.Stdin = []byte(sessionSettings + script)
	cmd.Timeout = time.Minute
	res, err := enginekit.Run(ctx, a, cmd)
	if err != nil {
		return "", fmt.Errorf("while running SQL on node %d: %w", n.Ordinal, err)
	}
	return strings.TrimSpace(res.Stdout), nil
}

// sessionSettings start every script dbplane runs. Terse errors and no
// statement logging keep role passwords (sent as SCRAM verifiers) out of
// the server log and out of subtask errors. A local commit does not wait for
// a synchronous standby, which does not exist yet while a cluster is built.
const sessionSettings = `\set VERBOSITY terse
SET synchronous_commit = local;
SET log_statement = 'none';
SET log_min_error_statement = panic;
SET log_min_duration_statement = -1;
`

// quoteLiteral quotes s as an SQL string literal.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
