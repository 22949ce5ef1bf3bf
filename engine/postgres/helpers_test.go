package postgres_test

import (
	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
	"github.com/dbplane/dbplane/engine/postgres"
)

// newCluster returns a placed cluster of n nodes on hosts 1..n at
// 10.0.0.1.., as the control plane hands it to the engine.
func newCluster(name, topology, mode string, n int) *dbplane.Cluster {
	c := enginetest.NewCluster(dbplane.EnginePostgreSQL, "15", name, topology, n)
	c.Spec.ReplicationMode = mode
	enginetest.PlaceNodes(c, 5432, func(i int) string {
		if i == 0 {
			return postgres.RolePrimary
		}
		return postgres.RoleReplica
	})
	return c
}

// fakeEngine returns an engine over fakes for c, and the agents by host.
func fakeEngine(c *dbplane.Cluster, password string) (*postgres.Engine, map[int64]*fakeAgent) {
	agents, dialer := enginetest.Agents(c, newFakeAgent)
	e := &postgres.Engine{Deps: enginekit.Deps{Store: &fakeStore{TaskID: 1, Cluster: c, Password: password}, Dialer: dialer}}
	return e, agents
}

// The plan runners and the step log are the kit's.
type stepLog = enginetest.Log

var (
	runPlan  = enginetest.RunPlan
	runStep  = enginetest.RunStep
	undoPlan = enginetest.UndoPlan
)

// The plan assertions tls_test.go calls are the kit's.
var (
	stepByName    = enginetest.StepByName
	upstreamNames = enginetest.UpstreamNames
	ordinal       = enginetest.Ordinal
)
