package enginetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dbplane/dbplane"
)

// Names returns the names of steps, in order.
func Names(steps []dbplane.PlanStep) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.Name)
	}
	return out
}

// CheckNames checks steps are called want, in order, failing t at once
// when they are not.
func CheckNames(t *testing.T, steps []dbplane.PlanStep, want ...string) {
	t.Helper()
	if diff := cmp.Diff(want, Names(steps)); diff != "" {
		t.Fatalf("steps (-want +got):\n%s", diff)
	}
}

// StepByName returns the step of steps called name, failing t when there
// is none.
func StepByName(t *testing.T, steps []dbplane.PlanStep, name string) dbplane.PlanStep {
	t.Helper()
	for _, s := range steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no step %q in %v", name, Names(steps))
	return dbplane.PlanStep{}
}

// UpstreamNames returns the names of the steps s waits for, sorted,
// failing t when s waits for a key none of steps has.
func UpstreamNames(t *testing.T, steps []dbplane.PlanStep, s dbplane.PlanStep) []string {
	t.Helper()
	var out []string
	for _, k := range s.After {
		i := slices.IndexFunc(steps, func(u dbplane.PlanStep) bool { return u.Key == k })
		if i < 0 {
			t.Fatalf("step %q waits for unknown key %q", s.Name, k)
		}
		out = append(out, steps[i].Name)
	}
	slices.Sort(out)
	return out
}

// Ordinal returns the node step s acts on, failing t unless its parameters
// name one.
func Ordinal(t *testing.T, s dbplane.PlanStep) int {
	t.Helper()
	var p struct{ Ordinal *int }
	if err := json.Unmarshal(s.Params, &p); err != nil || p.Ordinal == nil {
		t.Fatalf("step %q params %s: want {\"ordinal\":N} (%v)", s.Name, s.Params, err)
	}
	return *p.Ordinal
}

// CheckWellFormed checks the keys of steps are unique and every step has
// a timeout, attempts and a description.
func CheckWellFormed(t *testing.T, steps []dbplane.PlanStep) {
	t.Helper()
	keys := map[string]bool{}
	for _, s := range steps {
		if keys[s.Key] {
			t.Errorf("key %q twice", s.Key)
		}
		keys[s.Key] = true
		if s.Timeout <= 0 || s.MaxAttempts <= 0 || s.Description == "" {
			t.Errorf("step %q: timeout %s, attempts %d, description %q", s.Name, s.Timeout, s.MaxAttempts, s.Description)
		}
	}
}

// CheckRegistered checks every handler and undo handler of steps is one
// of registered.
func CheckRegistered(t *testing.T, registered []string, steps []dbplane.PlanStep) {
	t.Helper()
	for _, s := range steps {
		for _, h := range []string{s.Handler, s.Undo} {
			if h != "" && !slices.Contains(registered, h) {
				t.Errorf("step %q uses handler %q, which is not registered", s.Name, h)
			}
		}
	}
}

// Shape is what a test expects of some steps of a plan, by step name.
type Shape struct {
	// Edges are the names of the steps each waits for, sorted.
	Edges map[string][]string
	// Ordinals are the nodes the steps act on.
	Ordinals map[string]int
	// Undo are the steps' undo handlers; "" for none.
	Undo map[string]string
}

// CheckShape checks steps are well formed (CheckWellFormed) and have the
// edges, ordinals and undo handlers of want.
func CheckShape(t *testing.T, steps []dbplane.PlanStep, want Shape) {
	t.Helper()
	CheckWellFormed(t, steps)
	for name, up := range want.Edges {
		if diff := cmp.Diff(up, UpstreamNames(t, steps, StepByName(t, steps, name))); diff != "" {
			t.Errorf("upstreams of %q (-want +got):\n%s", name, diff)
		}
	}
	for name, n := range want.Ordinals {
		if got := Ordinal(t, StepByName(t, steps, name)); got != n {
			t.Errorf("step %q acts on node %d, want %d", name, got, n)
		}
	}
	for name, undo := range want.Undo {
		if got := StepByName(t, steps, name).Undo; got != undo {
			t.Errorf("undo of %q = %q, want %q", name, got, undo)
		}
	}
}

