package mysql_test

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
)

// fakeAgent is the kit's fake agent playing a pretend MariaDB, enough for
// the steps to believe their commands worked.
type fakeAgent struct {
	*enginetest.Agent
	status     map[string]string // what SHOW GLOBAL STATUS answers, by lower-case name
	slaveIDs   []int             // the server_ids SHOW SLAVE HOSTS lists
	adminHosts []string          // the hosts of the admin accounts
	attached   bool              // CHANGE MASTER ran
	replica    [2]string         // Slave_IO_Running, Slave_SQL_Running
	recovered  string            // what mariadbd --wsrep-recover logs
	adminHash  string            // the password hash of the admin accounts
	sysvars    map[string]string // READ_ONLY of the system variables, by upper-case name
	refuse     string            // a script containing it fails, as MariaDB refusing a value
}

func newFakeAgent(hostID int64) *fakeAgent {
	f := &fakeAgent{Agent: enginetest.NewAgent(hostID), replica: [2]string{"Yes", "Yes"},
		sysvars: map[string]string{"MAX_CONNECTIONS": "NO", "WAIT_TIMEOUT": "NO", "THREAD_HANDLING": "YES"},
		status: map[string]string{
			"rpl_semi_sync_master_status": "ON", "rpl_semi_sync_slave_status": "ON",
			"wsrep_local_state_comment": "Synced", "wsrep_cluster_status": "Primary", "wsrep_ready": "ON",
			"wsrep_cluster_state_uuid": "b0c5a1e4-0000-0000-0000-000000000001",
		}}
	f.StrictSpecs = true
	f.Exec = f.exec
	return f
}

// exec plays MariaDB's programs; the agent is locked.
func (f *fakeAgent) exec(cmd dbplane.Command, res *dbplane.CommandResult) {
	switch path.Base(cmd.Argv[0]) {
	case "mariadb-install-db":
		for _, a := range cmd.Argv {
			if d, ok := strings.CutPrefix(a, "--datadir="); ok {
				f.Dirs[path.Join(d, "mysql")] = true
			}
		}
	case "mariadb":
		if f.refuse != "" && strings.Contains(string(cmd.Stdin), f.refuse) {
			res.ExitCode, res.Stderr = 1, "ERROR 1231 (42000) at line 1: Variable can't be set to this value"
			break
		}
		res.Stdout = f.answer(string(cmd.Stdin))
	case "cat":
		content, ok := f.Files[cmd.Argv[len(cmd.Argv)-1]]
		if !ok {
			res.ExitCode, res.Stderr = 1, "No such file or directory"
		}
		res.Stdout = string(content)
	case "sed": // only ever the edit that marks grastate.dat safe to bootstrap
		p := cmd.Argv[len(cmd.Argv)-1]
		f.Files[p] = bytes.ReplaceAll(f.Files[p], []byte("safe_to_bootstrap: 0"), []byte("safe_to_bootstrap: 1"))
	case "mariadbd":
		if slices.Contains(cmd.Argv, "--wsrep-recover") {
			res.Stderr = f.recovered
		}
	}
}

// answer plays MariaDB for the statements the steps send.
func (f *fakeAgent) answer(script string) string {
	table := func(header string, rows ...string) string {
		return header + "\n" + strings.Join(append(rows, ""), "\n")
	}
	switch {
	case strings.Contains(script, "CHANGE MASTER"):
		f.attached = true
	case strings.Contains(script, "SHOW REPLICA STATUS"):
		if !f.attached {
			return ""
		}
		return table("Slave_IO_Running\tSlave_SQL_Running\tGtid_IO_Pos\tLast_IO_Error", f.replica[0]+"\t"+f.replica[1]+"\t0-1-7\t")
	case strings.Contains(script, "SHOW SLAVE HOSTS"):
		var rows []string
		for _, id := range f.slaveIDs {
			rows = append(rows, fmt.Sprintf("%d\t10.0.0.9\t3306\t1", id))
		}
		return table("Server_id\tHost\tPort\tMaster_id", rows...)
	case strings.Contains(script, "SHOW GLOBAL STATUS LIKE"):
		pattern := strings.ToLower(strings.Trim(strings.Fields(script)[4], "';"))
		var rows []string
		for _, k := range sortedKeys(f.status) {
			if strings.HasPrefix(k, strings.TrimSuffix(pattern, "%")) {
				rows = append(rows, k+"\t"+f.status[k])
			}
		}
		return table("Variable_name\tValue", rows...)
	case strings.Contains(script, "SELECT Host FROM mysql.user"):
		return table("Host", f.adminHosts...)
	case strings.Contains(script, "SELECT Host, authentication_string FROM mysql.user"):
		var rows []string
		for _, h := range f.adminHosts {
			rows = append(rows, h+"\t"+f.adminHash)
		}
		return table("Host\tauthentication_string", rows...)
	case strings.Contains(script, "ALTER USER"):
		f.adminHash = strings.Trim(strings.Fields(script)[len(strings.Fields(script))-1], "';")
	case strings.Contains(script, "information_schema.SYSTEM_VARIABLES"):
		var rows []string
		for _, k := range sortedKeys(f.sysvars) {
			if strings.Contains(script, "'"+k+"'") {
				rows = append(rows, k+"\t"+f.sysvars[k])
			}
		}
		return table("VARIABLE_NAME\tREAD_ONLY", rows...)
	}
	return ""
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// scripts returns the SQL scripts run on the host that contain substr.
func (f *fakeAgent) scripts(substr string) []string {
	var out []string
	for _, c := range f.Commands("mariadb") {
		if strings.Contains(string(c.Stdin), substr) {
			out = append(out, string(c.Stdin))
		}
	}
	return out
}

// The dialer and the store are the kit's.
type (
	fakeDialer = enginetest.Dialer
	fakeStore  = enginetest.Store
)
