package enginetest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
)

// Faker is an engine's fake agent: the kit's Agent, embedded.
type Faker interface {
	Fake() *Agent
}

// Fake returns the agent itself, so that an engine's fake, which embeds
// it, hands over the kit's part.
func (f *Agent) Fake() *Agent { return f }

// KitAgents returns the kit's part of each of an engine's fake agents, by
// host id.
func KitAgents[A Faker](agents map[int64]A) map[int64]*Agent {
	out := make(map[int64]*Agent, len(agents))
	for id, a := range agents {
		out[id] = a.Fake()
	}
	return out
}

// hosts returns the ids of agents in order.
func hosts(agents map[int64]*Agent) []int64 {
	return slices.Sorted(maps.Keys(agents))
}

// Unreachable is a dialer that reaches no host: every agent is
// unavailable, which is worth retrying.
type Unreachable struct{}

// Agent fails with KindUnavailable.
func (Unreachable) Agent(context.Context, int64) (dbplane.HostAgent, error) {
	return nil, dbplane.Errorf(dbplane.KindUnavailable, "agent unreachable")
}

// WantPermanent fails t unless err is permanent and of kind.
func WantPermanent(t *testing.T, err error, kind dbplane.Kind) {
	t.Helper()
	if !dbplane.IsPermanent(err) || dbplane.ErrorKind(err) != kind {
		t.Fatalf("err = %v, want a permanent %s error", err, kind)
	}
}

// WantRetryable fails t unless err is a retryable error that says says.
func WantRetryable(t *testing.T, err error, says string) {
	t.Helper()
	if err == nil || dbplane.IsPermanent(err) || !strings.Contains(err.Error(), says) {
		t.Fatalf("err = %v, want a retryable error saying %q", err, says)
	}
}

// Params returns the parameters of a step on node ordinal, as the kit's
// StepParams writes them.
func Params(ordinal int) json.RawMessage {
	return fmt.Appendf(nil, `{"ordinal":%d}`, ordinal)
}

// RunFor runs handler on node ordinal of task 1 for at most d, as a step
// that keeps retrying until its timeout would, and returns its error.
func RunFor(ctx context.Context, e StepRunner, handler string, ordinal int, d time.Duration, log *Log) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return e.RunStep(ctx, handler, 1, Params(ordinal), log.Logf)
}

// CheckStepErrors runs handler, a step of task 1 that reaches node 0's
// host, where it must give up for good (an unknown node, parameters that
// do not parse, an unknown task) and where it must be retried: dialer, the
// engine's, reaching no agent.
func CheckStepErrors(t *testing.T, e StepRunner, dialer *dbplane.AgentDialer, handler string) {
	ctx := context.Background()
	for name, tc := range map[string]struct {
		taskID int64
		params string
	}{
		"UnknownNode": {1, `{"ordinal":5}`},
		"BadParams":   {1, `{"ordinal":"x"}`},
		"UnknownTask": {9, `{"ordinal":0}`},
	} {
		t.Run(name, func(t *testing.T) {
			if err := e.RunStep(ctx, handler, tc.taskID, []byte(tc.params), (&Log{}).Logf); !dbplane.IsPermanent(err) {
				t.Fatalf("err = %v, want a permanent error", err)
			}
		})
	}
	t.Run("AgentUnavailable", func(t *testing.T) {
		*dialer = Unreachable{}
		err := e.RunStep(ctx, handler, 1, Params(0), (&Log{}).Logf)
		if err == nil || dbplane.IsPermanent(err) {
			t.Fatalf("err = %v, want a retryable error", err)
		}
	})
}

// Init is a node's init step, which runs Program once to fill DataDir and
// then leaves the file Done.
type Init struct {
	Engine  StepRunner
	Handler string
	Ordinal int
	Agent   *Agent // of the node's host
	Program string
	DataDir string
	Done    string
	// Lose takes from the data directory what shows it initialised.
	Lose func()
}

