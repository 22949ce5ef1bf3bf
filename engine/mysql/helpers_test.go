package mysql_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/mysql"
)

// newCluster returns a placed cluster of n nodes on hosts 1..n at
// 10.0.0.1.., as the control plane hands it to the engine.
func newCluster(name, topology, mode string, n int) *dbplane.Cluster {
	c := &dbplane.Cluster{
		ID: 7, Name: name, Engine: dbplane.EngineMySQL, Version: "10.11", Topology: topology,
		Spec: dbplane.ClusterSpec{Name: name, Engine: dbplane.EngineMySQL, Version: "10.11", Topology: topology,
			Nodes: n, Flavor: "dbp.c2.m4", VolumeGB: 10, ReplicationMode: mode},
	}
	for i := range n {
		role := mysql.RoleReplica
		switch {
		case topology == dbplane.TopologyGalera:
			role = mysql.RoleMember
		case i == 0:
			role = mysql.RolePrimary
		}
		c.Nodes = append(c.Nodes, dbplane.Node{
			ID: int64(100 + i), ClusterID: c.ID, Ordinal: i, HostID: int64(i + 1),
			Address: fmt.Sprintf("10.0.0.%d", i+1), Role: role, Port: 3306 + i,
			DataDir: fmt.Sprintf("/data/h%d/mysql/%s-%d", i+1, name, i),
		})
	}
	return c
}

// fakeEngine returns an engine over fakes for c, and the agents by host.
func fakeEngine(c *dbplane.Cluster, password string) (*mysql.Engine, map[int64]*fakeAgent) {
	agents := map[int64]*fakeAgent{}
	dialer := fakeDialer{}
	for _, n := range c.Nodes {
		a := newFakeAgent(n.HostID)
		agents[n.HostID], dialer[n.HostID] = a, a
	}
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
	e := &mysql.Engine{Store: &fakeStore{taskID: 1, cluster: c, password: password}, Dialer: dialer}
	return e, agents
}

// stepLog collects the lines steps write to their logs.
type stepLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *stepLog) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *stepLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

// runPlan runs the steps of a plan as the task engine would: each step once
// its upstreams succeeded, independent steps in parallel, retryable errors
// retried. It returns the first error that is permanent or outlives the
// retries, naming the step.
func runPlan(ctx context.Context, t *testing.T, e *mysql.Engine, taskID int64, steps []dbplane.PlanStep, log *stepLog) error {
	t.Helper()
	done := map[string]bool{}
	for len(done) < len(steps) {
		var wave []dbplane.PlanStep
		for _, s := range steps {
			if !done[s.Key] && !slices.ContainsFunc(s.After, func(k string) bool { return !done[k] }) {
				wave = append(wave, s)
			}
		}
		if len(wave) == 0 {
			t.Fatalf("the plan has a cycle or an unknown upstream: %d of %d steps ran", len(done), len(steps))
		}
		errs := make([]error, len(wave))
		var wg sync.WaitGroup
		for i, s := range wave {
			wg.Go(func() { errs[i] = runStep(ctx, e, taskID, s, log) })
		}
		wg.Wait()
		for i, s := range wave {
			if errs[i] != nil {
				return fmt.Errorf("step %q: %w", s.Name, errs[i])
			}
			done[s.Key] = true
		}
	}
	return nil
}

func runStep(ctx context.Context, e *mysql.Engine, taskID int64, s dbplane.PlanStep, log *stepLog) error {
	for attempt := 1; ; attempt++ {
		sctx, cancel := context.WithTimeout(ctx, s.Timeout)
		err := e.RunStep(sctx, s.Handler, taskID, s.Params, log.logf)
		cancel()
		if err == nil || dbplane.IsPermanent(err) || attempt == 3 {
			return err
		}
		log.logf("retrying %s after: %v", s.Name, err)
		time.Sleep(500 * time.Millisecond)
	}
}

// undoPlan runs the undo handlers of steps in reverse order, as a rollback
// would.
func undoPlan(ctx context.Context, e *mysql.Engine, taskID int64, steps []dbplane.PlanStep, log *stepLog) error {
	for _, s := range slices.Backward(steps) {
		if s.Undo == "" {
			continue
		}
		if err := e.RunStep(ctx, s.Undo, taskID, s.Params, log.logf); err != nil {
			return fmt.Errorf("undo of %q: %w", s.Name, err)
		}
	}
	return nil
}
