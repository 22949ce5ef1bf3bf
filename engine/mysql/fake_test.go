package mysql_test

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
)

// fakeAgent is a HostAgent that records every call and keeps a pretend file
// system and a pretend MariaDB, enough for the steps to believe their
// commands worked.
type fakeAgent struct {
	mu         sync.Mutex
	hostID     int64
	diskGB     int64
	files      map[string][]byte
	dirs       map[string]bool
	running    map[string]dbplane.Instance
	cmds       []dbplane.Command
	calls      []string
	removed    [][]string
	packages   [][]string
	ss         string            // output of ss
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
	return &fakeAgent{hostID: hostID, diskGB: 100, files: map[string][]byte{}, dirs: map[string]bool{},
		running: map[string]dbplane.Instance{}, replica: [2]string{"Yes", "Yes"},
		sysvars: map[string]string{"MAX_CONNECTIONS": "NO", "WAIT_TIMEOUT": "NO", "THREAD_HANDLING": "YES"},
		status: map[string]string{
			"rpl_semi_sync_master_status": "ON", "rpl_semi_sync_slave_status": "ON",
			"wsrep_local_state_comment": "Synced", "wsrep_cluster_status": "Primary", "wsrep_ready": "ON",
			"wsrep_cluster_state_uuid": "b0c5a1e4-0000-0000-0000-000000000001",
		}}
}

var _ dbplane.HostAgent = (*fakeAgent)(nil)

func (f *fakeAgent) record(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeAgent) Facts(context.Context) (dbplane.HostFacts, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("Facts")
	return dbplane.HostFacts{Hostname: fmt.Sprintf("h%d", f.hostID), OS: "linux", Arch: "amd64", CPUs: 2,
		MemoryMB: 4096, DiskGB: f.diskGB, DataRoot: "/data"}, nil
}

func (f *fakeAgent) EnsurePackages(_ context.Context, pkgs []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("EnsurePackages %v", pkgs)
	f.packages = append(f.packages, pkgs)
	return nil
}

func (f *fakeAgent) EnsureUser(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("EnsureUser %s", name)
	return nil
}

func (f *fakeAgent) EnsureDir(_ context.Context, p, owner string, mode uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("EnsureDir %s %s %o", p, owner, mode)
	f.dirs[p] = true
	return nil
}

func (f *fakeAgent) WriteFile(_ context.Context, file dbplane.File) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("WriteFile %s %s %o", file.Path, file.Owner, file.Mode)
	f.files[file.Path] = bytes.Clone(file.Content)
	return nil
}

func (f *fakeAgent) Run(_ context.Context, cmd dbplane.Command) (*dbplane.CommandResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("Run %s %s", cmd.User, strings.Join(cmd.Argv, " "))
	f.cmds = append(f.cmds, cmd)
	res := &dbplane.CommandResult{}
	switch path.Base(cmd.Argv[0]) {
	case "test":
		p := cmd.Argv[len(cmd.Argv)-1]
		if _, ok := f.files[p]; !ok && !f.dirs[p] {
			res.ExitCode = 1
		}
	case "ss":
		res.Stdout = f.ss
	case "mariadb-install-db":
		for _, a := range cmd.Argv {
			if d, ok := strings.CutPrefix(a, "--datadir="); ok {
				f.dirs[path.Join(d, "mysql")] = true
			}
		}
	case "mariadb":
		if f.refuse != "" && strings.Contains(string(cmd.Stdin), f.refuse) {
			res.ExitCode, res.Stderr = 1, "ERROR 1231 (42000) at line 1: Variable can't be set to this value"
			break
		}
		res.Stdout = f.answer(string(cmd.Stdin))
	case "cat":
		content, ok := f.files[cmd.Argv[len(cmd.Argv)-1]]
		if !ok {
			res.ExitCode, res.Stderr = 1, "No such file or directory"
		}
		res.Stdout = string(content)
	case "sed": // only ever the edit that marks grastate.dat safe to bootstrap
		p := cmd.Argv[len(cmd.Argv)-1]
		f.files[p] = bytes.ReplaceAll(f.files[p], []byte("safe_to_bootstrap: 0"), []byte("safe_to_bootstrap: 1"))
	case "mariadbd":
		if slices.Contains(cmd.Argv, "--wsrep-recover") {
			res.Stderr = f.recovered
		}
	}
	return res, nil
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

func (f *fakeAgent) StartInstance(_ context.Context, inst dbplane.Instance) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("StartInstance %s %s %s", inst.ID, inst.User, strings.Join(inst.Argv, " "))
	if cur, ok := f.running[inst.ID]; ok && !slices.Equal(cur.Argv, inst.Argv) {
		return dbplane.Permanent(dbplane.Errorf(dbplane.KindConflict, "instance %s is supervised with a different spec; stop it first", inst.ID))
	}
	f.running[inst.ID] = inst
	return nil
}

func (f *fakeAgent) StopInstance(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("StopInstance %s", id)
	delete(f.running, id)
	return nil
}

func (f *fakeAgent) InstanceStatus(_ context.Context, id string) (*dbplane.InstanceStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("InstanceStatus %s", id)
	if _, ok := f.running[id]; !ok {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "no instance %s", id)
	}
	return &dbplane.InstanceStatus{ID: id, Running: true, PID: 42}, nil
}

func (f *fakeAgent) RemoveInstance(_ context.Context, id string, paths []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("RemoveInstance %s %v", id, paths)
	delete(f.running, id)
	f.removed = append(f.removed, paths)
	for _, p := range paths {
		for k := range f.files {
			if k == p || strings.HasPrefix(k, p+"/") {
				delete(f.files, k)
			}
		}
		for k := range f.dirs {
			if k == p || strings.HasPrefix(k, p+"/") {
				delete(f.dirs, k)
			}
		}
	}
	return nil
}

// commands returns the commands run so far whose program is named prog.
func (f *fakeAgent) commands(prog string) []dbplane.Command {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []dbplane.Command
	for _, c := range f.cmds {
		if path.Base(c.Argv[0]) == prog {
			out = append(out, c)
		}
	}
	return out
}

// scripts returns the SQL scripts run on the host that contain substr.
func (f *fakeAgent) scripts(substr string) []string {
	var out []string
	for _, c := range f.commands("mariadb") {
		if strings.Contains(string(c.Stdin), substr) {
			out = append(out, string(c.Stdin))
		}
	}
	return out
}

func (f *fakeAgent) file(t *testing.T, p string) string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.files[p]
	if !ok {
		t.Fatalf("host %d has no file %s", f.hostID, p)
	}
	return string(b)
}

// The dialer and the store are the kit's.
type (
	fakeDialer = enginetest.Dialer
	fakeStore  = enginetest.Store
)
