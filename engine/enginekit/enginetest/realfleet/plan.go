package realfleet

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
	"github.com/dbplane/dbplane/pki"
)

// Engine is an engine whose steps its tests run: the create and delete
// plans, and the steps by handler name.
type Engine interface {
	enginetest.StepRunner
	PlanCreate(c *dbplane.Cluster) []dbplane.PlanStep
	PlanDelete(c *dbplane.Cluster) []dbplane.PlanStep
}

// ChangeEngine is an engine whose parameters its tests change.
type ChangeEngine interface {
	enginetest.StepRunner
	PlanParameterCheck(c *dbplane.Cluster, change map[string]string) []dbplane.PlanStep
	PlanParameterApply(c *dbplane.Cluster, change map[string]string) []dbplane.PlanStep
}

// ChangeParameters changes the parameters of c as the service does: it
// runs the check plan, plans the apply with the spec of the request's
// time, records the change in c's spec once checked, and runs the apply
// plan. It fails t on an error.
func ChangeParameters(ctx context.Context, t *testing.T, e ChangeEngine, c *dbplane.Cluster, params map[string]string, log *enginetest.Log) {
	t.Helper()
	if err := changeParameters(ctx, t, e, c, params, log); err != nil {
		t.Fatalf("parameters: %v", err)
	}
}

// RefuseParameter checks that a change of parameter name to value fails
// as invalid, naming the parameter, failing t otherwise.
func RefuseParameter(ctx context.Context, t *testing.T, e ChangeEngine, c *dbplane.Cluster, name, value string, log *enginetest.Log) {
	t.Helper()
	err := changeParameters(ctx, t, e, c, map[string]string{name: value}, log)
	field := "parameters[" + name + "]"
	if fs := dbplane.ErrorFields(err); len(fs) != 1 || fs[0].Field != field {
		t.Fatalf("a refused value: %v, want an invalid error naming %s", err, field)
	}
}

func changeParameters(ctx context.Context, t *testing.T, e ChangeEngine, c *dbplane.Cluster, params map[string]string, log *enginetest.Log) error {
	t.Helper()
	if err := enginetest.RunPlan(ctx, t, e, 1, e.PlanParameterCheck(c, params), log); err != nil {
		return err
	}
	apply := e.PlanParameterApply(c, params)
	c.Spec.Parameters = dbplane.MergeParameters(c.Spec.Parameters, params)
	return enginetest.RunPlan(ctx, t, e, 1, apply, log)
}

// NewLog returns a step log that t shows if it fails.
func NewLog(t *testing.T) *enginetest.Log {
	log := &enginetest.Log{}
	t.Cleanup(func() {
		if t.Failed() {
			for _, l := range log.All() {
				t.Log(l)
			}
		}
	})
	return log
}

// Create runs the create plan of c, failing t on an error, and logs how
// long it took.
func Create(ctx context.Context, t *testing.T, e Engine, c *dbplane.Cluster, log *enginetest.Log) {
	t.Helper()
	start := time.Now()
	if err := enginetest.RunPlan(ctx, t, e, 1, e.PlanCreate(c), log); err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Logf("%s cluster %s created in %s", c.Topology, c.Name, time.Since(start).Round(time.Millisecond))
}

// Remove removes c with its delete plan or, with rollback, with the undo
// steps of its create plan, and checks that nothing of it is left: no data
// directory or home, no process, nothing listening on a node's port. It
// fails t first if a node has no process, as the check would prove
// nothing.
func (f *Fleet) Remove(ctx context.Context, t *testing.T, e Engine, c *dbplane.Cluster, log *enginetest.Log, rollback bool) {
	t.Helper()
	for _, n := range c.Nodes {
		if len(f.Processes(t, n)) == 0 {
			t.Fatalf("no process of node %d found: the check after removal would prove nothing", n.Ordinal)
		}
	}
	if rollback {
		if err := enginetest.UndoPlan(ctx, e, 1, e.PlanCreate(c), log); err != nil {
			t.Fatalf("rollback: %v", err)
		}
	} else if err := enginetest.RunPlan(ctx, t, e, 1, e.PlanDelete(c), log); err != nil {
		t.Fatalf("delete: %v", err)
	}
	for _, n := range c.Nodes {
		f.checkRemoved(t, n)
	}
}

func (f *Fleet) checkRemoved(t *testing.T, n dbplane.Node) {
	t.Helper()
	for _, p := range []string{n.DataDir, n.DataDir + ".d"} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is left after removal (%v)", p, err)
		}
	}
	if procs := f.Processes(t, n); len(procs) > 0 {
		t.Errorf("node %d still runs after removal: %v", n.Ordinal, procs)
	}
	if !canListen(n.Address, n.Port) {
		t.Errorf("something still listens on %s:%d", n.Address, n.Port)
	}
}

// NewCA returns a new CA, as the control plane's, failing t if it cannot.
func NewCA(t *testing.T) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	return ca
}
