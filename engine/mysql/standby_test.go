package mysql_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/mysql"
)

func TestStandbyPlan(t *testing.T) {
	for _, tc := range []struct {
		topology string
		nodes    int
		after    string
	}{
		{dbplane.TopologyGalera, 2, "Verify cluster"},
		{dbplane.TopologyReplication, 2, "Verify replication"},
		{dbplane.TopologyStandalone, 1, "Create users"},
	} {
		t.Run(tc.topology, func(t *testing.T) {
			c := newCluster("stby", tc.topology, "", tc.nodes)
			if slices.Contains(names((&mysql.Engine{}).PlanCreate(c)), "Attach standby to its source") {
				t.Fatal("an ordinary cluster attaches to a source")
			}
			c.Spec.StandbyOf = 5
			steps := (&mysql.Engine{}).PlanCreate(c)
			attach := stepByName(t, steps, "Attach standby to its source")
			verify := stepByName(t, steps, "Verify standby replication")
			if got := upstreamNames(t, steps, attach); !slices.Equal(got, []string{tc.after}) {
				t.Errorf("attach waits for %v, want [%s]", got, tc.after)
			}
			if got := upstreamNames(t, steps, verify); !slices.Equal(got, []string{"Attach standby to its source"}) {
				t.Errorf("verify waits for %v", got)
			}
			if ordinal(t, attach) != 0 || ordinal(t, verify) != 0 || steps[len(steps)-1].Key != verify.Key {
				t.Errorf("attach on node %d, verify on node %d, last step %q", ordinal(t, attach), ordinal(t, verify), steps[len(steps)-1].Name)
			}
		})
	}
}

func TestStandbyConfig(t *testing.T) {
	gal := newCluster("stby", dbplane.TopologyGalera, "", 2)
	gal.Spec.StandbyOf = 5
	solo := newCluster("solo", dbplane.TopologyStandalone, "", 1)
	solo.Spec.StandbyOf = 5
	for _, tc := range []struct {
		name    string
		c       *dbplane.Cluster
		ordinal int
		want    map[string]string
	}{
		{"GaleraMember", gal, 1, map[string]string{"read_only": "ON", "server_id": "102", "wsrep_gtid_domain_id": "7",
			"gtid_domain_id": "2147483761", "log_bin": "mariadb-bin", "wsrep_gtid_mode": "ON"}},
		{"Standalone", solo, 0, map[string]string{"read_only": "ON", "server_id": "101", "gtid_domain_id": "7", "gtid_strict_mode": "ON"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := configure(t, tc.c, tc.ordinal)
			got := settings(conf)
			for k, want := range tc.want {
				if got[k] != want {
					t.Errorf("%s = %q, want %q", k, got[k], want)
				}
			}
			if n := strings.Count(conf, "\nread_only = "); n != 1 {
				t.Errorf("read_only set %d times:\n%s", n, conf)
			}
		})
	}
}

// sourceStore answers the standby's cluster and its source.
type sourceStore struct {
	mysql.Store
	source *dbplane.Cluster
}

func (s sourceStore) FindClusterByID(ctx context.Context, id int64) (*dbplane.Cluster, error) {
	if id == s.source.ID {
		return s.source, nil
	}
	return s.Store.FindClusterByID(ctx, id)
}

// standbyFixture is a 2-member galera standby c (cluster 7, hosts 1 and 2)
// of a 1-member galera source (cluster 5, host 11) with ssl as given.
func standbyFixture(ssl bool) (e *mysql.Engine, c *dbplane.Cluster, agents map[int64]*fakeAgent, srcAgent *fakeAgent) {
	src := newCluster("src", dbplane.TopologyGalera, "", 1)
	src.ID, src.Spec.SSL = 5, ssl
	src.Nodes[0].ClusterID, src.Nodes[0].HostID, src.Nodes[0].Address = 5, 11, "10.0.1.1"
	c = newCluster("stby", dbplane.TopologyGalera, "", 2)
	c.Spec.StandbyOf, c.Spec.SSL = 5, ssl
	e, agents = fakeEngine(c, password)
	srcAgent = newFakeAgent(11)
	e.Dialer.(fakeDialer)[11] = srcAgent
	e.Store = sourceStore{Store: e.Store, source: src}
	return e, c, agents, srcAgent
}

