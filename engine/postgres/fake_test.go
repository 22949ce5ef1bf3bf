package postgres_test

import (
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
)

// fakeAgent is the kit's fake agent playing initdb, pg_basebackup and a
// pretend PostgreSQL behind psql.
type fakeAgent struct {
	*enginetest.Agent
	replState string            // what pg_stat_replication answers
	verifier  string            // the admin role's password verifier
	settings  map[string]string // pg_settings: context by name
	refuse    string            // a script containing it fails, as PostgreSQL refusing a value
}

func newFakeAgent(hostID int64) *fakeAgent {
	f := &fakeAgent{Agent: enginetest.NewAgent(hostID), replState: "streaming|async",
		settings: map[string]string{"work_mem": "user", "shared_buffers": "postmaster", "max_connections": "postmaster"}}
	f.Exec = f.exec
	return f
}

// exec plays PostgreSQL's programs; the agent is locked.
func (f *fakeAgent) exec(cmd dbplane.Command, res *dbplane.CommandResult) {
	arg := func(flag string) string {
		for i, a := range cmd.Argv {
			if a == flag && i+1 < len(cmd.Argv) {
				return cmd.Argv[i+1]
			}
		}
		return ""
	}
	switch path.Base(cmd.Argv[0]) {
	case "initdb", "pg_basebackup":
		f.Files[path.Join(arg("-D"), "PG_VERSION")] = []byte("15\n")
	case "psql":
		script := string(cmd.Stdin)
		switch {
		case f.refuse != "" && strings.Contains(script, f.refuse):
			res.ExitCode, res.Stderr = 3, `psql:<stdin>:6: ERROR:  invalid value for parameter`
		case strings.Contains(script, "pg_stat_replication"):
			res.Stdout = f.replState + "\n"
		case strings.Contains(script, "FROM pg_settings"):
			for _, k := range slices.Sorted(maps.Keys(f.settings)) {
				if strings.Contains(script, "'"+k+"'") {
					res.Stdout += k + "|" + f.settings[k] + "\n"
				}
			}
		case strings.Contains(script, "FROM pg_authid"):
			res.Stdout = f.verifier + "\n"
		case strings.Contains(script, "ALTER ROLE admin PASSWORD"):
			f.verifier = strings.Trim(strings.Fields(script[strings.Index(script, "ALTER ROLE admin PASSWORD"):])[4], "';")
		}
	}
}

// The dialer and the store are the kit's.
type (
	fakeDialer = enginetest.Dialer
	fakeStore  = enginetest.Store
)
