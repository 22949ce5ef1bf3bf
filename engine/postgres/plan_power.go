package postgres

import (
	"fmt"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// PlanStop returns the steps that stop the cluster's nodes: the replicas
// (in parallel), then the primary, so that no replica is left streaming
// from a primary that is gone, and the primary's last checkpoint is the
// newest state. The service records the nodes stopped after them.
func (e *Engine) PlanStop(c *dbplane.Cluster) []dbplane.PlanStep {
	nodes, isPrimary := powerNodes(c)
	return enginekit.StopSteps(nodes, isPrimary, false, func(n dbplane.Node, after ...string) dbplane.PlanStep {
		return stopStep(powerKey("stop", n, isPrimary), n, after...)
	})
}

// PlanStart returns the steps that start a stopped cluster: the primary,
// then each replica (in parallel), each verified streaming again. The
// service records the nodes running after them.
func (e *Engine) PlanStart(c *dbplane.Cluster) []dbplane.PlanStep {
	nodes, isPrimary := powerNodes(c)
	p := enginekit.PrimaryOf(&dbplane.Cluster{Nodes: nodes})
	return enginekit.StartSteps(nodes, isPrimary, func(dbplane.Node) int { return p.Ordinal },
		func(n dbplane.Node, after ...string) dbplane.PlanStep {
			return startStep(powerKey("start", n, isPrimary), n, after...)
		},
		func(n dbplane.Node, after string) []dbplane.PlanStep {
			return []dbplane.PlanStep{verifyStep(powerKey("verify", n, isPrimary), c, n, after)}
		})
}

// PlanRestart returns the steps of a rolling restart: one replica at a
// time (stop, start, verify it streams), then the primary, after which
// every replica is verified streaming from it again. The primary is down
// only for its own restart, and the replicas serve reads meanwhile.
func (e *Engine) PlanRestart(c *dbplane.Cluster) []dbplane.PlanStep {
	nodes, isPrimary := powerNodes(c)
	order := enginekit.PrimariesLast(nodes, isPrimary)
	steps := enginekit.OneAtATime(order, func(n dbplane.Node, after []string) []dbplane.PlanStep {
		stop := stopStep(powerKey("stop", n, isPrimary), n, after...)
		start := startStep(powerKey("start", n, isPrimary), n, stop.Key)
		if isPrimary(n) {
			return []dbplane.PlanStep{stop, start}
		}
		return []dbplane.PlanStep{stop, start, verifyStep(powerKey("verify", n, isPrimary), c, n, start.Key)}
	})
	return append(steps, enginekit.VerifyAgain(enginekit.Replicas(nodes, isPrimary), func(n dbplane.Node, after ...string) dbplane.PlanStep {
		return verifyStep(powerKey("reverify", n, isPrimary), c, n, after...)
	}, enginekit.LastKey(steps)...)...)
}

// powerNodes returns the nodes of c and which of them is the primary.
func powerNodes(c *dbplane.Cluster) ([]dbplane.Node, func(dbplane.Node) bool) {
	nodes := planNodes(c)
	p := enginekit.PrimaryOf(&dbplane.Cluster{Nodes: nodes})
	return nodes, func(n dbplane.Node) bool { return n.Ordinal == p.Ordinal }
}

// powerKey is the key of step name (stop, start, verify) of node n:
// "pg-stop-primary", "pg-stop-1".
func powerKey(name string, n dbplane.Node, isPrimary func(dbplane.Node) bool) string {
	if isPrimary(n) {
		return "pg-" + name + "-primary"
	}
	return fmt.Sprintf("pg-%s-%d", name, n.Ordinal)
}

func stopStep(key string, n dbplane.Node, after ...string) dbplane.PlanStep {
	return newStep(key, fmt.Sprintf("Stop node %d", n.Ordinal), HandlerStop, n, enginekit.StartTimeout,
		fmt.Sprintf("Stop node %d on %s (fast shutdown: sessions end, a checkpoint is written); its data stays", n.Ordinal, enginekit.Where(n)), after...)
}

func startStep(key string, n dbplane.Node, after ...string) dbplane.PlanStep {
	return newStep(key, fmt.Sprintf("Start node %d", n.Ordinal), HandlerStart, n, enginekit.StartTimeout,
		fmt.Sprintf("Start node %d on %s and wait until it accepts connections", n.Ordinal, enginekit.Where(n)), after...)
}

func verifyStep(key string, c *dbplane.Cluster, n dbplane.Node, after ...string) dbplane.PlanStep {
	return newStep(key, fmt.Sprintf("Verify streaming %d", n.Ordinal), HandlerVerify, n, enginekit.StartTimeout,
		fmt.Sprintf("Wait until pg_stat_replication on the primary shows replica %d streaming (%s)", n.Ordinal, modeOf(c)), after...)
}