func TestAttachStandby(t *testing.T) {
	ctx := context.Background()
	e, c, agents, src := standbyFixture(true)
	log := &stepLog{}
	if err := e.RunStep(ctx, mysql.HandlerAttachStandby, 1, []byte(`{"ordinal":0}`), log.Logf); err != nil {
		t.Fatal(err)
	}
	acct := src.scripts("dbplane_standby7")
	if len(acct) != 1 || !strings.Contains(acct[0], "'dbplane_standby7'@'10.0.0.1'") ||
		!strings.Contains(acct[0], "GRANT REPLICATION SLAVE ON *.* TO") || !strings.Contains(acct[0], "REQUIRE SSL") {
		t.Fatalf("replication account on the source: %q", acct)
	}
	change := agents[1].scripts("CHANGE MASTER")
	if len(change) != 1 {
		t.Fatalf("standby got %d CHANGE MASTER scripts", len(change))
	}
	for _, want := range []string{"MASTER_HOST = '10.0.1.1'", "MASTER_PORT = 3306", "MASTER_USER = 'dbplane_standby7'",
		"MASTER_USE_GTID = slave_pos", "MASTER_SSL = 1", "MASTER_SSL_VERIFY_SERVER_CERT = 1", "START SLAVE"} {
		if !strings.Contains(change[0], want) {
			t.Errorf("CHANGE MASTER lacks %q: %s", want, change[0])
		}
	}
	if len(agents[2].scripts("CHANGE MASTER")) != 0 {
		t.Error("member 1 was attached too: only one member replicates")
	}
	pw := strings.Split(strings.Split(change[0], "MASTER_PASSWORD = '")[1], "'")[0]
	if pw == "" || strings.Contains(strings.Join(log.All(), "\n"), pw) {
		t.Fatalf("the replication password is empty or in the step's log: %v", log.All())
	}
	if err := e.RunStep(ctx, mysql.HandlerVerifyStandby, 1, []byte(`{"ordinal":0}`), log.Logf); err != nil {
		t.Fatal(err)
	}
	st, err := e.ReplicationStatus(ctx, c)
	if err != nil || st.State != dbplane.ReplicationStreaming || !st.IORunning || !st.SQLRunning {
		t.Fatalf("status %+v, %v; want streaming", st, err)
	}

	t.Run("AgainStopsFirst", func(t *testing.T) {
		if err := e.RunStep(ctx, mysql.HandlerAttachStandby, 1, []byte(`{"ordinal":0}`), log.Logf); err != nil {
			t.Fatal(err)
		}
		if change := agents[1].scripts("CHANGE MASTER"); len(change) != 2 || !strings.HasPrefix(change[1], "STOP SLAVE;") {
			t.Fatalf("second attach: %q", change)
		}
	})
	t.Run("SSLSourceNeedsSSL", func(t *testing.T) {
		e, c, _, _ := standbyFixture(true)
		c.Spec.SSL = false
		err := e.RunStep(ctx, mysql.HandlerAttachStandby, 1, []byte(`{"ordinal":0}`), log.Logf)
		if !dbplane.IsPermanent(err) || !strings.Contains(err.Error(), "SSL") {
			t.Fatalf("err = %v; want a permanent error about SSL", err)
		}
	})
	t.Run("StandbySSTAccount", func(t *testing.T) {
		e, _, agents, _ := standbyFixture(false)
		if err := e.RunStep(ctx, mysql.HandlerCreateUsers, 1, []byte(`{"ordinal":0}`), log.Logf); err != nil {
			t.Fatal(err)
		}
		if s := agents[1].scripts("dbplane_sst"); len(s) == 0 || !strings.Contains(s[0], "'dbplane_sst_standby'@'localhost'") {
			t.Fatalf("state transfer account scripts %q; want dbplane_sst_standby", s)
		}
	})
}

func TestParseReplicaStatus(t *testing.T) {
	row := func(io, sqlRunning, lag, ioErr string) []map[string]string {
		return []map[string]string{{"Slave_IO_Running": io, "Slave_SQL_Running": sqlRunning, "Seconds_Behind_Master": lag,
			"Gtid_Slave_Pos": "5-1-9", "Last_IO_Error": ioErr}}
	}
	for _, tc := range []struct {
		rows  []map[string]string
		state string
		lag   string
	}{
		{nil, dbplane.ReplicationStopped, "<nil>"},
		{row("Yes", "Yes", "4", ""), dbplane.ReplicationStreaming, "4"},
		{row("Connecting", "Yes", "NULL", ""), dbplane.ReplicationStopped, "<nil>"},
		{row("No", "Yes", "NULL", "error connecting to master"), dbplane.ReplicationError, "<nil>"},
	} {
		st := mysql.ParseReplicaStatus(tc.rows)
		lag := "<nil>"
		if st.LagSeconds != nil {
			lag = fmt.Sprint(*st.LagSeconds)
		}
		if st.State != tc.state || lag != tc.lag {
			t.Errorf("%v: state %s lag %s, want %s %s", tc.rows, st.State, lag, tc.state, tc.lag)
		}
		if st.State == dbplane.ReplicationError && st.LastError != "Last_IO_Error: error connecting to master" {
			t.Errorf("last error %q", st.LastError)
		}
	}
}

