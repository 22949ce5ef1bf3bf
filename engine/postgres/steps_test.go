package postgres_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
	"github.com/dbplane/dbplane/engine/postgres"
)

const password = "Tr0ub4dor&3-pw"

func TestCreateLeaksNoPassword(t *testing.T) {
	c := newCluster("trio", dbplane.TopologyReplication, dbplane.ReplicationSync, 3)
	e, agents := fakeEngine(c, password)
	for _, a := range agents {
		a.replState = "streaming|potential"
	}
	leaks := enginetest.RunLogged(t, e, &e.Logger, e.PlanCreate(c))
	leaks.Marker, leaks.Agents = "postgresql step", enginetest.KitAgents(agents)

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

	leaks.CheckKept(t, map[string]string{"admin password": password, "replication password": replPassword})
	leaks.CheckNotOnStdin(t, map[string]string{"admin password": password, "replication password": replPassword})
	leaks.CheckNotInFiles(t, map[string]string{"admin password": password})
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

	enginetest.CheckInitOnce(t, enginetest.Init{Engine: e, Handler: postgres.HandlerInit, Agent: primary.Agent,
		Program: "initdb", DataDir: c.Nodes[0].DataDir, Done: c.Nodes[0].DataDir + ".d/initdb.done",
		Lose: func() { delete(primary.Files, c.Nodes[0].DataDir+"/PG_VERSION") }})
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
		err := enginetest.RunFor(ctx, e, postgres.HandlerVerify, 1, 600*time.Millisecond, &log)
		enginetest.WantRetryable(t, err, "state catchup")
	})
}

func TestPrecheck(t *testing.T) {
	cases := append(enginetest.ListenerCases("10.0.0.1", 5432), enginetest.PrecheckCase{Name: "SocketPathTooLong",
		Node: func(n *dbplane.Node) { n.DataDir = "/" + strings.Repeat("d", 100) + "/postgresql/solo-0" }, Kind: dbplane.KindInvalid})
	enginetest.CheckPrecheck(t, enginekit.Handler(dbplane.EnginePostgreSQL, enginekit.StepPrecheck), "pg-7-0", cases,
		func(enginetest.PrecheckCase) enginetest.Prechecked {
			c := newCluster("solo", dbplane.TopologyStandalone, "", 1)
			e, agents := fakeEngine(c, password)
			return enginetest.Prechecked{Engine: e, Cluster: c, Agent: agents[1].Agent}
		})
}

func TestRollbackAndDeleteLeaveNothing(t *testing.T) {
	c := newCluster("trio", dbplane.TopologyReplication, dbplane.ReplicationQuorum, 3)
	e, agents := fakeEngine(c, password)
	for _, a := range agents {
		a.replState = "streaming|quorum"
	}
	enginetest.CheckRollbackAndDelete(t, enginetest.Teardown{Engine: e, Nodes: c.Nodes, Agents: enginetest.KitAgents(agents),
		Create: e.PlanCreate(c), Delete: e.PlanDelete(c)})
}

func TestStepErrors(t *testing.T) {
	e, _ := fakeEngine(newCluster("solo", dbplane.TopologyStandalone, "", 1), password)
	enginetest.CheckStepErrors(t, e, &e.Dialer, postgres.HandlerStart)
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
