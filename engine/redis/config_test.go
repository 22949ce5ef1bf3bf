package redis_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/redis"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// configure runs the configure step of a node and returns the redis.conf
// it wrote.
func configure(t *testing.T, c *dbplane.Cluster, ordinal int) string {
	t.Helper()
	e, agents, _ := fakeEngine(c, "Secret-pw1")
	n := c.Nodes[ordinal]
	a := agents[n.HostID]
	a.Dirs[n.DataDir+".d"] = true
	if err := e.RunStep(context.Background(), redis.HandlerConfigure, 1, fmt.Appendf(nil, `{"ordinal":%d}`, ordinal), (&stepLog{}).Logf); err != nil {
		t.Fatalf("configure node %d: %v", ordinal, err)
	}
	return a.File(t, n.DataDir+".d/redis.conf")
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
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
	golden(t, "primary.conf", configure(t, c, 0))
	golden(t, "replica.conf", configure(t, c, 1))
	sc := newCluster("shards", dbplane.TopologyRedisCluster, 0, 3, 1)
	sc.Spec.Persistence = redis.PersistenceAOF
	golden(t, "cluster.conf", configure(t, sc, 3))
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
	for _, tc := range []struct {
		params map[string]string
		field  string // "" when accepted
	}{
		{map[string]string{"maxmemory-policy": "allkeys-lru", "timeout": "300", "hz": "20"}, ""},
		{map[string]string{"client-output-buffer-limit": "pubsub 32mb 8mb 60"}, ""},
		{map[string]string{"notify-keyspace-events": ""}, ""},
		{map[string]string{"dir": "/etc"}, "parameters[dir]"},
		{map[string]string{"dbfilename": "x.rdb"}, "parameters[dbfilename]"},
		{map[string]string{"requirepass": "x"}, "parameters[requirepass]"},
		{map[string]string{"masterauth": "x"}, "parameters[masterauth]"},
		{map[string]string{"loadmodule": "/tmp/evil.so"}, "parameters[loadmodule]"},
		{map[string]string{"cluster-node-timeout": "100"}, "parameters[cluster-node-timeout]"},
		{map[string]string{"tls-cert-file": "/x"}, "parameters[tls-cert-file]"},
		{map[string]string{"save": ""}, "parameters[save]"},
		{map[string]string{"rename-command": "CONFIG x"}, "parameters[rename-command]"},
		{map[string]string{"Maxmemory": "1mb"}, "parameters[Maxmemory]"},
		{map[string]string{"timeout": "0\nrequirepass x"}, "parameters[timeout]"},
		{map[string]string{"timeout": `"0"`}, "parameters[timeout]"},
		{map[string]string{"timeout": `0\`}, "parameters[timeout]"},
	} {
		err := redis.CheckParameters(tc.params)
		if tc.field == "" {
			if err != nil {
				t.Errorf("%q refused: %v", tc.params, err)
			}
			continue
		}
		fields := dbplane.ErrorFields(err)
		if !dbplane.IsPermanent(err) || dbplane.ErrorKind(err) != dbplane.KindInvalid || len(fields) != 1 || fields[0].Field != tc.field {
			t.Errorf("%q: err %v, fields %v; want a permanent invalid error naming %s", tc.params, err, fields, tc.field)
		}
	}
}
