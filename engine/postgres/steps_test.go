package postgres_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/engine/postgres"
)

const password = "Tr0ub4dor&3-pw"

func TestCreateLeaksNoPassword(t *testing.T) {
	ctx := context.Background()
	c := newCluster("trio", dbplane.TopologyReplication, dbplane.ReplicationSync, 3)
	e, agents := fakeEngine(c, password)
	var logs bytes.Buffer
	e.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, a := range agents {
		a.replState = "streaming|potential"
	}
	steps := e.PlanCreate(c)
	var log stepLog
	if err := runPlan(ctx, t, e, 1, steps, &log); err != nil {
		t.Fatal(err)
	}

	primary := agents[1]
	users := primary.Commands("psql")
	i := slices.IndexFunc(users, func(c dbplane.Command) bool { return bytes.Contains(c.Stdin, []byte("CREATE ROLE admin")) })
	if i < 0 {
		t.Fatalf("no psql script creates the admin user on the primary")
	}
	script := string(users[i].Stdin)
	checkVerifier(t, script, "admin", password)
	replPassword := replicationPassword(t, primary.File(t, c.Nodes[0].DataDir+".d/pgpass"))
	checkVerifier(t, script, "replicator", replPassword)
	for _, n := range c.Nodes[1:] {
		if got := replicationPassword(t, agents[n.HostID].File(t, n.DataDir+".d/pgpass")); got != replPassword {
			t.Errorf("node %d has another replication password than the primary", n.Ordinal)
		}
	}

	secrets := map[string]string{"admin password": password, "replication password": replPassword}
	for what, secret := range secrets {
		for _, s := range steps {
			if strings.Contains(string(s.Params), secret) || strings.Contains(s.Description, secret) {
				t.Errorf("step %q holds the %s", s.Name, what)
			}
		}
		for _, line := range log.All() {
			if strings.Contains(line, secret) {
				t.Errorf("step log holds the %s: %s", what, line)
			}
		}
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the engine's log holds the %s", what)
		}
		for _, a := range agents {
			for _, cmd := range a.Cmds {
				if strings.Contains(strings.Join(cmd.Argv, " "), secret) || strings.Contains(strings.Join(cmd.Env, " "), secret) {
					t.Errorf("host %d: command %v holds the %s in its arguments or environment", a.HostID, cmd.Argv, what)
				}
				if bytes.Contains(cmd.Stdin, []byte(secret)) {
					t.Errorf("host %d: command %v gets the %s on stdin, not its verifier", a.HostID, cmd.Argv, what)
				}
			}
		}
	}
	for _, a := range agents {
		for p, content := range a.Files {
			if bytes.Contains(content, []byte(password)) {
				t.Errorf("host %d: file %s holds the admin password", a.HostID, p)
			}
		}
	}
	if !strings.Contains(logs.String(), "postgresql step") {
		t.Errorf("the engine logged nothing at debug level; the leak check above proves nothing:\n%s", logs.String())
	}
}

// replicationPassword returns the password of a pgpass line.
func replicationPassword(t *testing.T, pgpass string) string {
	t.Helper()
	f := strings.SplitN(strings.TrimSpace(pgpass), ":", 5)
	if len(f) != 5 || f[2] != "replication" || f[3] != "replicator" || len(f[4]) < 24 {
		t.Fatalf("pgpass %q: want *:*:replication:replicator:<long password>", pgpass)
	}
	return f[4]
}

var verifierRE = regexp.MustCompile(`ALTER ROLE (\w+) WITH [A-Z ]+ PASSWORD 'SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):([^']+)'`)

// checkVerifier finds the SCRAM verifier the script sets for role and
// checks that it verifies password, as PostgreSQL would.
func checkVerifier(t *testing.T, script, role, password string) {
	t.Helper()
	for _, m := range verifierRE.FindAllStringSubmatch(script, -1) {
		if m[1] != role {
			continue
		}
		iter, _ := strconv.Atoi(m[2])
		salt, err1 := base64.StdEncoding.DecodeString(m[3])
		stored, err2 := base64.StdEncoding.DecodeString(m[4])
		server, err3 := base64.StdEncoding.DecodeString(m[5])
		if err1 != nil || err2 != nil || err3 != nil || iter != 4096 {
			t.Fatalf("malformed verifier for %s: %s", role, m[0])
		}
		salted, _ := pbkdf2.Key(sha256.New, password, salt, iter, 32)
		mac := func(msg string) []byte { h := hmac.New(sha256.New, salted); h.Write([]byte(msg)); return h.Sum(nil) }
		clientKey := sha256.Sum256(mac("Client Key"))
		if !bytes.Equal(clientKey[:], stored) || !bytes.Equal(mac("Server Key"), server) {
			t.Fatalf("the verifier set for %s does not match its password", role)
		}
		return
	}
	t.Fatalf("the script sets no SCRAM verifier for %s:\n%s", role, script)
}

