package mysql_test

import (
	"fmt"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
	"github.com/dbplane/dbplane/engine/mysql"
)

// newCluster returns a placed cluster of n nodes on hosts 1..n at
// 10.0.0.1.., as the control plane hands it to the engine.
func newCluster(name, topology, mode string, n int) *dbplane.Cluster {
	c := enginetest.NewCluster(dbplane.EngineMySQL, "10.11", name, topology, n)
	c.Spec.ReplicationMode = mode
	enginetest.PlaceNodes(c, 3306, func(i int) string {
		switch {
		case topology == dbplane.TopologyGalera:
			return mysql.RoleMember
		case i == 0:
			return mysql.RolePrimary
		}
		return mysql.RoleReplica
	})
	return c
}

// fakeEngine returns an engine over fakes for c, and the agents by host.
func fakeEngine(c *dbplane.Cluster, password string) (*mysql.Engine, map[int64]*fakeAgent) {
	agents, dialer := enginetest.Agents(c, newFakeAgent)
	replicas := 0
	for _, n := range c.Nodes {
		if n.Ordinal != 0 {
			agents[c.Nodes[0].HostID].slaveIDs = append(agents[c.Nodes[0].HostID].slaveIDs, n.Ordinal+1)
			replicas++
		}
	}
	for _, a := range agents {
		a.status["rpl_semi_sync_master_clients"] = fmt.Sprint(replicas)
		a.status["wsrep_cluster_size"] = fmt.Sprint(len(c.Nodes))
	}
	e := &mysql.Engine{Deps: enginekit.Deps{Store: &fakeStore{TaskID: 1, Cluster: c, Password: password}, Dialer: dialer}}
	return e, agents
}

// The plan runners and the step log are the kit's.
type stepLog = enginetest.Log

var (
	runPlan  = enginetest.RunPlan
	runStep  = enginetest.RunStep
	undoPlan = enginetest.UndoPlan
)

// The plan assertions tls_test.go and standby_test.go call are the kit's.
var (
	names         = enginetest.Names
	stepByName    = enginetest.StepByName
	upstreamNames = enginetest.UpstreamNames
	ordinal       = enginetest.Ordinal
)
