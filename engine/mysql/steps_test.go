package mysql_test

import (
	"cmp"
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
	"github.com/dbplane/dbplane/engine/mysql"
)

const password = "Tr0ub4dor&3-pw"

func TestCreateLeaksNoPassword(t *testing.T) {
	for _, topology := range []string{dbplane.TopologyReplication, dbplane.TopologyGalera} {
		t.Run(topology, func(t *testing.T) {
			c := newCluster("trio", topology, dbplane.ReplicationSync, 3)
			if topology == dbplane.TopologyGalera {
				c.Spec.ReplicationMode = ""
			}
			e, agents := fakeEngine(c, password)
			leaks := enginetest.RunLogged(t, e, &e.Logger, e.PlanCreate(c))
			leaks.Marker, leaks.Agents = "mysql step", enginetest.KitAgents(agents)
			primary := agents[1]
			admin := primary.scripts("CREATE USER IF NOT EXISTS 'admin'")
			if len(admin) != 1 {
				t.Fatalf("%d scripts create the admin accounts on node 0, want 1", len(admin))
			}
			if want := "IDENTIFIED BY PASSWORD '" + mysql.NativeHash(password) + "'"; !strings.Contains(admin[0], want) {
				t.Errorf("the admin accounts are not given the hash of the password (%s):\n%s", want, admin[0])
			}
			secrets := map[string]string{"admin password": password}
			for what, secret := range machineSecrets(t, c, agents) {
				secrets[what] = secret
			}
			leaks.CheckKept(t, secrets)
			// CHANGE MASTER on stdin and sst.cnf carry the passwords of
			// dbplane's own accounts as they are: only the admin password
			// must stay out of both.
			leaks.CheckNotOnStdin(t, map[string]string{"admin password": password})
			leaks.CheckNotInFiles(t, map[string]string{"admin password": password})
		})
	}
}

var (
	masterPasswordRE = regexp.MustCompile(`MASTER_USER = '(dbplane_repl\d)', MASTER_PASSWORD = '([^']+)'`)
	sstAuthRE        = regexp.MustCompile(`wsrep_sst_auth = dbplane_sst:(\S+)`)
)

// machineSecrets returns the passwords dbplane drew for its own accounts
// (replication, state transfer) and checks each reaches its server only as
// a hash.
func machineSecrets(t *testing.T, c *dbplane.Cluster, agents map[int64]*fakeAgent) map[string]string {
	t.Helper()
	out := map[string]string{}
	primary := agents[c.Nodes[0].HostID]
	hashed := func(user, secret string) {
		t.Helper()
		want := "IDENTIFIED BY PASSWORD '" + mysql.NativeHash(secret) + "'"
		if !slices.ContainsFunc(primary.scripts("'"+user+"'@"), func(s string) bool { return strings.Contains(s, want) }) {
			t.Errorf("node 0 does not get the hash of the password of %s", user)
		}
	}
	if c.Topology == dbplane.TopologyGalera {
		for _, n := range c.Nodes {
			m := sstAuthRE.FindStringSubmatch(agents[n.HostID].File(t, n.DataDir+".d/conf.d/sst.cnf"))
			if m == nil || len(m[1]) < 24 {
				t.Fatalf("node %d: sst.cnf names no long state transfer password", n.Ordinal)
			}
			if out["state transfer password"] != "" && out["state transfer password"] != m[1] {
				t.Errorf("node %d has another state transfer password than node 0", n.Ordinal)
			}
			out["state transfer password"] = m[1]
		}
		hashed("dbplane_sst", out["state transfer password"])
		return out
	}
	for _, n := range c.Nodes[1:] {
		scripts := agents[n.HostID].scripts("CHANGE MASTER")
		if len(scripts) != 1 {
			t.Fatalf("replica %d: %d CHANGE MASTER scripts, want 1", n.Ordinal, len(scripts))
		}
		m := masterPasswordRE.FindStringSubmatch(scripts[0])
		if m == nil || len(m[2]) < 24 {
			t.Fatalf("replica %d: no replication account with a long password in %s", n.Ordinal, scripts[0])
		}
		hashed(m[1], m[2])
		out["replication password of "+m[1]] = m[2]
	}
	return out
}