func TestStepsAreIdempotent(t *testing.T) {
	ctx := context.Background()
	c := newCluster("duo1", dbplane.TopologyReplication, dbplane.ReplicationAsync, 2)
	e, agents := fakeEngine(c, password)
	var log stepLog
	if err := runPlan(ctx, t, e, 1, e.PlanCreate(c), &log); err != nil {
		t.Fatal(err)
	}
	primary, replica := agents[1], agents[2]

	t.Run("InitSkipsAnInitialisedPrimary", func(t *testing.T) {
		if err := e.RunStep(ctx, postgres.HandlerInit, 1, []byte(`{"ordinal":0}`), log.Logf); err != nil {
			t.Fatal(err)
		}
		if n := len(primary.Commands("initdb")); n != 1 {
			t.Fatalf("initdb ran %d times, want once", n)
		}
	})
	t.Run("InitRedoesAnInterruptedInitdb", func(t *testing.T) {
		delete(primary.Files, c.Nodes[0].DataDir+".d/initdb.done")
		if err := e.RunStep(ctx, postgres.HandlerInit, 1, []byte(`{"ordinal":0}`), log.Logf); err != nil {
			t.Fatal(err)
		}
		if n := len(primary.Commands("initdb")); n != 2 {
			t.Fatalf("initdb ran %d times, want twice", n)
		}
		if last := primary.Removed[len(primary.Removed)-1]; !slices.Equal(last, []string{c.Nodes[0].DataDir}) {
			t.Fatalf("removed %v before initdb, want the data directory emptied", last)
		}
	})
	t.Run("InitRedoesALostDataDirectory", func(t *testing.T) {
		delete(primary.Files, c.Nodes[0].DataDir+"/PG_VERSION")
		if err := e.RunStep(ctx, postgres.HandlerInit, 1, []byte(`{"ordinal":0}`), log.Logf); err != nil {
			t.Fatal(err)
		}
		if n := len(primary.Commands("initdb")); n != 3 {
			t.Fatalf("initdb ran %d times, want 3", n)
		}
	})
	t.Run("BaseBackupSkipsACompleteCopy", func(t *testing.T) {
		if err := e.RunStep(ctx, postgres.HandlerBaseBackup, 1, []byte(`{"ordinal":1}`), log.Logf); err != nil {
			t.Fatal(err)
		}
		if n := len(replica.Commands("pg_basebackup")); n != 1 {
			t.Fatalf("pg_basebackup ran %d times, want once", n)
		}
	})
	t.Run("BaseBackupRedoesAnIncompleteCopy", func(t *testing.T) {
		delete(replica.Files, c.Nodes[1].DataDir+"/standby.signal")
		if err := e.RunStep(ctx, postgres.HandlerBaseBackup, 1, []byte(`{"ordinal":1}`), log.Logf); err != nil {
			t.Fatal(err)
		}
		if n := len(replica.Commands("pg_basebackup")); n != 2 {
			t.Fatalf("pg_basebackup ran %d times, want twice", n)
		}
		if _, ok := replica.Files[c.Nodes[1].DataDir+"/standby.signal"]; !ok {
			t.Fatal("no standby.signal after the copy")
		}
		slots := 0
		for _, cmd := range primary.Commands("psql") {
			if bytes.Contains(cmd.Stdin, []byte("pg_create_physical_replication_slot('dbplane_node1', true)")) &&
				bytes.Contains(cmd.Stdin, []byte("WHERE NOT EXISTS")) {
				slots++
			}
		}
		if slots != 2 {
			t.Fatalf("%d slot creations, want one per copy, each a no-op when the slot exists", slots)
		}
	})
	t.Run("VerifyWaitsForTheModesSyncState", func(t *testing.T) {
		primary.replState = "streaming|async"
		if err := e.RunStep(ctx, postgres.HandlerVerify, 1, []byte(`{"ordinal":1}`), log.Logf); err != nil {
			t.Fatal(err)
		}
		primary.replState = "catchup|async"
		sctx, cancel := context.WithTimeout(ctx, 600*time.Millisecond)
		defer cancel()
		err := e.RunStep(sctx, postgres.HandlerVerify, 1, []byte(`{"ordinal":1}`), log.Logf)
		if err == nil || dbplane.IsPermanent(err) || !strings.Contains(err.Error(), "state catchup") {
			t.Fatalf("err = %v, want a retryable error saying the replica catches up", err)
		}
	})
}

