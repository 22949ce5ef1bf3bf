package mysql_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
	"github.com/dbplane/dbplane/engine/mysql"
)

// configure runs the configure step of a node and returns the my.cnf it
// wrote.
func configure(t *testing.T, c *dbplane.Cluster, ordinal int) string {
	t.Helper()
	e, agents := fakeEngine(c, "Secret-pw1")
	n := c.Nodes[ordinal]
	if err := e.RunStep(context.Background(), mysql.HandlerConfigure, 1, enginekit.StepParams(ordinal), (&stepLog{}).Logf); err != nil {
		t.Fatalf("configure node %d: %v", ordinal, err)
	}
	a := agents[n.HostID]
	if !strings.Contains(strings.Join(a.Calls, "\n"), "WriteFile "+n.DataDir+".d/my.cnf mysql 600") {
		t.Errorf("my.cnf of node %d not written as mysql, 0600: %v", ordinal, a.Calls)
	}
	return a.File(t, n.DataDir+".d/my.cnf")
}

// settings returns the settings of a my.cnf, by name; a setting given
// twice keeps its last value, as MariaDB does.
func settings(conf string) map[string]string {
	m := map[string]string{}
	for line := range strings.Lines(conf) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), " = "); ok && !strings.HasPrefix(k, "#") {
			m[k] = v
		}
	}
	return m
}

func TestConfigGolden(t *testing.T) {
	c := newCluster("trio", dbplane.TopologyReplication, dbplane.ReplicationSync, 3)
	c.Spec.Parameters = map[string]string{"long_query_time": "2", "sql_mode": "STRICT_TRANS_TABLES,NO_ZERO_DATE", "init_connect": `SET NAMES "utf8mb4"`}
	enginetest.Golden(t, "primary.cnf", configure(t, c, 0))
	enginetest.Golden(t, "replica.cnf", configure(t, c, 1))
	enginetest.Golden(t, "standalone.cnf", configure(t, newCluster("solo", dbplane.TopologyStandalone, "", 1), 0))
	enginetest.Golden(t, "galera.cnf", configure(t, newCluster("gal3", dbplane.TopologyGalera, "", 3), 1))
}

