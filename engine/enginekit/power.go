package enginekit

import (
	"context"
	"fmt"
	"time"

	"github.com/dbplane/dbplane"
)

// LogTailLines is how many lines of a node's log LogTail copies.
const LogTailLines = 30

// Size returns the resources of the step's node: the memory placement
// promised it (its flavor's, for a node placed before nodes recorded it)
// and the CPUs of the cluster's flavor.
func Size(s *Step) (dbplane.Resources, error) {
	f, ok := s.Deps.Catalogue().Flavor(s.Cluster.Spec.Flavor)
	if !ok {
		return dbplane.Resources{}, dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid, "the catalog has no flavor %q", s.Cluster.Spec.Flavor))
	}
	r := dbplane.Resources{CPUMillis: f.VCPUs * 1000, MemoryMB: int64(f.MemoryGB) * 1024}
	if s.Node.MemoryMB > 0 {
		r.MemoryMB = s.Node.MemoryMB
	}
	return r, nil
}

// Start has the agent of the step's node supervise inst, the node, and
// waits until ready passes. When the node does not get ready, the end of
// its log goes to the step's log, to say why. It returns the agent, for
// the engine's own report.
func Start(ctx context.Context, s *Step, inst dbplane.Instance, ready func(context.Context, dbplane.HostAgent) error) (dbplane.HostAgent, error) {
	n := s.Node
	a, err := s.Agent(ctx, n)
	if err != nil {
		return nil, err
	}
	if err := a.StartInstance(ctx, inst); err != nil {
		return nil, fmt.Errorf("while starting node %d on host %d: %w", n.Ordinal, n.HostID, err)
	}
	if err := ready(ctx, a); err != nil {
		LogTail(ctx, s, a, inst)
		return nil, err
	}
	return a, nil
}

// LogTail copies the end of the log of inst (a node's server log) to the
// step's log, read as the instance's user from its directory. It says why
// a node did not start, so it runs even when ctx has ended, and says
// nothing when the log cannot be read.
func LogTail(ctx context.Context, s *Step, a dbplane.HostAgent, inst dbplane.Instance) {
	cmd := dbplane.Command{User: inst.User, Argv: []string{"tail", "-n", fmt.Sprint(LogTailLines), inst.Log}, Dir: inst.Dir, Timeout: 10 * time.Second}
	res, err := a.Run(context.WithoutCancel(ctx), cmd)
	if err != nil || res.ExitCode != 0 {
		return
	}
	s.Logf("end of %s:\n%s", inst.Log, Tail(res.Stdout, 4000))
}

// LastKey returns the key of the last of steps, for the next step to wait
// for; none when there are no steps.
func LastKey(steps []dbplane.PlanStep) []string {
	if len(steps) == 0 {
		return nil
	}
	return []string{steps[len(steps)-1].Key}
}

// Replicas returns the nodes that are not primaries (isPrimary), in the
// order given.
func Replicas(nodes []dbplane.Node, isPrimary func(dbplane.Node) bool) []dbplane.Node {
	var replicas []dbplane.Node
	for _, n := range nodes {
		if !isPrimary(n) {
			replicas = append(replicas, n)
		}
	}
	return replicas
}

// PrimariesLast returns nodes with the primaries after the other nodes,
// each in the order given.
func PrimariesLast(nodes []dbplane.Node, isPrimary func(dbplane.Node) bool) []dbplane.Node {
	order := Replicas(nodes, isPrimary)
	for _, n := range nodes {
		if isPrimary(n) {
			order = append(order, n)
		}
	}
	return order
}

// StopSteps returns the steps that stop nodes: the others, in parallel or
// (serial) one at a time, then the primaries, so that no replica is left
// following a primary that is gone. stop plans the stop of a node after
// the steps named.
func StopSteps(nodes []dbplane.Node, isPrimary func(dbplane.Node) bool, serial bool, stop func(n dbplane.Node, after ...string) dbplane.PlanStep) []dbplane.PlanStep {
	var steps []dbplane.PlanStep
	var before []string
	for _, n := range nodes {
		if isPrimary(n) {
			continue
		}
		var after []string
		if serial {
			after = LastKey(steps)
		}
		s := stop(n, after...)
		steps = append(steps, s)
		before = append(before, s.Key)
	}
	if serial {
		before = LastKey(steps)
	}
	for _, n := range nodes {
		if isPrimary(n) {
			steps = append(steps, stop(n, before...))
		}
	}
	return steps
}

// StartSteps returns the steps that start nodes: the primaries, in
// parallel, then each other node once its primary (primaryOf names its
// ordinal) has started. then, when not nil, plans what follows the start
// of such a node (checking it follows its primary), after the step named.
func StartSteps(nodes []dbplane.Node, isPrimary func(dbplane.Node) bool, primaryOf func(dbplane.Node) int,
	start func(n dbplane.Node, after ...string) dbplane.PlanStep, then func(n dbplane.Node, after string) []dbplane.PlanStep) []dbplane.PlanStep {
	var steps []dbplane.PlanStep
	started := map[int]string{}
	for _, n := range nodes {
		if isPrimary(n) {
			s := start(n)
			steps = append(steps, s)
			started[n.Ordinal] = s.Key
		}
	}
	for _, n := range nodes {
		if isPrimary(n) {
			continue
		}
		s := start(n, started[primaryOf(n)])
		steps = append(steps, s)
		if then != nil {
			steps = append(steps, then(n, s.Key)...)
		}
	}
	return steps
}

// OneAtATime returns the steps restart plans for each node of order, in
// turn: the first step of a node waits for the last of the node before it
// (none for the first node), so that one node is down at a time.
func OneAtATime(order []dbplane.Node, restart func(n dbplane.Node, after []string) []dbplane.PlanStep) []dbplane.PlanStep {
	var steps []dbplane.PlanStep
	var last []string
	for _, n := range order {
		s := restart(n, last)
		steps = append(steps, s...)
		if len(s) > 0 {
			last = LastKey(s)
		}
	}
	return steps
}

// VerifyAgain returns, for each of replicas, the check verify plans after
// the steps named, its name followed by " after the primary": once a
// primary has restarted, each replica is checked to follow it again.
func VerifyAgain(replicas []dbplane.Node, verify func(n dbplane.Node, after ...string) dbplane.PlanStep, after ...string) []dbplane.PlanStep {
	var steps []dbplane.PlanStep
	for _, n := range replicas {
		s := verify(n, after...)
		s.Name += " after the primary"
		steps = append(steps, s)
	}
	return steps
}