func TestPrecheck(t *testing.T) {
	ctx := context.Background()
	params := []byte(`{"ordinal":0}`)
	for _, tc := range []struct {
		name    string
		ss      string
		running bool
		diskGB  int64
		kind    dbplane.Kind // 0: success
	}{
		{name: "Free", ss: "LISTEN 0 128 10.0.0.9:5432 0.0.0.0:*\nLISTEN 0 128 10.0.0.1:5433 0.0.0.0:*\n", diskGB: 100},
		{name: "TakenOnTheAddress", ss: "LISTEN 0 128 10.0.0.1:5432 0.0.0.0:*\n", diskGB: 100, kind: dbplane.KindConflict},
		{name: "TakenOnAllAddresses", ss: "LISTEN 0 128 *:5432 *:*\n", diskGB: 100, kind: dbplane.KindConflict},
		{name: "TakenOnIPv6Wildcard", ss: "LISTEN 0 128 [::]:5432 [::]:*\n", diskGB: 100, kind: dbplane.KindConflict},
		{name: "TakenByTheNodeItself", ss: "LISTEN 0 128 10.0.0.1:5432 0.0.0.0:*\n", running: true, diskGB: 100},
		{name: "DiskTooSmall", diskGB: 5, kind: dbplane.KindUnplaceable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster("solo", dbplane.TopologyStandalone, "", 1)
			e, agents := fakeEngine(c, password)
			a := agents[1]
			a.SS, a.DiskGB = tc.ss, tc.diskGB
			if tc.running {
				a.Running["pg-7-0"] = true
			}
			err := e.RunStep(ctx, enginekit.Handler(dbplane.EnginePostgreSQL, enginekit.StepPrecheck), 1, params, (&stepLog{}).Logf)
			switch {
			case tc.kind == 0 && err != nil:
				t.Fatalf("precheck: %v", err)
			case tc.kind != 0 && (!dbplane.IsPermanent(err) || dbplane.ErrorKind(err) != tc.kind):
				t.Fatalf("precheck: %v; want a permanent %s error", err, tc.kind)
			}
		})
	}
	t.Run("SocketPathTooLong", func(t *testing.T) {
		c := newCluster("solo", dbplane.TopologyStandalone, "", 1)
		c.Nodes[0].DataDir = "/" + strings.Repeat("d", 100) + "/postgresql/solo-0"
		e, _ := fakeEngine(c, password)
		err := e.RunStep(ctx, enginekit.Handler(dbplane.EnginePostgreSQL, enginekit.StepPrecheck), 1, params, (&stepLog{}).Logf)
		if !dbplane.IsPermanent(err) || dbplane.ErrorKind(err) != dbplane.KindInvalid {
			t.Fatalf("precheck: %v; want a permanent invalid error", err)
		}
	})
}

