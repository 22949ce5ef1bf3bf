package redis_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
	"github.com/dbplane/dbplane/engine/redis"
)

// configure runs the configure step of a node and returns the redis.conf
// it wrote.
func configure(t *testing.T, c *dbplane.Cluster, ordinal int) string {
	t.Helper()
	e, agents, _ := fakeEngine(c, "Secret-pw1")
	n := c.Nodes[ordinal]
	a := agents[n.HostID]
	a.Dirs[n.DataDir+".d"] = true
	if err := e.RunStep(context.Background(), redis.HandlerConfigure, 1, enginekit.StepParams(ordinal), (&stepLog{}).Logf); err != nil {
		t.Fatalf("configure node %d: %v", ordinal, err)
	}
	return a.File(t, n.DataDir+".d/redis.conf")
}

// directives returns the directives of a redis.conf by name, each with its
// arguments as written.
func directives(conf string) map[string][]string {
	out := map[string][]string{}
	for line := range strings.Lines(conf) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, " ")
		out[k] = append(out[k], v)
	}
	return out
}

func TestConfigGolden(t *testing.T) {
	c := newCluster("trio", dbplane.TopologyReplication, 3, 0, 0)
	c.Spec.Parameters = map[string]string{"maxmemory-policy": "allkeys-lru", "notify-keyspace-events": ""}
	enginetest.Golden(t, "primary.conf", configure(t, c, 0))
	enginetest.Golden(t, "replica.conf", configure(t, c, 1))
	sc := newCluster("shards", dbplane.TopologyRedisCluster, 0, 3, 1)
	sc.Spec.Persistence = redis.PersistenceAOF
	enginetest.Golden(t, "cluster.conf", configure(t, sc, 3))
}

func TestConfigSettings(t *testing.T) {
	c := newCluster("trio", dbplane.TopologyReplication, 3, 0, 0)
	sc := newCluster("shards", dbplane.TopologyRedisCluster, 0, 3, 1)
	sc.Spec.Persistence = redis.PersistenceAOF
	for _, tc := range []struct {
		name    string
		c       *dbplane.Cluster
		ordinal int
		want    map[string]string
		absent  []string
	}{
		{"Primary", c, 0, map[string]string{
			"bind": "10.0.0.1", "port": "6379", "protected-mode": "yes", "daemonize": "no",
			"dir": "/data/h1/redis/trio-0", "aclfile": "/data/h1/redis/trio-0.d/users.acl",
			"pidfile": "/data/h1/redis/trio-0.d/redis.pid", "include": "/data/h1/redis/trio-0.d/auth.conf",
			"save": "3600 1 300 100 60 10000", "appendonly": "no",
			"maxmemory": "2867mb", "maxclients": "10000", "enable-protected-configs": "no",
		}, []string{"replicaof", "cluster-enabled", "requirepass", "masterauth", "user"}},
		{"Replica", c, 2, map[string]string{
			"bind": "10.0.0.3", "replicaof": "10.0.0.1 6379", "replica-read-only": "yes", "replica-announce-ip": "10.0.0.3",
		}, []string{"cluster-enabled", "masterauth"}},
		{"ClusterNodeAOF", sc, 4, map[string]string{
			"bind": "10.0.0.5", "port": "6383", "cluster-enabled": "yes", "cluster-port": "16383",
			"cluster-config-file": "/data/h5/redis/shards-4/nodes.conf", "cluster-announce-ip": "10.0.0.5",
			"appendonly": "yes", "appendfsync": "everysec", "save": `""`,
		}, []string{"replicaof", "masterauth"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := directives(configure(t, tc.c, tc.ordinal))
			for k, v := range tc.want {
				if got := d[k]; len(got) != 1 || got[0] != v {
					t.Errorf("%s = %q, want exactly one %q", k, got, v)
				}
			}
			for _, k := range tc.absent {
				if got, ok := d[k]; ok {
					t.Errorf("%s is set (%q), want it absent", k, got)
				}
			}
		})
	}
}

func TestConfigRefusesBadPersistence(t *testing.T) {
	c := newCluster("solo", dbplane.TopologyStandalone, 1, 0, 0)
	c.Spec.Persistence = "none"
	e, agents, _ := fakeEngine(c, "Secret-pw1")
	agents[1].Dirs[c.Nodes[0].DataDir+".d"] = true
	err := e.RunStep(context.Background(), redis.HandlerConfigure, 1, []byte(`{"ordinal":0}`), (&stepLog{}).Logf)
	if !dbplane.IsPermanent(err) || !strings.Contains(err.Error(), "persistence") {
		t.Fatalf("err = %v, want a permanent error about persistence", err)
	}
}

func TestCheckParameters(t *testing.T) {
	enginetest.CheckParameters(t, redis.CheckParameters, map[string]string{"maxmemory-policy": "allkeys-lru", "timeout": "300", "hz": "20",
		"client-output-buffer-limit": "pubsub 32mb 8mb 60", "notify-keyspace-events": ""}, nil)
	for _, bad := range []map[string]string{
		{"dir": "/etc"}, {"dbfilename": "x.rdb"}, {"requirepass": "x"}, {"masterauth": "x"}, {"loadmodule": "/tmp/evil.so"},
		{"cluster-node-timeout": "100"}, {"tls-cert-file": "/x"}, {"save": ""}, {"rename-command": "CONFIG x"}, {"Maxmemory": "1mb"},
		{"timeout": "0\nrequirepass x"}, {"timeout": `"0"`}, {"timeout": `0\`},
	} {
		for k := range bad {
			enginetest.CheckParameters(t, redis.CheckParameters, nil, bad, "parameters["+k+"]")
		}
	}
}