func TestDetachStandby(t *testing.T) {
	ctx := context.Background()
	e, c, _, src := standbyFixture(false)
	detach := stepByName(t, e.PlanDelete(c), "Drop the standby's account on its source")
	if slices.Contains(names(e.PlanDelete(newCluster("solo", dbplane.TopologyStandalone, "", 1))), detach.Name) {
		t.Fatal("an ordinary cluster's delete drops a standby account")
	}
	log := &stepLog{}
	if err := e.RunStep(ctx, mysql.HandlerDetachStandby, 1, detach.Params, log.Logf); err != nil {
		t.Fatal(err)
	}
	if s := src.scripts("DROP USER"); len(s) != 1 || !strings.Contains(s[0], "'dbplane_standby7'@'10.0.0.1'") {
		t.Fatalf("source got %q", s)
	}
	// A source that is gone does not keep the standby from being deleted.
	c.Spec.StandbyOf = 404
	if err := e.RunStep(ctx, mysql.HandlerDetachStandby, 1, detach.Params, log.Logf); err != nil {
		t.Fatalf("detaching from a missing source: %v", err)
	}
}

// seedingAgent plays the standby primary's host during a seed: the
// receiver's mbstream leaves mariadb-backup's position file behind.
type seedingAgent struct {
	*fakeAgent
	datadir string
}

func (a seedingAgent) Run(ctx context.Context, cmd dbplane.Command) (*dbplane.CommandResult, error) {
	res, err := a.fakeAgent.Run(ctx, cmd)
	argv := strings.Join(cmd.Argv, " ")
	switch {
	case cmd.Argv[0] == "bash" && strings.Contains(argv, "mbstream"):
		a.Mu.Lock()
		a.Files[a.datadir+"/xtrabackup_binlog_info"] = []byte("mariadb-bin.000002\t1234\t5-1-20,2147483728-1-3\n")
		a.Mu.Unlock()
	case cmd.Argv[0] == "bash" && strings.Contains(argv, "xtrabackup_binlog_info"):
		a.Mu.Lock()
		res.Stdout = string(a.Files[cmd.Argv[len(cmd.Argv)-1]+"/xtrabackup_binlog_info"])
		a.Mu.Unlock()
	}
	return res, err
}

func TestSeedStandby(t *testing.T) {
	ctx := context.Background()
	e, c, agents, src := standbyFixture(false)
	steps := e.PlanCreate(c)
	seed := stepByName(t, steps, "Seed node 0 from the source")
	if got := upstreamNames(t, steps, seed); !slices.Equal(got, []string{"Configure member 0"}) {
		t.Fatalf("seed waits for %v", got)
	}
	if got := upstreamNames(t, steps, stepByName(t, steps, "Bootstrap member 0")); !slices.Contains(got, seed.Name) {
		t.Fatalf("bootstrap waits for %v; want the seed too", got)
	}
	a := agents[1]
	a.SS = "LISTEN 0 5 10.0.0.1:4444 0.0.0.0:*\n"
	e.Dialer.(fakeDialer)[1] = seedingAgent{fakeAgent: a, datadir: c.Nodes[0].DataDir}
	log := &stepLog{}
	if err := e.RunStep(ctx, mysql.HandlerSeedStandby, 1, seed.Params, log.Logf); err != nil {
		t.Fatal(err)
	}
	recv := strings.Join(a.Commands("bash")[0].Argv, " ")
	if !strings.Contains(recv, "TCP-LISTEN:4444,bind=10.0.0.1") || !strings.Contains(recv, "mbstream -x -C") || a.Commands("bash")[0].User != "mysql" {
		t.Errorf("receiver %q", recv)
	}
	send := src.Commands("bash")
	if len(send) != 1 || !strings.Contains(strings.Join(send[0].Argv, " "), "mariadb-backup --defaults-file") ||
		!strings.Contains(strings.Join(send[0].Argv, " "), "/dev/tcp/10.0.0.1/4444") {
		t.Fatalf("sender %v", send)
	}
	if p := a.Commands("mariadb-backup"); len(p) != 1 || !slices.Contains(p[0].Argv, "--prepare") {
		t.Fatalf("prepare %v", p)
	}
	home := c.Nodes[0].DataDir + ".d"
	if got := a.File(t, home+"/standby-seed.gtid"); got != "5-1-20,2147483728-1-3\n" {
		t.Fatalf("kept GTID %q", got)
	}
	if err := e.RunStep(ctx, mysql.HandlerSeedStandby, 1, seed.Params, log.Logf); err != nil || len(src.Commands("bash")) != 1 {
		t.Fatalf("a second seed: %v, %d sends; want none", err, len(src.Commands("bash")))
	}
	if err := e.RunStep(ctx, mysql.HandlerAttachStandby, 1, []byte(`{"ordinal":0}`), log.Logf); err != nil {
		t.Fatal(err)
	}
	if change := a.scripts("CHANGE MASTER"); len(change) != 1 || !strings.HasPrefix(change[0], "SET GLOBAL gtid_slave_pos = '5-1-20,2147483728-1-3';") {
		t.Fatalf("attach of a seeded node: %q", change)
	}
}
