package enginetest

import (
	"fmt"

	"github.com/dbplane/dbplane"
)

// NewCluster returns cluster 7 of an engine at version, of n nodes of
// flavor dbp.c2.m4 with 10 GB volumes, not yet placed.
func NewCluster(engine, version, name, topology string, n int) *dbplane.Cluster {
	return &dbplane.Cluster{
		ID: 7, Name: name, Engine: engine, Version: version, Topology: topology,
		Spec: dbplane.ClusterSpec{Name: name, Engine: engine, Version: version, Topology: topology,
			Nodes: n, Flavor: "dbp.c2.m4", VolumeGB: 10},
	}
}

// PlaceNodes places the nodes of c's spec as the control plane hands them
// to the engine: node i on host i+1 at 10.0.0.<i+1>, with ID 100+i, port
// port+i, role role(i), and its data directory under
// /data/h<host>/<engine>/<cluster>-<i>.
func PlaceNodes(c *dbplane.Cluster, port int, role func(ordinal int) string) {
	for i := range c.Spec.Nodes {
		c.Nodes = append(c.Nodes, dbplane.Node{
			ID: int64(100 + i), ClusterID: c.ID, Ordinal: i, HostID: int64(i + 1),
			Address: fmt.Sprintf("10.0.0.%d", i+1), Role: role(i), Port: port + i,
			DataDir: fmt.Sprintf("/data/h%d/%s/%s-%d", i+1, c.Engine, c.Name, i),
		})
	}
}

// Agents makes an agent with newAgent for the host of each node of c, and
// returns them by host id with a dialer that hands them out.
func Agents[A dbplane.HostAgent](c *dbplane.Cluster, newAgent func(hostID int64) A) (map[int64]A, Dialer) {
	agents := map[int64]A{}
	dialer := Dialer{}
	for _, n := range c.Nodes {
		a := newAgent(n.HostID)
		agents[n.HostID], dialer[n.HostID] = a, a
	}
	return agents, dialer
}
