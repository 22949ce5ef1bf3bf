package mysql_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest/realfleet"
	"github.com/dbplane/dbplane/engine/mysql"
)

// sslCluster returns a placed cluster of n nodes with SSL on.
func sslCluster(topology string, n int) *dbplane.Cluster {
	c := newCluster("sealed", topology, dbplane.ReplicationAsync, n)
	c.Spec.SSL = true
	return c
}

func TestConfigSSL(t *testing.T) {
	for _, topology := range []string{dbplane.TopologyReplication, dbplane.TopologyGalera} {
		t.Run(topology, func(t *testing.T) {
			c := sslCluster(topology, 3)
			home := c.Nodes[1].DataDir + ".d"
			got := settings(configure(t, c, 1))
			for name, want := range map[string]string{
				"ssl_cert": home + "/server-cert.pem", "ssl_key": home + "/server-key.pem", "ssl_ca": home + "/ca.pem",
				"tls_version": "TLSv1.2,TLSv1.3", "require_secure_transport": "ON",
			} {
				if got[name] != want {
					t.Errorf("%s = %q, want %q", name, got[name], want)
				}
			}
		})
	}
	t.Run("Off", func(t *testing.T) {
		conf := configure(t, newCluster("open", dbplane.TopologyReplication, "", 2), 1)
		if strings.Contains(conf, "ssl") || strings.Contains(conf, "secure_transport") {
			t.Errorf("a cluster without SSL has TLS settings:\n%s", conf)
		}
	})
	t.Run("OwnedParameter", func(t *testing.T) {
		if err := mysql.CheckParameters(map[string]string{"require-secure-transport": "OFF"}); dbplane.ErrorKind(err) != dbplane.KindInvalid {
			t.Errorf("parameter require-secure-transport: %v, want KindInvalid", err)
		}
	})
}

func TestPlanCreateSSL(t *testing.T) {
	steps := (&mysql.Engine{}).PlanCreate(sslCluster(dbplane.TopologyGalera, 3))
	for name, want := range map[string][]string{
		"Write TLS certificate 1": {"Prepare directories on host 1"},
		"Init member 1":           {"Write TLS certificate 1"},
	} {
		if diff := cmp.Diff(want, upstreamNames(t, steps, stepByName(t, steps, name))); diff != "" {
			t.Errorf("upstreams of %q (-want +got):\n%s", name, diff)
		}
	}
	if s := stepByName(t, steps, "Write TLS certificate 2"); s.Handler != enginekit.Handler(dbplane.EngineMySQL, enginekit.StepTLS) || ordinal(t, s) != 2 {
		t.Errorf("step %q: handler %q on node %d", s.Name, s.Handler, ordinal(t, s))
	}
}

// TestSSLSteps runs the create plan of a replicated SSL cluster over fakes
// and checks what every node got: a key that matches a certificate of the
// CA for the node's address and the CA certificate, 0600 and owned by
// mysql; accounts that require TLS; replicas that verify their primary.
func TestSSLSteps(t *testing.T) {
	ctx := context.Background()
	c := sslCluster(dbplane.TopologyReplication, 3)
	e, agents := fakeEngine(c, "Secret-pw1")
	ca := realfleet.NewCA(t)
	e.CA = ca
	if err := runPlan(ctx, t, e, 1, e.PlanCreate(c), &stepLog{}); err != nil {
		t.Fatal(err)
	}
	enginetest.CheckTLSFiles(t, ca, enginetest.TLSFiles{Cert: "server-cert.pem", Key: "server-key.pem", CA: "ca.pem", Owner: "mysql",
		Home: enginekit.Home}, c.Nodes, enginetest.KitAgents(agents))
	primary := agents[c.Nodes[0].HostID]
	for _, user := range []string{"'admin'@", "'dbplane_repl1'@"} {
		alters := 0
		for _, s := range primary.scripts("ALTER USER " + user) {
			for line := range strings.Lines(s) {
				if !strings.HasPrefix(line, "ALTER USER "+user) {
					continue
				}
				alters++
				if !strings.HasSuffix(line, " REQUIRE SSL;\n") {
					t.Errorf("%s does not require TLS: %s", user, line)
				}
			}
		}
		if alters == 0 {
			t.Errorf("no ALTER USER of %s on the primary", user)
		}
	}
	change := agents[c.Nodes[2].HostID].scripts("CHANGE MASTER")
	want := "MASTER_SSL = 1, MASTER_SSL_CA = '" + c.Nodes[2].DataDir + ".d/ca.pem', MASTER_SSL_VERIFY_SERVER_CERT = 1"
	if len(change) == 0 || !strings.Contains(change[0], want) {
		t.Errorf("CHANGE MASTER of replica 2 %q: want %s", change, want)
	}

	ep := e.Endpoints(c)
	if !strings.HasSuffix(ep.URI, "/?ssl-mode=VERIFY_IDENTITY") || ep.CACert != string(ca.CertPEM()) {
		t.Errorf("endpoints URI %s, CA %q: want ssl-mode and the CA certificate", ep.URI, ep.CACert)
	}

	t.Run("Off", func(t *testing.T) {
		c := newCluster("open", dbplane.TopologyReplication, "", 2)
		e, agents := fakeEngine(c, "Secret-pw1")
		if err := runPlan(ctx, t, e, 1, e.PlanCreate(c), &stepLog{}); err != nil {
			t.Fatal(err)
		}
		admin := agents[1].scripts("ALTER USER 'admin'@")
		if len(admin) == 0 || !strings.Contains(admin[0], " REQUIRE NONE;") {
			t.Errorf("the admin accounts of a cluster without SSL: %q, want REQUIRE NONE", admin)
		}
		if s := agents[2].scripts("CHANGE MASTER"); len(s) == 0 || strings.Contains(s[0], "MASTER_SSL") {
			t.Errorf("CHANGE MASTER without SSL: %q", s)
		}
		if ep := e.Endpoints(c); ep.CACert != "" || strings.Contains(ep.URI, "ssl") {
			t.Errorf("endpoints of a cluster without SSL: %+v", ep)
		}
	})
	t.Run("Galera", func(t *testing.T) {
		c := sslCluster(dbplane.TopologyGalera, 3)
		e, agents := fakeEngine(c, "Secret-pw1")
		e.CA = ca
		if err := runPlan(ctx, t, e, 1, e.PlanCreate(c), &stepLog{}); err != nil {
			t.Fatal(err)
		}
		// The state transfer account connects over the socket, where TLS
		// does not exist.
		for _, s := range agents[1].scripts("'dbplane_sst'@") {
			if strings.Contains(s, "REQUIRE SSL") {
				t.Errorf("the state transfer account requires TLS: %s", s)
			}
		}
	})
	t.Run("NoCA", func(t *testing.T) {
		e, _ := fakeEngine(sslCluster(dbplane.TopologyStandalone, 1), "Secret-pw1")
		enginetest.CheckTLSNeedsCA(t, e, enginekit.Handler(dbplane.EngineMySQL, enginekit.StepTLS))
	})
}