func TestRollbackAndDeleteLeaveNothing(t *testing.T) {
	ctx := context.Background()
	c := newCluster("trio", dbplane.TopologyReplication, dbplane.ReplicationQuorum, 3)
	e, agents := fakeEngine(c, password)
	for _, a := range agents {
		a.replState = "streaming|quorum"
	}
	var log stepLog
	check := func(t *testing.T) {
		t.Helper()
		for _, n := range c.Nodes {
			a := agents[n.HostID]
			if len(a.Running) != 0 {
				t.Errorf("host %d still runs %v", n.HostID, a.Running)
			}
			for p := range a.Files {
				t.Errorf("host %d still has file %s", n.HostID, p)
			}
			for p := range a.Dirs {
				if strings.HasPrefix(p, n.DataDir) {
					t.Errorf("host %d still has directory %s", n.HostID, p)
				}
			}
		}
	}
	steps := e.PlanCreate(c)
	t.Run("Rollback", func(t *testing.T) {
		if err := runPlan(ctx, t, e, 1, steps, &log); err != nil {
			t.Fatal(err)
		}
		if err := undoPlan(ctx, e, 1, steps, &log); err != nil {
			t.Fatal(err)
		}
		check(t)
	})
	t.Run("Delete", func(t *testing.T) {
		if err := runPlan(ctx, t, e, 1, steps, &log); err != nil {
			t.Fatal(err)
		}
		if err := runPlan(ctx, t, e, 1, e.PlanDelete(c), &log); err != nil {
			t.Fatal(err)
		}
		check(t)
		if err := runPlan(ctx, t, e, 1, e.PlanDelete(c), &log); err != nil {
			t.Fatalf("deleting again: %v", err)
		}
	})
}

func TestStepErrors(t *testing.T) {
	ctx := context.Background()
	c := newCluster("solo", dbplane.TopologyStandalone, "", 1)
	e, _ := fakeEngine(c, password)
	for name, tc := range map[string]struct {
		taskID int64
		params string
	}{
		"UnknownNode": {1, `{"ordinal":5}`},
		"BadParams":   {1, `{"ordinal":"x"}`},
		"UnknownTask": {9, `{"ordinal":0}`},
	} {
		t.Run(name, func(t *testing.T) {
			if err := e.RunStep(ctx, postgres.HandlerStart, tc.taskID, []byte(tc.params), (&stepLog{}).Logf); !dbplane.IsPermanent(err) {
				t.Fatalf("err = %v, want a permanent error", err)
			}
		})
	}
	t.Run("AgentUnavailable", func(t *testing.T) {
		e.Dialer = unavailableDialer{}
		err := e.RunStep(ctx, postgres.HandlerStart, 1, []byte(`{"ordinal":0}`), (&stepLog{}).Logf)
		if err == nil || dbplane.IsPermanent(err) {
			t.Fatalf("err = %v, want a retryable error", err)
		}
	})
}

type unavailableDialer struct{}

func (unavailableDialer) Agent(context.Context, int64) (dbplane.HostAgent, error) {
	return nil, dbplane.Errorf(dbplane.KindUnavailable, "agent unreachable")
}

// TestStartLimits: a node runs with PostgreSQL's fast-shutdown signal and
// its size as limits, and the step's log says whether the host enforces
// them.
func TestStartLimits(t *testing.T) {
	for _, tc := range []struct {
		name     string
		memoryMB int64
		noLimits string
		want     dbplane.Resources
		log      string
	}{
		{"Enforced", 0, "", dbplane.Resources{CPUMillis: 2000, MemoryMB: 4096}, "limits enforced (2000 millicpus, 4096 MB)"},
		{"PlacedMemory", 3072, "", dbplane.Resources{CPUMillis: 2000, MemoryMB: 3072}, "limits enforced (2000 millicpus, 3072 MB)"},
		{"NotEnforced", 0, "cgroup v2 is not available on this host", dbplane.Resources{CPUMillis: 2000, MemoryMB: 4096},
			"limits not enforced: cgroup v2 is not available on this host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster("solo", dbplane.TopologyStandalone, "", 1)
			c.Nodes[0].MemoryMB = tc.memoryMB
			e, agents := fakeEngine(c, password)
			a := agents[c.Nodes[0].HostID]
			a.NoLimits = tc.noLimits
			var log stepLog
			if err := e.RunStep(context.Background(), postgres.HandlerStart, 1, []byte(`{"ordinal":0}`), log.Logf); err != nil {
				t.Fatal(err)
			}
			if len(a.Instances) != 1 {
				t.Fatalf("instances started: %v, want one", a.Instances)
			}
			for _, inst := range a.Instances {
				if inst.StopSignal != "SIGINT" || inst.Resources == nil || *inst.Resources != tc.want {
					t.Errorf("stop signal %q, resources %+v; want SIGINT and %+v", inst.StopSignal, inst.Resources, tc.want)
				}
			}
			if lines := log.All(); !slices.ContainsFunc(lines, func(l string) bool { return strings.HasSuffix(l, "; "+tc.log) }) {
				t.Errorf("log = %q, want a line ending in %q", lines, tc.log)
			}
		})
	}
}
