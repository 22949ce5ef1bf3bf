package postgres

import (
	"fmt"

	"github.com/dbplane/dbplane"
)

// PlanStop returns the steps that stop the cluster's nodes: the replicas
// (in parallel), then the primary, so that no replica is left streaming
// from a primary that is gone, and the primary's last checkpoint is the
// newest state. The service records the nodes stopped after them.
func (e *Engine) PlanStop(c *dbplane.Cluster) []dbplane.PlanStep {
	nodes := planNodes(c)
	p := primaryOf(&dbplane.Cluster{Nodes: nodes})
	var steps []dbplane.PlanStep
	var replicas []string
	for _, n := range nodes {
		if n.Ordinal == p.Ordinal {
			continue
		}
		s := stopStep(fmt.Sprintf("pg-stop-%d", n.Ordinal), n)
		steps = append(steps, s)
		replicas = append(replicas, s.Key)
	}
	return append(steps, stopStep("pg-stop-primary", p, replicas...))
}

// PlanStart returns the steps that start a stopped cluster: the primary,
// then each replica (in parallel), each verified streaming again. The
// service records the nodes running after them.
func (e *Engine) PlanStart(c *dbplane.Cluster) []dbplane.PlanStep {
	nodes := planNodes(c)
	p := primaryOf(&dbplane.Cluster{Nodes: nodes})
	steps := []dbplane.PlanStep{startStep("pg-start-primary", p)}
	for _, n := range nodes {
		if n.Ordinal == p.Ordinal {
			continue
		}
		start := startStep(fmt.Sprintf("pg-start-%d", n.Ordinal), n, "pg-start-primary")
		steps = append(steps, start, verifyStep(fmt.Sprintf("pg-verify-%d", n.Ordinal), c, n, start.Key))
	}
	return steps
}

// PlanRestart returns the steps of a rolling restart: one replica at a
// time (stop, start, verify it streams), then the primary, after which
// every replica is verified streaming from it again. The primary is down
// only for its own restart, and the replicas serve reads meanwhile.
func (e *Engine) PlanRestart(c *dbplane.Cluster) []dbplane.PlanStep {
	nodes := planNodes(c)
	p := primaryOf(&dbplane.Cluster{Nodes: nodes})
	var steps []dbplane.PlanStep
	var last []string // the step the next restart waits for
	var replicas []dbplane.Node
	for _, n := range nodes {
		if n.Ordinal == p.Ordinal {
			continue
		}
		replicas = append(replicas, n)
		stop := stopStep(fmt.Sprintf("pg-stop-%d", n.Ordinal), n, last...)
		start := startStep(fmt.Sprintf("pg-start-%d", n.Ordinal), n, stop.Key)
		verify := verifyStep(fmt.Sprintf("pg-verify-%d", n.Ordinal), c, n, start.Key)
		steps = append(steps, stop, start, verify)
		last = []string{verify.Key}
	}
	stop := stopStep("pg-stop-primary", p, last...)
	start := startStep("pg-start-primary", p, stop.Key)
	steps = append(steps, stop, start)
	for _, n := range replicas {
		s := verifyStep(fmt.Sprintf("pg-reverify-%d", n.Ordinal), c, n, start.Key)
		s.Name = fmt.Sprintf("Verify streaming %d after the primary", n.Ordinal)
		steps = append(steps, s)
	}
	return steps
}

func stopStep(key string, n dbplane.Node, after ...string) dbplane.PlanStep {
	return newStep(key, fmt.Sprintf("Stop node %d", n.Ordinal), HandlerStop, n, startTimeout,
		fmt.Sprintf("Stop node %d on %s (fast shutdown: sessions end, a checkpoint is written); its data stays", n.Ordinal, where(n)), after...)
}

func startStep(key string, n dbplane.Node, after ...string) dbplane.PlanStep {
	return newStep(key, fmt.Sprintf("Start node %d", n.Ordinal), HandlerStart, n, startTimeout,
		fmt.Sprintf("Start node %d on %s and wait until it accepts connections", n.Ordinal, where(n)), after...)
}

func verifyStep(key string, c *dbplane.Cluster, n dbplane.Node, after ...string) dbplane.PlanStep {
	return newStep(key, fmt.Sprintf("Verify streaming %d", n.Ordinal), HandlerVerify, n, startTimeout,
		fmt.Sprintf("Wait until pg_stat_replication on the primary shows replica %d streaming (%s)", n.Ordinal, modeOf(c)), after...)
}
