package dbplane_test

import (
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
)

func host(id int64, zone string, status dbplane.HostStatus) dbplane.HostLoad {
	return dbplane.HostLoad{Host: &dbplane.Host{ID: id, Address: "127.0.0." + string(rune('0'+id)), Zone: zone,
		Status: status, MemoryMB: 8192, DiskGB: 100, DataRoot: "/data"}}
}

func spec(nodes int, zones ...string) dbplane.ClusterSpec {
	return dbplane.ClusterSpec{Name: "orders", Engine: dbplane.EnginePostgreSQL, Topology: dbplane.TopologyReplication,
		Nodes: nodes, VolumeGB: 20, Zones: zones}
}

var small = dbplane.Flavor{Code: "dbp.c2.m4", VCPUs: 2, MemoryGB: 4}

func TestPlaceSpreadsOverZones(t *testing.T) {
	hosts := []dbplane.HostLoad{
		host(1, "z1", dbplane.HostOnline), host(2, "z1", dbplane.HostOnline),
		host(3, "z2", dbplane.HostOnline), host(4, "z3", dbplane.HostOnline),
	}
	nodes, err := dbplane.Place(spec(3), 3, small, hosts)
	if err != nil {
		t.Fatal(err)
	}
	zones := map[int64]string{1: "z1", 2: "z1", 3: "z2", 4: "z3"}
	seen := map[string]bool{}
	for i, n := range nodes {
		if n.Ordinal != i {
			t.Errorf("node %d has ordinal %d", i, n.Ordinal)
		}
		seen[zones[n.HostID]] = true
	}
	if len(seen) != 3 {
		t.Fatalf("nodes on zones %v; want one in each of z1, z2, z3", seen)
	}
	if nodes[0].Role != "primary" || nodes[1].Role != "replica" {
		t.Errorf("roles %s, %s; want primary, replica", nodes[0].Role, nodes[1].Role)
	}
	if nodes[0].Port != 5432 || nodes[0].DataDir != "/data/postgresql/orders-0" {
		t.Errorf("node 0 at port %d dir %s; want 5432 /data/postgresql/orders-0", nodes[0].Port, nodes[0].DataDir)
	}
}

func TestPlaceOneNodePerHostAndFreePorts(t *testing.T) {
	h1 := host(1, "z1", dbplane.HostOnline)
	h1.Ports = map[int]bool{5432: true, 5433: true}
	nodes, err := dbplane.Place(spec(2), 2, small, []dbplane.HostLoad{h1, host(2, "z1", dbplane.HostOnline)})
	if err != nil {
		t.Fatal(err)
	}
	if nodes[0].HostID == nodes[1].HostID {
		t.Fatal("two nodes of a cluster on one host")
	}
	for _, n := range nodes {
		if n.HostID == 1 && n.Port != 5434 {
			t.Errorf("node on host 1 got port %d; 5432 and 5433 are taken, want 5434", n.Port)
		}
	}
}

func TestPlaceRefuses(t *testing.T) {
	full := host(3, "z1", dbplane.HostOnline)
	full.MemoryMB = 6144 // 4 GB of 8 promised already
	full.Host.MemoryMB = 8192
	drained := host(4, "z1", dbplane.HostOnline)
	drained.Host.Drained = true
	for _, tc := range []struct {
		name  string
		spec  dbplane.ClusterSpec
		hosts []dbplane.HostLoad
		want  string
	}{
		{"no hosts", spec(3), nil, "only 0 qualify"},
		{"offline host", spec(1), []dbplane.HostLoad{host(1, "z1", dbplane.HostOffline)}, "is OFFLINE"},
		{"too few hosts", spec(3), []dbplane.HostLoad{host(1, "z1", dbplane.HostOnline), host(2, "z2", dbplane.HostOnline)}, "only 2 qualify"},
		{"no memory", spec(1), []dbplane.HostLoad{full}, "MB of memory free"},
		{"drained", spec(1), []dbplane.HostLoad{drained}, "is drained"},
		{"zone without hosts", spec(2, "z1", "z9"), []dbplane.HostLoad{host(1, "z1", dbplane.HostOnline)}, "in zones z1, z9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dbplane.Place(tc.spec, max(tc.spec.Nodes, 1), small, tc.hosts)
			if dbplane.ErrorKind(err) != dbplane.KindUnplaceable {
				t.Fatalf("err %v; want unplaceable", err)
			}
			if !strings.Contains(dbplane.ErrorMessage(err), tc.want) {
				t.Fatalf("message %q lacks %q", dbplane.ErrorMessage(err), tc.want)
			}
		})
	}
}

func TestPlacePinnedHosts(t *testing.T) {
	// Host 1 has the most free memory: unpinned, it would take node 0.
	hosts := []dbplane.HostLoad{host(1, "z1", dbplane.HostOnline), host(2, "z1", dbplane.HostOnline), host(3, "z2", dbplane.HostOnline)}
	hosts[1].MemoryMB, hosts[2].MemoryMB = 1024, 2048
	s := spec(2)
	s.Hosts = []int64{3, 2}
	nodes, err := dbplane.Place(s, 2, small, hosts)
	if err != nil {
		t.Fatal(err)
	}
	if nodes[0].HostID != 3 || nodes[1].HostID != 2 || nodes[0].Role != "primary" || nodes[1].Ordinal != 1 {
		t.Fatalf("nodes %+v; want the primary on host 3 and node 1 on host 2", nodes)
	}
}

func TestPlacePinnedHostsRefused(t *testing.T) {
	drained := host(2, "z1", dbplane.HostOnline)
	drained.Host.Drained = true
	hosts := []dbplane.HostLoad{host(1, "z1", dbplane.HostOnline), drained, host(3, "z2", dbplane.HostOnline)}
	for _, tc := range []struct {
		name  string
		pins  []int64
		zones []string
		want  []string
	}{
		{"drained and unknown", []int64{2, 9}, nil, []string{"host 2 (127.0.0.2) is drained", "there is no host 9"}},
		{"outside the zones", []int64{1, 3}, []string{"z1"}, []string{`host 3 (127.0.0.3) is in zone "z2", not in zones z1`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := spec(2, tc.zones...)
			s.Hosts = tc.pins
			_, err := dbplane.Place(s, 2, small, hosts)
			if dbplane.ErrorKind(err) != dbplane.KindUnplaceable {
				t.Fatalf("err %v; want unplaceable", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(dbplane.ErrorMessage(err), w) {
					t.Errorf("message %q lacks %q", dbplane.ErrorMessage(err), w)
				}
			}
		})
	}
}
