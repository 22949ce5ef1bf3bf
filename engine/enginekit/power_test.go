package enginekit_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
)

func TestSize(t *testing.T) {
	s, _ := stepOnHost(enginetest.NewAgent(1))
	r, err := enginekit.Size(s)
	if err != nil || r != (dbplane.Resources{CPUMillis: 2000, MemoryMB: 4096}) {
		t.Errorf("Size = %+v, %v; want the flavor's 2 CPUs and 4 GB", r, err)
	}
	s.Node.MemoryMB = 3000
	if r, _ := enginekit.Size(s); r.MemoryMB != 3000 {
		t.Errorf("memory = %d, want what placement promised the node", r.MemoryMB)
	}
	s.Cluster.Spec.Flavor = "nope"
	if _, err := enginekit.Size(s); !dbplane.IsPermanent(err) {
		t.Errorf("err = %v, want a permanent error for an unknown flavor", err)
	}
}

// instance is a node's process spec for the tests of Start.
var instance = dbplane.Instance{ID: "pg-7-0", User: "postgres", Argv: []string{"postgres"}, Dir: "/home/pg", Log: "/home/pg/server.log"}

func TestStartWaitsForTheNode(t *testing.T) {
	a := enginetest.NewAgent(1)
	s, _ := stepOnHost(a)
	var asked dbplane.HostAgent
	got, err := enginekit.Start(context.Background(), s, instance, func(_ context.Context, ra dbplane.HostAgent) error {
		asked = ra
		return nil
	})
	if err != nil || got != dbplane.HostAgent(a) || asked != dbplane.HostAgent(a) {
		t.Fatalf("Start = %v, %v; want the host's agent", got, err)
	}
	if !a.Running["pg-7-0"] {
		t.Error("the instance does not run")
	}
}

func TestStartLogsTheEndOfTheLogOfANodeThatIsNotReady(t *testing.T) {
	a := enginetest.NewAgent(1)
	a.Exec = func(cmd dbplane.Command, res *dbplane.CommandResult) {
		if cmd.Argv[0] == "tail" && cmd.User == "postgres" && cmd.Dir == "/home/pg" && cmd.Argv[len(cmd.Argv)-1] == "/home/pg/server.log" {
			res.Stdout = "FATAL: bad setting\n"
		}
	}
	s, log := stepOnHost(a)
	notReady := errors.New("no answer")
	_, err := enginekit.Start(context.Background(), s, instance, func(context.Context, dbplane.HostAgent) error { return notReady })
	if !errors.Is(err, notReady) {
		t.Fatalf("err = %v, want the readiness check's", err)
	}
	if !logHas(log, "end of /home/pg/server.log:\nFATAL: bad setting") {
		t.Errorf("log %q lacks the end of the server log", log.All())
	}
}

func TestStartCarriesTheAgentsError(t *testing.T) {
	a := enginetest.NewAgent(1)
	refused := dbplane.Errorf(dbplane.KindConflict, "supervised with another spec")
	a.OnStart = func(dbplane.Instance) error { return refused }
	s, _ := stepOnHost(a)
	_, err := enginekit.Start(context.Background(), s, instance, func(context.Context, dbplane.HostAgent) error {
		t.Error("a node that did not start was waited for")
		return nil
	})
	if !errors.Is(err, refused) || !strings.Contains(err.Error(), "while starting node 0 on host 1") {
		t.Errorf("err = %v", err)
	}
}

// Plans below are over nodes 0 (the primary), 1 and 2.
var (
	powerNodes = []dbplane.Node{{Ordinal: 0}, {Ordinal: 1}, {Ordinal: 2}}
	isFirst    = func(n dbplane.Node) bool { return n.Ordinal == 0 }
)

// planned returns a step planner keyed "<what>-<ordinal>".
func planned(what string) func(n dbplane.Node, after ...string) dbplane.PlanStep {
	return func(n dbplane.Node, after ...string) dbplane.PlanStep {
		return enginekit.NewStep(fmt.Sprintf("%s-%d", what, n.Ordinal), what, "h."+what, n.Ordinal, 0, "", after...)
	}
}

// shape renders steps as "key<after,after>" for comparison.
func shape(steps []dbplane.PlanStep) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.Key+"<"+strings.Join(s.After, ",")+">")
	}
	return out
}

func checkShape(t *testing.T, what string, steps []dbplane.PlanStep, want ...string) {
	t.Helper()
	if got := shape(steps); !slices.Equal(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func TestStopSteps(t *testing.T) {
	checkShape(t, "in parallel", enginekit.StopSteps(powerNodes, isFirst, false, planned("stop")),
		"stop-1<>", "stop-2<>", "stop-0<stop-1,stop-2>")
	checkShape(t, "one at a time", enginekit.StopSteps(powerNodes, isFirst, true, planned("stop")),
		"stop-1<>", "stop-2<stop-1>", "stop-0<stop-2>")
	checkShape(t, "alone", enginekit.StopSteps(powerNodes[:1], isFirst, true, planned("stop")), "stop-0<>")
}

func TestStartSteps(t *testing.T) {
	isEven := func(n dbplane.Node) bool { return n.Ordinal%2 == 0 }
	nodes := append(slices.Clone(powerNodes), dbplane.Node{Ordinal: 3})
	shardOf := func(n dbplane.Node) int { return n.Ordinal / 2 * 2 }
	checkShape(t, "shards", enginekit.StartSteps(nodes, isEven, shardOf, planned("start"), nil),
		"start-0<>", "start-2<>", "start-1<start-0>", "start-3<start-2>")
	verify := func(n dbplane.Node, after string) []dbplane.PlanStep {
		return []dbplane.PlanStep{planned("verify")(n, after)}
	}
	checkShape(t, "verified", enginekit.StartSteps(powerNodes, isFirst, func(dbplane.Node) int { return 0 }, planned("start"), verify),
		"start-0<>", "start-1<start-0>", "verify-1<start-1>", "start-2<start-0>", "verify-2<start-2>")
}

func TestRollingRestart(t *testing.T) {
	order := enginekit.PrimariesLast(powerNodes, isFirst)
	if got := []int{order[0].Ordinal, order[1].Ordinal, order[2].Ordinal}; !slices.Equal(got, []int{1, 2, 0}) {
		t.Fatalf("order %v, want the primary last", got)
	}
	steps := enginekit.OneAtATime(order, func(n dbplane.Node, after []string) []dbplane.PlanStep {
		stop := planned("stop")(n, after...)
		return []dbplane.PlanStep{stop, planned("start")(n, stop.Key)}
	})
	steps = append(steps, enginekit.VerifyAgain(enginekit.Replicas(powerNodes, isFirst), planned("verify"), enginekit.LastKey(steps)...)...)
	checkShape(t, "restart", steps,
		"stop-1<>", "start-1<stop-1>", "stop-2<start-1>", "start-2<stop-2>", "stop-0<start-2>", "start-0<stop-0>",
		"verify-1<start-0>", "verify-2<start-0>")
	if got := steps[len(steps)-1].Name; got != "verify after the primary" {
		t.Errorf("name %q, want the check's with \" after the primary\"", got)
	}
	if enginekit.LastKey(nil) != nil {
		t.Error("LastKey of no steps is not empty")
	}
}
