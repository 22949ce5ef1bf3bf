package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
	"github.com/dbplane/dbplane/engine/postgres"
)

// configure runs the configure step of a node and returns the
// postgresql.conf and pg_hba.conf it wrote.
func configure(t *testing.T, c *dbplane.Cluster, ordinal int) (conf, hba string) {
	t.Helper()
	e, agents := fakeEngine(c, "Secret-pw1")
	n := c.Nodes[ordinal]
	if err := e.RunStep(context.Background(), postgres.HandlerConfigure, 1, enginekit.StepParams(ordinal), (&stepLog{}).Logf); err != nil {
		t.Fatalf("configure node %d: %v", ordinal, err)
	}
	a := agents[n.HostID]
	return a.File(t, n.DataDir+"/postgresql.conf"), a.File(t, n.DataDir+"/pg_hba.conf")
}

// confLine returns the value of a setting in a postgresql.conf.
func confLine(t *testing.T, conf, name string) string {
	t.Helper()
	for line := range strings.Lines(conf) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), " = "); ok && k == name {
			return v
		}
	}
	t.Fatalf("no %s in:\n%s", name, conf)
	return ""
}

func TestConfigGolden(t *testing.T) {
	c := newCluster("trio", dbplane.TopologyReplication, dbplane.ReplicationSync, 3)
	c.Spec.Allowlist = []string{"10.1.0.0/16", "192.168.7.9", "fd00::/8"}
	c.Spec.Parameters = map[string]string{"work_mem": "16MB", "shared_preload_libraries": "pg_stat_statements", "search_path": `"$user", it's`}
	primaryConf, hba := configure(t, c, 0)
	enginetest.Golden(t, "primary.conf", primaryConf)
	enginetest.Golden(t, "pg_hba.conf", hba)
	replicaConf, replicaHBA := configure(t, c, 1)
	enginetest.Golden(t, "replica.conf", replicaConf)
	if replicaHBA != hba {
		t.Errorf("replica's pg_hba.conf differs from the primary's:\n%s", replicaHBA)
	}
}

