package service

import (
	"context"
	"fmt"
	"slices"

	"github.com/dbplane/dbplane"
)

// powerOp is one of the operations that stop, start or restart a cluster's
// nodes, keeping their data: what it is called, the statuses it starts
// from, the status it holds while it runs and the engine's plan of it.
type powerOp struct {
	verb    string // "Stop", "Start", "Restart": names the task
	kind    string
	from    []dbplane.ClusterStatus
	running dbplane.ClusterStatus
	plan    func(PowerEngine, *dbplane.Cluster) []dbplane.PlanStep
	mark    string // the handler of the last step, which records the nodes' status
}

// PowerEngine plans the steps that stop, start and restart a cluster's
// nodes. Every engine the control plane runs implements it; the steps keep
// the nodes' data and configuration.
type PowerEngine interface {
	// PlanStop returns the steps that stop every node, replicas before
	// their primary.
	PlanStop(c *dbplane.Cluster) []dbplane.PlanStep
	// PlanStart returns the steps that start every node of a stopped
	// cluster in the engine's order and wait until each serves.
	PlanStart(c *dbplane.Cluster) []dbplane.PlanStep
	// PlanRestart returns the steps that restart the nodes one at a time,
	// replicas before the primary, waiting until each serves again.
	PlanRestart(c *dbplane.Cluster) []dbplane.PlanStep
}

// Handler names of the service's steps that end stop, start and restart.
const (
	HandlerMarkStopped = "cluster.mark_stopped"
)

// up are the statuses of a cluster whose nodes (some of them at least) run.
var up = []dbplane.ClusterStatus{dbplane.ClusterRunning, dbplane.ClusterDegraded, dbplane.ClusterAbnormal}

var (
	opStop = powerOp{verb: "Stop", kind: dbplane.TaskKindClusterStop, from: up, running: dbplane.ClusterStopping,
		plan: PowerEngine.PlanStop, mark: HandlerMarkStopped}
	opStart = powerOp{verb: "Start", kind: dbplane.TaskKindClusterStart, from: []dbplane.ClusterStatus{dbplane.ClusterStopped},
		running: dbplane.ClusterStarting, plan: PowerEngine.PlanStart, mark: HandlerMarkRunning}
	opRestart = powerOp{verb: "Restart", kind: dbplane.TaskKindClusterRestart, from: up, running: dbplane.ClusterRestarting,
		plan: PowerEngine.PlanRestart, mark: HandlerMarkRunning}
)

// allStatuses are every status a cluster may have; an operation refuses
// those it does not start from.
var allStatuses = []dbplane.ClusterStatus{
	dbplane.ClusterCreating, dbplane.ClusterRunning, dbplane.ClusterAbnormal, dbplane.ClusterDegraded,
	dbplane.ClusterStopped, dbplane.ClusterDeleting, dbplane.ClusterFailed, dbplane.ClusterDataDiskFull,
	dbplane.ClusterStopping, dbplane.ClusterStarting, dbplane.ClusterRestarting, dbplane.ClusterUpdating,
}

// refused returns the statuses op does not start from.
func (op powerOp) refused() []dbplane.ClusterStatus {
	var out []dbplane.ClusterStatus
	for _, s := range allStatuses {
		if !slices.Contains(op.from, s) {
			out = append(out, s)
		}
	}
	return out
}

// StopCluster starts the task that stops every node of a cluster.
func (s *Service) StopCluster(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
	return s.power(ctx, id, dryRun, opStop)
}

// StartCluster starts the task that starts every node of a stopped cluster.
func (s *Service) StartCluster(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
	return s.power(ctx, id, dryRun, opStart)
}

// RestartCluster starts the task that restarts a cluster's nodes one at a
// time.
func (s *Service) RestartCluster(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
	return s.power(ctx, id, dryRun, opRestart)
}

// power authorizes op on a cluster like DeleteCluster (operate on its
// project; another project's cluster is not found), checks the cluster's
// status, and starts op's task, or plans it on a dry run. The status is
// checked again in the transaction that stores the task, so that two
// concurrent requests cannot both pass.
func (s *Service) power(ctx context.Context, id int64, dryRun bool, op powerOp) (*dbplane.Task, error) {
	c, err := s.cluster(ctx, id, dbplane.ActionOperate)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(op.from, c.Status) {
		return nil, conflictStatus(c, op)
	}
	engine, err := s.engine(c.Engine)
	if err != nil {
		return nil, err
	}
	pe, ok := engine.(PowerEngine)
	if !ok {
		return nil, dbplane.Errorf(dbplane.KindConflict, "clusters of engine %s cannot be stopped, started or restarted", c.Engine)
	}
	plan := planPower(c, pe, op)
	return s.startClusterTask(ctx, c, plan, op.running, op.refused(), dryRun)
}

// conflictStatus is the error of an operation asked of a cluster in a
// status it does not start from.
func conflictStatus(c *dbplane.Cluster, op powerOp) error {
	return dbplane.Errorf(dbplane.KindConflict, "cluster %d is %s: only a cluster that is %s can be %s",
		c.ID, c.Status, statusList(op.from), pastTense(op.verb))
}

func statusList(ss []dbplane.ClusterStatus) string {
	out := ""
	for i, s := range ss {
		switch {
		case i == 0:
		case i == len(ss)-1:
			out += " or "
		default:
			out += ", "
		}
		out += string(s)
	}
	return out
}

func pastTense(verb string) string {
	switch verb {
	case "Stop":
		return "stopped"
	case "Start":
		return "started"
	}
	return "restarted"
}

// planPower plans op's task on c: the engine's steps, then the step that
// records the nodes' status. The task keeps the cluster's data, and a
// stop's undo would be a start (and the reverse): it prohibits rollback,
// and a failed one is retried (every step is idempotent) or followed by
// the opposite operation.
func planPower(c *dbplane.Cluster, e PowerEngine, op powerOp) dbplane.TaskPlan {
	steps := op.plan(e, c)
	desc := "Record every node running"
	if op.mark == HandlerMarkStopped {
		desc = "Record every node stopped"
	}
	steps = append(steps, dbplane.PlanStep{Key: "mark", Name: "Mark nodes " + statusWord(op), Handler: op.mark,
		After: sinks(steps), Description: desc})
	return dbplane.TaskPlan{
		Name:             fmt.Sprintf("%s %s cluster %s", op.verb, c.Engine, c.Name),
		Kind:             op.kind,
		ClusterID:        c.ID,
		ProhibitRollback: true,
		Context:          clusterContext(c),
		Steps:            steps,
	}
}

func statusWord(op powerOp) string {
	if op.mark == HandlerMarkStopped {
		return "stopped"
	}
	return "running"
}