// CheckOnNode checks every step of steps acts on node ordinal.
func CheckOnNode(t *testing.T, steps []dbplane.PlanStep, ordinal int) {
	t.Helper()
	for _, s := range steps {
		if got := Ordinal(t, s); got != ordinal {
			t.Errorf("step %q acts on node %d, want %d", s.Name, got, ordinal)
		}
	}
}

// CheckRemoval checks steps remove nodes 0..n-1 in parallel, as the kit
// plans a deletion: step i is "Stop and remove node i", runs handler on
// node i and waits for nothing.
func CheckRemoval(t *testing.T, steps []dbplane.PlanStep, n int, handler string) {
	t.Helper()
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("Stop and remove node %d", i))
	}
	CheckNames(t, steps, want...)
	for i, s := range steps {
		if len(s.After) != 0 || s.Handler != handler || Ordinal(t, s) != i {
			t.Errorf("step %q: after %v, handler %q, node %d; want parallel %q on node %d", s.Name, s.After, s.Handler, Ordinal(t, s), handler, i)
		}
	}
}

// Ancestors returns the names of the steps of steps that must end before
// the one called name starts, through any path.
func Ancestors(t *testing.T, steps []dbplane.PlanStep, name string) map[string]bool {
	t.Helper()
	byKey := map[string]dbplane.PlanStep{}
	for _, s := range steps {
		byKey[s.Key] = s
	}
	seen := map[string]bool{}
	var walk func(s dbplane.PlanStep)
	walk = func(s dbplane.PlanStep) {
		for _, k := range s.After {
			up, ok := byKey[k]
			if !ok {
				t.Fatalf("step %q waits for unknown key %q", s.Name, k)
			}
			if !seen[up.Name] {
				seen[up.Name] = true
				walk(up)
			}
		}
	}
	walk(StepByName(t, steps, name))
	return seen
}

// InOrder checks each named step runs after the one before it.
func InOrder(t *testing.T, steps []dbplane.PlanStep, names ...string) {
	t.Helper()
	for i := 1; i < len(names); i++ {
		if !Ancestors(t, steps, names[i])[names[i-1]] {
			t.Errorf("%q does not wait for %q in %v", names[i], names[i-1], names)
		}
	}
}

// Parallel checks neither of steps a and b waits for the other.
func Parallel(t *testing.T, steps []dbplane.PlanStep, a, b string) {
	t.Helper()
	if Ancestors(t, steps, a)[b] || Ancestors(t, steps, b)[a] {
		t.Errorf("%q and %q do not run in parallel", a, b)
	}
}

// PowerPlanner plans an engine's stop, start and restart and names the
// handlers it registers, as the engines export them to their tests.
type PowerPlanner interface {
	PlanStop(c *dbplane.Cluster) []dbplane.PlanStep
	PlanStart(c *dbplane.Cluster) []dbplane.PlanStep
	PlanRestart(c *dbplane.Cluster) []dbplane.PlanStep
	HandlerNames() []string
}

// CheckPowerPlans checks every step of e's stop, start and restart of c
// runs a handler e registers and has no undo: those tasks prohibit
// rollback.
func CheckPowerPlans(t *testing.T, e PowerPlanner, c *dbplane.Cluster) {
	t.Helper()
	registered := e.HandlerNames()
	for _, s := range slices.Concat(e.PlanStop(c), e.PlanStart(c), e.PlanRestart(c)) {
		if !slices.Contains(registered, s.Handler) || s.Undo != "" {
			t.Errorf("%s: step %q runs %q (undo %q); want a registered handler and no undo", c.Topology, s.Name, s.Handler, s.Undo)
		}
	}
}