func TestConfigByRole(t *testing.T) {
	for _, tc := range []struct {
		name      string
		topology  string
		mode      string
		ordinal   int
		want      map[string]string
		forbidden []string
	}{
		{"SyncPrimary", dbplane.TopologyReplication, dbplane.ReplicationSync, 0,
			map[string]string{"rpl_semi_sync_master_enabled": "ON", "rpl_semi_sync_master_wait_point": "AFTER_SYNC",
				"rpl_semi_sync_master_wait_no_slave": "ON", "rpl_semi_sync_master_timeout": "10000", "server_id": "1",
				"gtid_strict_mode": "ON", "log_bin": "mariadb-bin", "log_slave_updates": "ON", "binlog_format": "ROW"},
			[]string{"read_only", "rpl_semi_sync_slave_enabled", "wsrep_on"}},
		{"SyncReplica", dbplane.TopologyReplication, dbplane.ReplicationSync, 2,
			map[string]string{"read_only": "ON", "rpl_semi_sync_slave_enabled": "ON", "server_id": "3", "gtid_strict_mode": "ON"},
			[]string{"rpl_semi_sync_master_enabled"}},
		{"QuorumIsSemiSync", dbplane.TopologyReplication, dbplane.ReplicationQuorum, 0,
			map[string]string{"rpl_semi_sync_master_enabled": "ON", "rpl_semi_sync_master_wait_point": "AFTER_SYNC"}, nil},
		{"AsyncPrimary", dbplane.TopologyReplication, dbplane.ReplicationAsync, 0,
			map[string]string{"log_bin": "mariadb-bin"}, []string{"rpl_semi_sync_master_enabled", "read_only"}},
		{"AsyncReplica", dbplane.TopologyReplication, dbplane.ReplicationAsync, 1,
			map[string]string{"read_only": "ON"}, []string{"rpl_semi_sync_slave_enabled"}},
		{"Standalone", dbplane.TopologyStandalone, "", 0,
			map[string]string{"log_bin": "mariadb-bin"}, []string{"read_only", "rpl_semi_sync_master_enabled", "wsrep_on"}},
		{"GaleraMember", dbplane.TopologyGalera, "", 2,
			map[string]string{
				"wsrep_on": "ON", "wsrep_provider": "/usr/lib/galera/libgalera_smm.so", "wsrep_cluster_name": "gal3",
				"wsrep_cluster_address": "gcomm://10.0.0.1:4567,10.0.0.2:4568,10.0.0.3:4569",
				"wsrep_node_address":    "10.0.0.3:4569", "wsrep_node_name": "node2",
				"wsrep_provider_options":    `"gmcast.listen_addr=tcp://10.0.0.3:4569;ist.recv_addr=10.0.0.3:4669"`,
				"wsrep_sst_method":          "mariabackup",
				"wsrep_sst_receive_address": "10.0.0.3:4446",
				"binlog_format":             "ROW", "innodb_autoinc_lock_mode": "2", "server_id": "3",
				"log_bin": "mariadb-bin", "log_slave_updates": "ON", "wsrep_gtid_mode": "ON",
				"wsrep_gtid_domain_id": "7", "gtid_domain_id": "2147483762"},
			[]string{"read_only", "gtid_strict_mode", "wsrep_sst_auth"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := configure(t, newCluster("gal3", tc.topology, tc.mode, 3-2*b2i(tc.topology == dbplane.TopologyStandalone)), tc.ordinal)
			got := settings(conf)
			for k, want := range tc.want {
				if got[k] != want {
					t.Errorf("%s = %q, want %q", k, got[k], want)
				}
			}
			for _, k := range tc.forbidden {
				if v, ok := got[k]; ok {
					t.Errorf("%s = %q, want it unset", k, v)
				}
			}
			if sst := strings.Contains(conf, "\n[sst]\nsockopt = \"bind=10.0.0.3\"\n"); sst != (tc.topology == dbplane.TopologyGalera) {
				t.Errorf("my.cnf binds socat to the member's address: %v, want %v:\n%s", sst, !sst, conf)
			}
			if !strings.HasSuffix(conf, "!includedir /data/h"+strconv.Itoa(tc.ordinal+1)+"/mysql/gal3-"+strconv.Itoa(tc.ordinal)+".d/conf.d\n") {
				t.Errorf("my.cnf does not end including the node's conf.d:\n%s", conf)
			}
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestSizingFromFlavor(t *testing.T) {
	for _, tc := range []struct {
		flavor       string
		nodeMemoryMB int64
		pool, max    string
	}{
		{"dbp.c1.m2", 0, "1228M", "100"},
		{"dbp.c2.m4", 0, "2457M", "200"},
		{"dbp.c16.m64", 0, "39321M", "1600"},
		{"dbp.c2.m4", 8192, "4915M", "200"}, // what placement promised wins
	} {
		t.Run(tc.flavor, func(t *testing.T) {
			c := newCluster("solo", dbplane.TopologyStandalone, "", 1)
			c.Spec.Flavor, c.Nodes[0].MemoryMB = tc.flavor, tc.nodeMemoryMB
			got := settings(configure(t, c, 0))
			if got["innodb_buffer_pool_size"] != tc.pool || got["max_connections"] != tc.max {
				t.Errorf("innodb_buffer_pool_size %s, max_connections %s; want %s, %s",
					got["innodb_buffer_pool_size"], got["max_connections"], tc.pool, tc.max)
			}
		})
	}
	t.Run("ParametersOverride", func(t *testing.T) {
		c := newCluster("solo", dbplane.TopologyStandalone, "", 1)
		c.Spec.Parameters = map[string]string{"innodb_buffer_pool_size": "512M"}
		if got := settings(configure(t, c, 0))["innodb_buffer_pool_size"]; got != "512M" {
			t.Errorf("innodb_buffer_pool_size = %s, want the spec's 512M last", got)
		}
	})
	t.Run("UnknownFlavor", func(t *testing.T) {
		c := newCluster("solo", dbplane.TopologyStandalone, "", 1)
		c.Spec.Flavor = "dbp.huge"
		e, _ := fakeEngine(c, "pw")
		err := e.RunStep(context.Background(), mysql.HandlerConfigure, 1, enginekit.StepParams(0), (&stepLog{}).Logf)
		enginetest.WantPermanent(t, err, dbplane.KindInvalid)
	})
}

func TestCheckParameters(t *testing.T) {
	ok := map[string]string{"long_query_time": "2", "sql_mode": "STRICT_TRANS_TABLES", "rpl_semi_sync_master_timeout": "30000",
		"innodb_buffer_pool_size": "1G", "max_allowed_packet": "64M"}
	bad := map[string]string{"port": "1", "bind_address": "0.0.0.0", "datadir": "/x", "wsrep_cluster_address": "gcomm://",
		"read_only": "OFF", "skip_name_resolve": "OFF", "loose_secure_file_priv": "", "general_log_file": "/etc/x",
		"plugin_dir": "/tmp", "init_file": "/tmp/x.sql", "slave_load_tmpdir": "/tmp", "rpl_semi_sync_master_wait_point": "AFTER_COMMIT",
		"init_connect": "SELECT 1\n[client]", "long_query_time": "2"}
	enginetest.CheckParameters(t, mysql.CheckParameters, ok, bad, "parameters[bind_address]", "parameters[datadir]",
		"parameters[general_log_file]", "parameters[init_connect]", "parameters[init_file]", "parameters[loose_secure_file_priv]",
		"parameters[plugin_dir]", "parameters[port]", "parameters[read_only]", "parameters[rpl_semi_sync_master_wait_point]",
		"parameters[skip_name_resolve]", "parameters[slave_load_tmpdir]", "parameters[wsrep_cluster_address]")
}