// CheckInitOnce checks, after the node was initialised once, that its init
// step does nothing again, and runs the program again on an empty data
// directory when the last run did not finish or the directory lost its
// content.
func CheckInitOnce(t *testing.T, in Init) {
	run := func(t *testing.T, want int) {
		t.Helper()
		if err := in.Engine.RunStep(context.Background(), in.Handler, 1, Params(in.Ordinal), (&Log{}).Logf); err != nil {
			t.Fatal(err)
		}
		if n := len(in.Agent.Commands(in.Program)); n != want {
			t.Fatalf("%s ran %d times, want %d", in.Program, n, want)
		}
	}
	t.Run("InitSkipsAnInitialisedNode", func(t *testing.T) { run(t, 1) })
	t.Run("InitRedoesAnInterruptedInit", func(t *testing.T) {
		delete(in.Agent.Files, in.Done)
		run(t, 2)
		if last := in.Agent.Removed[len(in.Agent.Removed)-1]; !slices.Equal(last, []string{in.DataDir}) {
			t.Fatalf("removed %v before %s, want the data directory emptied", last, in.Program)
		}
	})
	t.Run("InitRedoesALostDataDirectory", func(t *testing.T) {
		in.Lose()
		run(t, 3)
	})
}

// Teardown is a cluster over fakes, with its create and delete plans, to
// take down.
type Teardown struct {
	Engine         StepRunner
	Nodes          []dbplane.Node
	Agents         map[int64]*Agent
	Create, Delete []dbplane.PlanStep
	// Gone, if set, checks what else than the hosts must keep nothing of
	// the nodes.
	Gone func(t *testing.T)
}

// CheckRollbackAndDelete creates the cluster and rolls the creation back,
// then creates it again and deletes it, twice: each time the nodes' hosts
// must keep nothing of them.
func CheckRollbackAndDelete(t *testing.T, td Teardown) {
	ctx := context.Background()
	var log Log
	run := func(t *testing.T, steps []dbplane.PlanStep) {
		t.Helper()
		if err := RunPlan(ctx, t, td.Engine, 1, steps, &log); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("Rollback", func(t *testing.T) {
		run(t, td.Create)
		if err := UndoPlan(ctx, td.Engine, 1, td.Create, &log); err != nil {
			t.Fatal(err)
		}
		td.checkGone(t)
	})
	t.Run("Delete", func(t *testing.T) {
		run(t, td.Create)
		run(t, td.Delete)
		td.checkGone(t)
		if err := RunPlan(ctx, t, td.Engine, 1, td.Delete, &log); err != nil {
			t.Fatalf("deleting again: %v", err)
		}
	})
}

// checkGone fails t where a node's host still runs an instance or keeps a
// file, or a directory other than the shared parent of the data
// directories, or where that parent, which other clusters share, is gone.
func (td Teardown) checkGone(t *testing.T) {
	t.Helper()
	parents := map[int64][]string{}
	for _, n := range td.Nodes {
		parents[n.HostID] = append(parents[n.HostID], path.Dir(n.DataDir))
	}
	for _, id := range slices.Sorted(maps.Keys(parents)) {
		a := td.Agents[id]
		if len(a.Running) != 0 {
			t.Errorf("host %d still runs %v", id, a.Running)
		}
		for _, p := range slices.Sorted(maps.Keys(a.Files)) {
			t.Errorf("host %d still has file %s", id, p)
		}
		for _, p := range slices.Sorted(maps.Keys(a.Dirs)) {
			if !slices.Contains(parents[id], p) {
				t.Errorf("host %d still has directory %s", id, p)
			}
		}
		for _, p := range parents[id] {
			if !a.Dirs[p] {
				t.Errorf("host %d lost the shared directory %s", id, p)
			}
		}
	}
	if td.Gone != nil {
		td.Gone(t)
	}
}
