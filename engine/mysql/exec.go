package mysql

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// maxStderr bounds how much of a failed command's output an error carries.
const maxStderr = enginekit.MaxStderr

// asMySQL returns a command run as the mysql OS user from the node's home,
// so that programs never start in a directory they cannot read.
func asMySQL(n node, argv ...string) dbplane.Command {
	return dbplane.Command{User: osUser, Argv: argv, Dir: n.home()}
}

// fileExists reports whether path exists on the host of n, as mysql sees
// it.
func fileExists(ctx context.Context, a dbplane.HostAgent, n node, path string) (bool, error) {
	return enginekit.FileExists(ctx, a, osUser, n.Node, path)
}

// sqlTimeout bounds one SQL script dbplane runs.
const sqlTimeout = time.Minute

// sqlCmd is the client command that runs a script on n as MariaDB's root,
// over the node's Unix socket as the root OS user (root authenticates with
// unix_socket only: it has no password). --no-defaults keeps option files
// of the host out of it. The script goes on standard input, never in the
// arguments, so that nothing it holds shows in the host's process list.
func sqlCmd(n node, script string) dbplane.Command {
	return dbplane.Command{
		User: "root",
		Argv: []string{mariadbClient, "--no-defaults", "--protocol=socket", "--socket=" + n.socketPath(),
			"--user=root", "--batch", "--connect-timeout=5"},
		Stdin:   []byte(script),
		Timeout: sqlTimeout,
	}
}

// sql runs an SQL script on node n and returns what its statements print,
// in batch form: a header row of column names, then rows, fields separated
// by tabs. secrets are cut out of a failure's message: a script that holds
// a password (a replica's CHANGE MASTER) must not leak it into the error of
// a step when the server quotes the statement back.
func (s *step) sql(ctx context.Context, a dbplane.HostAgent, n node, script string, secrets ...string) (string, error) {
	res, err := a.Run(ctx, sqlCmd(n, script))
	if err != nil {
		return "", fmt.Errorf("while running SQL on node %d: %w", n.Ordinal, err)
	}
	if res.ExitCode != 0 {
		return "", fmt.Errorf("while running SQL on node %d: mariadb exited with code %d: %s",
			n.Ordinal, res.ExitCode, redact(enginekit.Tail(res.Stderr, maxStderr), secrets...))
	}
	return res.Stdout, nil
}

// rows parses the batch output of one statement into rows keyed by column
// name.
func rows(out string) []map[string]string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) < 2 {
		return nil
	}
	header := strings.Split(lines[0], "\t")
	var out2 []map[string]string
	for _, l := range lines[1:] {
		fields := strings.Split(l, "\t")
		row := make(map[string]string, len(header))
		for i, h := range header {
			if i < len(fields) {
				row[h] = unescapeBatch(fields[i])
			}
		}
		out2 = append(out2, row)
	}
	return out2
}

// nameValues parses the output of SHOW STATUS or SHOW VARIABLES into a map.
func nameValues(out string) map[string]string {
	m := map[string]string{}
	for _, r := range rows(out) {
		m[strings.ToLower(r["Variable_name"])] = r["Value"]
	}
	return m
}

// unescapeBatch undoes the escaping of the client's batch output.
func unescapeBatch(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	return strings.NewReplacer(`\\`, `\`, `\t`, "\t", `\n`, "\n", `\0`, "\x00").Replace(s)
}

// redact replaces every secret in s.
func redact(s string, secrets ...string) string {
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

// quoteLiteral quotes s as an SQL string literal. With the default
// sql_mode a backslash escapes, so it is doubled too.
func quoteLiteral(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`, "\x00", `\0`).Replace(s) + "'"
}

// account names a MariaDB account, 'user'@'host'.
func account(user, host string) string { return quoteLiteral(user) + "@" + quoteLiteral(host) }