func TestReplicationSteps(t *testing.T) {
	ctx := context.Background()
	c := newCluster("trio", dbplane.TopologyReplication, dbplane.ReplicationSync, 3)
	e, agents := fakeEngine(c, password)
	primary := agents[1]
	primary.status["rpl_semi_sync_master_clients"] = "0"
	var log stepLog
	if err := runPlan(ctx, t, e, 1, e.PlanCreate(c)[:17], &log); err != nil { // up to Create users
		t.Fatal(err)
	}
	t.Run("UsersPauseSemiSyncWithoutReplicas", func(t *testing.T) {
		if n := len(primary.scripts("SET GLOBAL rpl_semi_sync_master_enabled = OFF")); n != 1 {
			t.Fatalf("semi-sync paused %d times, want once while no replica is attached", n)
		}
		primary.status["rpl_semi_sync_master_clients"] = "2"
		if err := e.RunStep(ctx, mysql.HandlerCreateUsers, 1, []byte(`{"ordinal":0}`), log.Logf); err != nil {
			t.Fatal(err)
		}
		if n := len(primary.scripts("SET GLOBAL rpl_semi_sync_master_enabled = OFF")); n != 1 {
			t.Fatalf("semi-sync paused again with replicas attached")
		}
	})
	t.Run("UsersDropStaleAdminAccounts", func(t *testing.T) {
		primary.adminHosts = []string{"127.0.0.0/255.0.0.0", "192.168.0.0/255.255.0.0"}
		if err := e.RunStep(ctx, mysql.HandlerCreateUsers, 1, []byte(`{"ordinal":0}`), log.Logf); err != nil {
			t.Fatal(err)
		}
		s := primary.scripts("CREATE USER IF NOT EXISTS 'admin'")
		last := s[len(s)-1]
		for _, want := range []string{"DROP USER IF EXISTS 'admin'@'192.168.0.0/255.255.0.0';",
			"REVOKE SUPER, READ_ONLY ADMIN, FILE ON *.* FROM 'admin'@'127.0.0.0/255.0.0.0';",
			"GRANT ALL PRIVILEGES ON *.* TO 'admin'@'10.0.0.3' WITH GRANT OPTION;",
			"DROP USER IF EXISTS 'mysql'@'localhost';"} {
			if !strings.Contains(last, want) {
				t.Errorf("users script lacks %q:\n%s", want, last)
			}
		}
		if strings.Contains(last, "DROP USER IF EXISTS 'admin'@'127.0.0.0/255.0.0.0'") {
			t.Errorf("users script drops an allowed account:\n%s", last)
		}
	})
	t.Run("AttachFirstStartsThenRestartsReplication", func(t *testing.T) {
		for range 2 {
			if err := e.RunStep(ctx, mysql.HandlerAttachReplica, 1, []byte(`{"ordinal":1}`), log.Logf); err != nil {
				t.Fatal(err)
			}
		}
		s := agents[2].scripts("CHANGE MASTER")
		if len(s) != 2 || strings.Contains(s[0], "STOP SLAVE") || !strings.HasPrefix(s[1], "STOP SLAVE;") {
			t.Fatalf("attach scripts %q: want the first without STOP SLAVE, the second stopping first", s)
		}
		for _, want := range []string{"MASTER_HOST = '10.0.0.1', MASTER_PORT = 3306", "MASTER_USE_GTID = slave_pos", "START SLAVE;"} {
			if !strings.Contains(s[0], want) {
				t.Errorf("attach script lacks %q: %s", want, s[0])
			}
		}
		if g := primary.scripts("GRANT REPLICATION SLAVE ON *.* TO 'dbplane_repl1'@'10.0.0.2'"); len(g) != 2 {
			t.Errorf("%d grants of the replication account of replica 1 from its address, want 2", len(g))
		}
	})
	t.Run("AttachRefusesThePrimary", func(t *testing.T) {
		if err := e.RunStep(ctx, mysql.HandlerAttachReplica, 1, []byte(`{"ordinal":0}`), log.Logf); !dbplane.IsPermanent(err) {
			t.Fatalf("err = %v, want a permanent error", err)
		}
	})
	t.Run("VerifyReplicaWaitsForItsThreads", func(t *testing.T) {
		agents[2].replica = [2]string{"Connecting", "Yes"}
		err := enginetest.RunFor(ctx, e, mysql.HandlerVerifyReplica, 1, 600*time.Millisecond, &log)
		enginetest.WantRetryable(t, err, "Slave_IO_Running Connecting")
		agents[2].replica = [2]string{"Yes", "Yes"}
		if err := e.RunStep(ctx, mysql.HandlerVerifyReplica, 1, []byte(`{"ordinal":1}`), log.Logf); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("VerifyReplicationWantsEverySemiSyncClient", func(t *testing.T) {
		primary.status["rpl_semi_sync_master_clients"] = "1"
		err := enginetest.RunFor(ctx, e, mysql.HandlerVerifyReplication, 0, 600*time.Millisecond, &log)
		enginetest.WantRetryable(t, err, "Rpl_semi_sync_master_clients 1 of 2")
		if len(primary.scripts("SET GLOBAL rpl_semi_sync_master_enabled = ON")) == 0 {
			t.Error("verifying did not turn semi-sync on")
		}
		primary.status["rpl_semi_sync_master_clients"] = "2"
		primary.slaveIDs = []int{2}
		err = enginetest.RunFor(ctx, e, mysql.HandlerVerifyReplication, 0, 600*time.Millisecond, &log)
		enginetest.WantRetryable(t, err, "node 2 (server_id 3) is not connected")
	})
}

func TestGaleraSteps(t *testing.T) {
	ctx := context.Background()
	params := func(o string) []byte { return []byte(`{"ordinal":` + o + `}`) }
	setup := func(t *testing.T) (*mysql.Engine, map[int64]*fakeAgent, *stepLog) {
		c := newCluster("gal3", dbplane.TopologyGalera, "", 3)
		e, agents := fakeEngine(c, password)
		log := &stepLog{}
		for _, s := range e.PlanCreate(c)[:15] { // the hosts' steps
			if err := e.RunStep(ctx, s.Handler, 1, s.Params, log.Logf); err != nil {
				t.Fatal(err)
			}
		}
		return e, agents, log
	}
	argv := func(a *fakeAgent) string { return strings.Join(a.Spec("my-7-0").Argv, " ") }
	t.Run("BootstrapsAlone", func(t *testing.T) {
		e, agents, log := setup(t)
		if err := e.RunStep(ctx, mysql.HandlerBootstrap, 1, params("0"), log.Logf); err != nil {
			t.Fatal(err)
		}
		if got := argv(agents[1]); !strings.HasSuffix(got, "--wsrep-new-cluster") {
			t.Fatalf("member 0 runs %q, want it bootstrapped", got)
		}
		t.Run("AgainDoesNothing", func(t *testing.T) {
			if err := e.RunStep(ctx, mysql.HandlerBootstrap, 1, params("0"), log.Logf); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("RejoinRestartsWithoutTheFlag", func(t *testing.T) {
			if err := e.RunStep(ctx, mysql.HandlerRejoin, 1, params("0"), log.Logf); err != nil {
				t.Fatal(err)
			}
			if got := argv(agents[1]); strings.Contains(got, "--wsrep-new-cluster") {
				t.Fatalf("member 0 runs %q after rejoining", got)
			}
			if !slices.Contains(agents[1].Calls, "StopInstance my-7-0") {
				t.Fatal("member 0 was not stopped before it restarted")
			}
		})
	})
	t.Run("JoinsRunningMembersInsteadOfBootstrapping", func(t *testing.T) {
		e, agents, log := setup(t)
		if err := e.RunStep(ctx, mysql.HandlerJoin, 1, params("2"), log.Logf); err != nil {
			t.Fatal(err)
		}
		if err := e.RunStep(ctx, mysql.HandlerBootstrap, 1, params("0"), log.Logf); err != nil {
			t.Fatal(err)
		}
		if got := argv(agents[1]); strings.Contains(got, "--wsrep-new-cluster") {
			t.Fatalf("member 0 runs %q while member 2 runs: it would split the cluster", got)
		}
	})
	t.Run("RejoinLeavesALoneMemberRunning", func(t *testing.T) {
		e, agents, log := setup(t)
		if err := e.RunStep(ctx, mysql.HandlerBootstrap, 1, params("0"), log.Logf); err != nil {
			t.Fatal(err)
		}
		agents[1].status["wsrep_cluster_size"] = "1"
		enginetest.WantRetryable(t, e.RunStep(ctx, mysql.HandlerRejoin, 1, params("0"), log.Logf), "alone")
		if slices.Contains(agents[1].Calls, "StopInstance my-7-0") {
			t.Fatal("a lone member 0 was stopped")
		}
	})
	t.Run("UsersSetTheTransferAccountOnRunningMembers", func(t *testing.T) {
		e, agents, log := setup(t)
		for _, o := range []string{"0", "1"} {
			if err := e.RunStep(ctx, mysql.HandlerJoin, 1, params(o), log.Logf); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.RunStep(ctx, mysql.HandlerCreateUsers, 1, params("0"), log.Logf); err != nil {
			t.Fatal(err)
		}
		for host, want := range map[int64]int{1: 1, 2: 1, 3: 0} {
			if got := len(agents[host].scripts("SET GLOBAL wsrep_sst_auth")); got != want {
				t.Errorf("host %d: the transfer account set %d times, want %d", host, got, want)
			}
		}
		if got := agents[1].scripts("GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR ON *.* TO 'dbplane_sst'@'localhost'"); len(got) != 1 {
			t.Errorf("the transfer account was created %d times on member 0, want once", len(got))
		}
	})
	t.Run("VerifyWantsEveryMemberSynced", func(t *testing.T) {
		e, agents, log := setup(t)
		agents[3].status["wsrep_local_state_comment"] = "Joining: receiving State Transfer"
		err := enginetest.RunFor(ctx, e, mysql.HandlerVerifyGalera, 0, 600*time.Millisecond, log)
		enginetest.WantRetryable(t, err, "member 2")
		enginetest.WantRetryable(t, err, "Joining")
		agents[3].status["wsrep_local_state_comment"] = "Synced"
		agents[2].status["wsrep_cluster_size"] = "2"
		err = enginetest.RunFor(ctx, e, mysql.HandlerVerifyGalera, 0, 600*time.Millisecond, log)
		enginetest.WantRetryable(t, err, "wsrep_cluster_size 2 of 3")
	})
}

func TestStepsAreIdempotent(t *testing.T) {
	ctx := context.Background()
	c := newCluster("duo1", dbplane.TopologyReplication, dbplane.ReplicationAsync, 2)
	e, agents := fakeEngine(c, password)
	var log stepLog
	if err := runPlan(ctx, t, e, 1, e.PlanCreate(c), &log); err != nil {
		t.Fatal(err)
	}
	primary := agents[1]
	t.Run("StartSupervisesMariadbd", func(t *testing.T) {
		inst := primary.Spec("my-7-0")
		want := []string{"/usr/sbin/mariadbd", "--defaults-file=" + c.Nodes[0].DataDir + ".d/my.cnf"}
		if !slices.Equal(inst.Argv, want) || inst.User != "mysql" || inst.StopSignal != "SIGTERM" ||
			inst.Resources == nil || inst.Resources.CPUMillis != 2000 || inst.Resources.MemoryMB != 4096 {
			t.Fatalf("instance %+v: want mariadbd with the node's my.cnf only, as mysql, stopped by SIGTERM, limited to 2 CPUs and 4096 MB", inst)
		}
	})
	enginetest.CheckInitOnce(t, enginetest.Init{Engine: e, Handler: mysql.HandlerInit, Agent: primary.Agent,
		Program: "mariadb-install-db", DataDir: c.Nodes[0].DataDir, Done: c.Nodes[0].DataDir + ".d/install-db.done",
		Lose: func() { delete(primary.Dirs, c.Nodes[0].DataDir+"/mysql") }})
	t.Run("InitRunsAsMySQLWithSocketRoot", func(t *testing.T) {
		cmd := primary.Commands("mariadb-install-db")[0]
		if cmd.User != "mysql" || !slices.Contains(cmd.Argv, "--auth-root-authentication-method=socket") || !slices.Contains(cmd.Argv, "--no-defaults") {
			t.Fatalf("mariadb-install-db ran as %s with %v", cmd.User, cmd.Argv)
		}
	})
	t.Run("InitUsesTheNodesOwnTmpdir", func(t *testing.T) {
		tmp := c.Nodes[0].DataDir + ".d/tmp"
		cmd := primary.Commands("mariadb-install-db")[0]
		if !slices.Contains(cmd.Argv, "--tmpdir="+tmp) || !primary.Dirs[tmp] {
			t.Fatalf("mariadb-install-db ran with %v (prepared %s: %v): want the node's own tmpdir, prepared before", cmd.Argv, tmp, primary.Dirs[tmp])
		}
	})
	t.Run("SQLRunsAsRootOverTheSocket", func(t *testing.T) {
		cmd := primary.Commands("mariadb")[0]
		if cmd.User != "root" || !slices.Contains(cmd.Argv, "--socket="+c.Nodes[0].DataDir+".d/mariadbd.sock") ||
			!slices.Contains(cmd.Argv, "--no-defaults") || len(cmd.Stdin) == 0 {
			t.Fatalf("SQL ran as %s with %v: want root over the node's socket, the script on stdin", cmd.User, cmd.Argv)
		}
	})
}

func TestPrecheck(t *testing.T) {
	cases := append(enginetest.ListenerCases("10.0.0.1", 3306),
		enginetest.PrecheckCase{Name: "GaleraPortFree", SS: "LISTEN 0 128 10.0.0.1:4567 0.0.0.0:*\n"},
		enginetest.PrecheckCase{Name: "GaleraPortTaken", Topology: dbplane.TopologyGalera, SS: "LISTEN 0 128 0.0.0.0:4567 0.0.0.0:*\n",
			Kind: dbplane.KindConflict, Says: "port 4567"},
		enginetest.PrecheckCase{Name: "GaleraSSTPortTaken", Topology: dbplane.TopologyGalera, SS: "LISTEN 0 128 *:4444 *:*\n",
			Kind: dbplane.KindConflict, Says: "port 4444"},
		enginetest.PrecheckCase{Name: "GaleraISTPortTaken", Topology: dbplane.TopologyGalera, SS: "LISTEN 0 128 10.0.0.1:4667 *:*\n",
			Kind: dbplane.KindConflict, Says: "port 4667"},
		enginetest.PrecheckCase{Name: "SocketPathTooLong", Topology: dbplane.TopologyGalera, Kind: dbplane.KindInvalid,
			Node: func(n *dbplane.Node) { n.DataDir = "/" + strings.Repeat("d", 100) + "/mysql/solo-0" }},
		enginetest.PrecheckCase{Name: "GaleraPortsPast65535", Topology: dbplane.TopologyGalera, Kind: dbplane.KindInvalid,
			Node: func(n *dbplane.Node) { n.Port = 64500 }})
	enginetest.CheckPrecheck(t, enginekit.Handler(dbplane.EngineMySQL, enginekit.StepPrecheck), "my-7-0", cases,
		func(tc enginetest.PrecheckCase) enginetest.Prechecked {
			topology := cmp.Or(tc.Topology, dbplane.TopologyStandalone)
			c := newCluster("solo", topology, "", 1)
			e, agents := fakeEngine(c, password)
			return enginetest.Prechecked{Engine: e, Cluster: c, Agent: agents[1].Agent}
		})
}

// TestInstallAddsSocatForGalera: galera state transfers need socat, even
// with a catalog that forgets it.
func TestInstallAddsSocatForGalera(t *testing.T) {
	cat := dbplane.DefaultCatalog()
	for i, ev := range cat.Engines {
		if ev.Engine == dbplane.EngineMySQL {
			cat.Engines[i].Packages = slices.DeleteFunc(ev.Packages, func(p string) bool { return p == "socat" })
		}
	}
	for topology, want := range map[string]bool{dbplane.TopologyGalera: true, dbplane.TopologyReplication: false} {
		c := newCluster("trio", topology, "", 3)
		e, agents := fakeEngine(c, password)
		e.Catalog = cat
		if err := e.RunStep(context.Background(), enginekit.Handler(dbplane.EngineMySQL, enginekit.StepInstall), 1, []byte(`{"ordinal":0}`), (&stepLog{}).Logf); err != nil {
			t.Fatal(err)
		}
		got := agents[1].Packages[0]
		if !slices.Contains(got, "mariadb-server") || !slices.Contains(got, "galera-4") || slices.Contains(got, "socat") != want {
			t.Errorf("%s: packages %v; socat wanted: %v", topology, got, want)
		}
	}
}

func TestAllowlistAccounts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		allowlist []string
		addrs     []string
		want      []string
		invalid   bool
	}{
		{name: "DefaultLoopbackCluster", addrs: []string{"127.0.0.11", "127.0.0.12"},
			want: []string{"127.0.0.0/255.0.0.0", "::1"}},
		{name: "DefaultNetworkCluster", addrs: []string{"10.0.0.1", "fd00::2"},
			want: []string{"127.0.0.0/255.0.0.0", "::1", "10.0.0.1", "fd00::2"}},
		{name: "Allowlist", allowlist: []string{"10.1.0.0/16", "192.168.7.9", "10.1.2.3/16", "fd00::7", "0.0.0.0/0"}, addrs: []string{"10.0.0.1"},
			want: []string{"10.1.0.0/255.255.0.0", "192.168.7.9", "fd00::7", "0.0.0.0/0.0.0.0"}},
		{name: "IPv6Network", allowlist: []string{"fd00::/8"}, addrs: []string{"10.0.0.1"}, invalid: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster("duo1", dbplane.TopologyStandalone, "", len(tc.addrs))
			for i, a := range tc.addrs {
				c.Nodes[i].Address = a
			}
			c.Spec.Allowlist = tc.allowlist
			e, agents := fakeEngine(c, password)
			err := e.RunStep(context.Background(), mysql.HandlerCreateUsers, 1, []byte(`{"ordinal":0}`), (&stepLog{}).Logf)
			if tc.invalid {
				enginetest.WantPermanent(t, err, dbplane.KindInvalid)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			script := agents[1].scripts("CREATE USER IF NOT EXISTS 'admin'")[0]
			var got []string
			for _, m := range regexp.MustCompile(`CREATE USER IF NOT EXISTS 'admin'@'([^']+)'`).FindAllStringSubmatch(script, -1) {
				got = append(got, m[1])
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("admin accounts from %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRollbackAndDeleteLeaveNothing(t *testing.T) {
	for _, topology := range []string{dbplane.TopologyReplication, dbplane.TopologyGalera} {
		t.Run(topology, func(t *testing.T) {
			c := newCluster("trio", topology, "", 3)
			e, agents := fakeEngine(c, password)
			enginetest.CheckRollbackAndDelete(t, enginetest.Teardown{Engine: e, Nodes: c.Nodes, Agents: enginetest.KitAgents(agents),
				Create: e.PlanCreate(c), Delete: e.PlanDelete(c)})
		})
	}
}

func TestStepErrors(t *testing.T) {
	c := newCluster("solo", dbplane.TopologyStandalone, "", 1)
	e, _ := fakeEngine(c, password)
	enginetest.CheckStepErrors(t, e, &e.Dialer, mysql.HandlerStart)
	t.Run("NoPassword", func(t *testing.T) {
		e, _ := fakeEngine(c, "")
		if err := e.RunStep(context.Background(), mysql.HandlerCreateUsers, 1, enginekit.StepParams(0), (&stepLog{}).Logf); !dbplane.IsPermanent(err) {
			t.Fatalf("err = %v, want a permanent error", err)
		}
	})
}
