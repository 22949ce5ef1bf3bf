package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest/realfleet"
	"github.com/dbplane/dbplane/engine/postgres"
)

// sslCluster returns a placed 3-node cluster with SSL on.
func sslCluster() *dbplane.Cluster {
	c := newCluster("sealed", dbplane.TopologyReplication, dbplane.ReplicationAsync, 3)
	c.Spec.SSL = true
	return c
}

func TestConfigSSL(t *testing.T) {
	c := sslCluster()
	primaryConf, hba := configure(t, c, 0)
	home := c.Nodes[0].DataDir + ".d"
	for name, want := range map[string]string{
		"ssl": "on", "ssl_cert_file": "'" + home + "/server.crt'", "ssl_key_file": "'" + home + "/server.key'",
		"ssl_ca_file": "'" + home + "/ca.crt'", "ssl_min_protocol_version": "'TLSv1.2'",
	} {
		if got := confLine(t, primaryConf, name); got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
	enginetest.Golden(t, "pg_hba_ssl.conf", hba)
	replicaConf, _ := configure(t, c, 1)
	conninfo := confLine(t, replicaConf, "primary_conninfo")
	want := "sslmode=verify-full sslrootcert=" + c.Nodes[1].DataDir + ".d/ca.crt"
	if !strings.Contains(conninfo, want) {
		t.Errorf("primary_conninfo %s: want %s", conninfo, want)
	}

	t.Run("Off", func(t *testing.T) {
		c := newCluster("open", dbplane.TopologyReplication, "", 2)
		conf, hba := configure(t, c, 1)
		if strings.Contains(conf, "ssl") || strings.Contains(hba, "hostssl") {
			t.Errorf("a cluster without SSL has TLS settings:\n%s\n%s", conf, hba)
		}
	})
	t.Run("OwnedParameter", func(t *testing.T) {
		if err := postgres.CheckParameters(map[string]string{"ssl": "off"}); dbplane.ErrorKind(err) != dbplane.KindInvalid {
			t.Errorf("parameter ssl: %v, want KindInvalid", err)
		}
	})
}

func TestPlanCreateSSL(t *testing.T) {
	e := &postgres.Engine{}
	steps := e.PlanCreate(sslCluster())
	for name, want := range map[string][]string{
		"Write TLS certificate 1": {"Prepare directories on host 1"},
		"Init primary":            {"Write TLS certificate 0", "Write TLS certificate 1", "Write TLS certificate 2"},
	} {
		if diff := cmp.Diff(want, upstreamNames(t, steps, stepByName(t, steps, name))); diff != "" {
			t.Errorf("upstreams of %q (-want +got):\n%s", name, diff)
		}
	}
	if s := stepByName(t, steps, "Write TLS certificate 2"); s.Handler != enginekit.Handler(dbplane.EnginePostgreSQL, enginekit.StepTLS) || ordinal(t, s) != 2 {
		t.Errorf("step %q: handler %q on node %d", s.Name, s.Handler, ordinal(t, s))
	}
	if n := len(steps); n != 21+3 {
		t.Errorf("%d steps, want 24", n)
	}
}

// TestWriteTLS runs the create plan of an SSL cluster over fakes and checks
// what every node got: a key that matches a certificate of the CA for the
// node's address, the CA certificate, all 0600 and owned by postgres; and
// a base backup that verifies the primary.
func TestWriteTLS(t *testing.T) {
	ctx := context.Background()
	c := sslCluster()
	e, agents := fakeEngine(c, "Secret-pw1")
	ca := realfleet.NewCA(t)
	e.CA = ca
	if err := runPlan(ctx, t, e, 1, e.PlanCreate(c), &stepLog{}); err != nil {
		t.Fatal(err)
	}
	enginetest.CheckTLSFiles(t, ca, enginetest.TLSFiles{Cert: "server.crt", Key: "server.key", CA: "ca.crt", Owner: "postgres",
		Home: enginekit.Home}, c.Nodes, enginetest.KitAgents(agents))
	for _, cmd := range agents[2].Commands("pg_basebackup") {
		env := strings.Join(cmd.Env, " ")
		if !strings.Contains(env, "PGSSLMODE=verify-full") || !strings.Contains(env, "PGSSLROOTCERT="+c.Nodes[1].DataDir+".d/ca.crt") {
			t.Errorf("pg_basebackup env %s: want it to verify the primary", env)
		}
	}

	ep := e.Endpoints(c)
	if !strings.HasSuffix(ep.URI, "?target_session_attrs=read-write&sslmode=verify-full") || ep.CACert != string(ca.CertPEM()) {
		t.Errorf("endpoints URI %s, CA %q: want sslmode=verify-full and the CA certificate", ep.URI, ep.CACert)
	}
	if ep := e.Endpoints(newCluster("open", dbplane.TopologyStandalone, "", 1)); ep.CACert != "" || strings.Contains(ep.URI, "ssl") {
		t.Errorf("endpoints of a cluster without SSL: %+v", ep)
	}

	t.Run("NoCA", func(t *testing.T) {
		e, _ := fakeEngine(sslCluster(), "Secret-pw1")
		enginetest.CheckTLSNeedsCA(t, e, enginekit.Handler(dbplane.EnginePostgreSQL, enginekit.StepTLS))
	})
}
