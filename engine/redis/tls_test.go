package redis_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest/realfleet"
	"github.com/dbplane/dbplane/engine/redis"
)

func TestConfigSSL(t *testing.T) {
	c := newCluster("sealed", dbplane.TopologyRedisCluster, 0, 3, 1)
	c.Spec.SSL = true
	n := c.Nodes[3]
	home := n.DataDir + ".d"
	d := directives(configure(t, c, 3))
	for name, want := range map[string]string{
		"port": "0", "tls-port": fmt.Sprint(n.Port), "tls-cert-file": home + "/tls.crt", "tls-key-file": home + "/tls.key",
		"tls-ca-cert-file": home + "/ca.crt", "tls-auth-clients": "no", "tls-replication": "yes", "tls-cluster": "yes",
	} {
		if diff := cmp.Diff([]string{want}, d[name]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	t.Run("Replication", func(t *testing.T) {
		c := newCluster("sealed", dbplane.TopologyReplication, 2, 0, 0)
		c.Spec.SSL = true
		d := directives(configure(t, c, 1))
		if d["tls-replication"][0] != "yes" || d["tls-cluster"] != nil {
			t.Errorf("tls-replication %v, tls-cluster %v: want yes and none outside a Redis cluster", d["tls-replication"], d["tls-cluster"])
		}
	})
	t.Run("Off", func(t *testing.T) {
		conf := configure(t, newCluster("open", dbplane.TopologyReplication, 2, 0, 0), 1)
		if strings.Contains(conf, "tls") {
			t.Errorf("a cluster without SSL has TLS settings:\n%s", conf)
		}
	})
}

func TestPlanCreateSSL(t *testing.T) {
	e := &redis.Engine{}
	c := newCluster("sealed", dbplane.TopologyReplication, 2, 0, 0)
	c.Spec.SSL = true
	steps := e.PlanCreate(c)
	checkWellFormed(t, e, steps)
	for name, want := range map[string][]string{
		"Write TLS certificate 1": {"Prepare directories on host 1"},
		"Configure replica 1":     {"Write TLS certificate 1"},
	} {
		if diff := cmp.Diff(want, upstreamNames(t, steps, stepByName(t, steps, name))); diff != "" {
			t.Errorf("upstreams of %q (-want +got):\n%s", name, diff)
		}
	}
}

// TestSSLSteps builds SSL clusters over fakes: every node gets a key that
// matches a certificate of the CA for its address and the CA certificate,
// 0600 and owned by redis, and the engine reaches every node over TLS,
// verifying it (the fake Redis refuses anything else).
func TestSSLSteps(t *testing.T) {
	ctx := context.Background()
	ca := realfleet.NewCA(t)
	for _, c := range []*dbplane.Cluster{
		newCluster("sealed", dbplane.TopologyReplication, 3, 0, 0),
		newCluster("shards", dbplane.TopologyRedisCluster, 0, 3, 1),
	} {
		t.Run(c.Topology, func(t *testing.T) {
			c.Spec.SSL = true
			e, agents, world := fakeEngine(c, password)
			e.CA = ca
			if err := runPlan(ctx, t, e, 1, e.PlanCreate(c), &stepLog{}); err != nil {
				t.Fatal(err)
			}
			if len(world.commands()) == 0 {
				t.Fatal("the engine sent no command to the nodes")
			}
			enginetest.CheckTLSFiles(t, ca, enginetest.TLSFiles{Cert: "tls.crt", Key: "tls.key", CA: "ca.crt", Owner: "redis",
				Home: enginekit.Home}, c.Nodes, enginetest.KitAgents(agents))
			ep := e.Endpoints(c)
			if !strings.HasPrefix(ep.URI, "rediss://admin@") || ep.CACert != string(ca.CertPEM()) {
				t.Errorf("endpoints URI %s, CA %q: want rediss:// and the CA certificate", ep.URI, ep.CACert)
			}
		})
	}
	t.Run("Off", func(t *testing.T) {
		c := newCluster("open", dbplane.TopologyStandalone, 1, 0, 0)
		e, _, _ := fakeEngine(c, password)
		if err := runPlan(ctx, t, e, 1, e.PlanCreate(c), &stepLog{}); err != nil {
			t.Fatal(err)
		}
		if ep := e.Endpoints(c); ep.CACert != "" || !strings.HasPrefix(ep.URI, "redis://") {
			t.Errorf("endpoints of a cluster without SSL: %+v", ep)
		}
	})
	t.Run("NoCA", func(t *testing.T) {
		c := newCluster("sealed", dbplane.TopologyStandalone, 1, 0, 0)
		c.Spec.SSL = true
		e, _, _ := fakeEngine(c, password)
		enginetest.CheckTLSNeedsCA(t, e, enginekit.Handler(dbplane.EngineRedis, enginekit.StepTLS))
	})
}