func TestSynchronousStandbyNames(t *testing.T) {
	for _, tc := range []struct {
		topology, mode string
		nodes, ordinal int
		want           string
	}{
		{dbplane.TopologyStandalone, "", 1, 0, "''"},
		{dbplane.TopologyReplication, dbplane.ReplicationAsync, 3, 0, "''"},
		{dbplane.TopologyReplication, dbplane.ReplicationSync, 3, 0, `'FIRST 1 ("node1", "node2")'`},
		{dbplane.TopologyReplication, dbplane.ReplicationSync, 3, 2, `'FIRST 1 ("node0", "node1")'`},
		{dbplane.TopologyReplication, dbplane.ReplicationQuorum, 3, 0, `'ANY 1 ("node1", "node2")'`},
		{dbplane.TopologyReplication, dbplane.ReplicationQuorum, 4, 0, `'ANY 2 ("node1", "node2", "node3")'`},
		{dbplane.TopologyReplication, dbplane.ReplicationQuorum, 5, 0, `'ANY 2 ("node1", "node2", "node3", "node4")'`},
	} {
		t.Run(tc.topology+"/"+tc.mode+"/"+string(rune('0'+tc.nodes)), func(t *testing.T) {
			conf, _ := configure(t, newCluster("clu1", tc.topology, tc.mode, tc.nodes), tc.ordinal)
			if got := confLine(t, conf, "synchronous_standby_names"); got != tc.want {
				t.Fatalf("synchronous_standby_names = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestSizingFromFlavor: a node's memory and connection settings are the
// flavor catalog's, whatever the flavor, so the two never disagree.
func TestSizingFromFlavor(t *testing.T) {
	for _, f := range dbplane.DefaultCatalog().Flavors {
		t.Run(f.Code, func(t *testing.T) {
			c := newCluster("solo", dbplane.TopologyStandalone, "", 1)
			c.Spec.Flavor, c.Nodes[0].MemoryMB = f.Code, 0
			conf, _ := configure(t, c, 0)
			want := f.Settings()[dbplane.EnginePostgreSQL]
			if len(want) < 4 {
				t.Fatalf("the catalog gives %v: too few settings to compare", want)
			}
			for name, value := range want {
				if got := confLine(t, conf, name); got != value {
					t.Errorf("%s = %s, want %s as the catalog says", name, got, value)
				}
			}
		})
	}
	t.Run("PlacedMemoryWins", func(t *testing.T) {
		c := newCluster("solo", dbplane.TopologyStandalone, "", 1)
		c.Spec.Flavor, c.Nodes[0].MemoryMB = "dbp.c2.m4", 8192
		conf, _ := configure(t, c, 0)
		for name, want := range map[string]string{"shared_buffers": "2048MB", "effective_cache_size": "6144MB",
			"max_connections": "200", "maintenance_work_mem": "512MB"} {
			if got := confLine(t, conf, name); got != want {
				t.Errorf("%s = %s, want %s", name, got, want)
			}
		}
	})
	t.Run("ParametersOverride", func(t *testing.T) {
		c := newCluster("solo", dbplane.TopologyStandalone, "", 1)
		c.Spec.Parameters = map[string]string{"shared_buffers": "3GB"}
		conf, _ := configure(t, c, 0)
		if n := strings.Count(conf, "shared_buffers = "); n != 1 || confLine(t, conf, "shared_buffers") != "3GB" {
			t.Errorf("shared_buffers is set %d times, want once, to the spec's 3GB:\n%s", n, conf)
		}
	})
	t.Run("UnknownFlavor", func(t *testing.T) {
		c := newCluster("solo", dbplane.TopologyStandalone, "", 1)
		c.Spec.Flavor = "dbp.huge"
		e, _ := fakeEngine(c, "pw")
		err := e.RunStep(context.Background(), postgres.HandlerConfigure, 1, enginekit.StepParams(0), (&stepLog{}).Logf)
		enginetest.WantPermanent(t, err, dbplane.KindInvalid)
	})
}

func TestHBA(t *testing.T) {
	t.Run("DefaultAllowlistOfLoopbackCluster", func(t *testing.T) {
		c := newCluster("loop", dbplane.TopologyReplication, "", 3)
		for i := range c.Nodes {
			c.Nodes[i].Address = "127.0.0.1" + string(rune('1'+i))
		}
		_, hba := configure(t, c, 0)
		var allowed []string
		for line := range strings.Lines(hba) {
			f := strings.Fields(line)
			if len(f) == 5 && f[0] == "host" && f[4] == "scram-sha-256" {
				allowed = append(allowed, f[1]+" "+f[2]+" "+f[3])
			}
		}
		want := []string{"replication replicator 127.0.0.0/8", "all all 127.0.0.0/8", "all all ::1/128"}
		if diff := cmp.Diff(want, allowed); diff != "" {
			t.Fatalf("scram-sha-256 lines (-want +got):\n%s\n%s", diff, hba)
		}
	})
	t.Run("DefaultAllowlistOfNetworkCluster", func(t *testing.T) {
		_, hba := configure(t, newCluster("net1", dbplane.TopologyReplication, "", 2), 0)
		for _, want := range []string{"all          all          127.0.0.0/8", "all          all          10.0.0.2/32",
			"replication  replicator   10.0.0.1/32"} {
			if !strings.Contains(hba, want) {
				t.Errorf("pg_hba.conf lacks %q:\n%s", want, hba)
			}
		}
	})
	t.Run("EverythingElseRejected", func(t *testing.T) {
		_, hba := configure(t, newCluster("net1", dbplane.TopologyStandalone, "", 1), 0)
		lines := strings.Split(strings.TrimSpace(hba), "\n")
		last := strings.Join(lines[len(lines)-4:], "\n")
		for _, want := range []string{"all          all          0.0.0.0/0            reject", "all          all          ::/0                 reject"} {
			if !strings.Contains(last, want) {
				t.Errorf("pg_hba.conf does not end rejecting %q:\n%s", want, hba)
			}
		}
	})
}

func TestCheckParameters(t *testing.T) {
	ok := map[string]string{"work_mem": "64MB", "shared_preload_libraries": "pg_stat_statements,auto_explain",
		"auto_explain.log_min_duration": "1s"}
	bad := map[string]string{"port": "1", "listen_addresses": "*", "archive_command": "cp %p /x",
		"ssl_cert_file": "/etc/x", "log_directory": "/tmp", "include": "/etc/passwd", "synchronous_standby_names": "*",
		"session_preload_libraries": "/tmp/evil.so", "work_mem": "4MB", "log_filename": "../../pg-9-0/x.log",
		"krb_server_keyfile": "/etc/x", "archive_library": "/tmp/evil.so", "application_name": "a\nlisten_addresses = '*'"}
	enginetest.CheckParameters(t, postgres.CheckParameters, ok, bad, "parameters[application_name]", "parameters[archive_command]",
		"parameters[archive_library]", "parameters[include]", "parameters[krb_server_keyfile]", "parameters[listen_addresses]",
		"parameters[log_directory]", "parameters[log_filename]", "parameters[port]", "parameters[session_preload_libraries]",
		"parameters[ssl_cert_file]", "parameters[synchronous_standby_names]")
}
