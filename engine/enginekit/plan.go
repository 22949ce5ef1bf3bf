package enginekit

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/dbplane/dbplane"
)

// Timeouts of the steps every engine plans.
const (
	// InstallTimeout bounds installing a node's packages.
	InstallTimeout = 10 * time.Minute
	// ShortTimeout bounds a step of seconds: a file, a command, a query.
	ShortTimeout = time.Minute
	// StartTimeout bounds starting a node or waiting until a change has
	// reached it.
	StartTimeout = 2 * time.Minute
)

// StepAttempts is how many attempts every step gets. Every step talks to
// agents, so each gets enough attempts (with the task engine's backoff,
// about two minutes) to ride out an agent restart.
const StepAttempts = 8

// RolePrimary is the role placement gives a cluster's primary.
const RolePrimary = "primary"

// NewStep returns a plan step acting on node ordinal.
func NewStep(key, name, handler string, ordinal int, timeout time.Duration, desc string, after ...string) dbplane.PlanStep {
	return dbplane.PlanStep{
		Key: key, Name: name, Description: desc, Handler: handler, Params: StepParams(ordinal),
		Timeout: timeout, MaxAttempts: StepAttempts, After: after,
	}
}

// WithUndo gives a step the handler that undoes it on rollback.
func WithUndo(h string, s dbplane.PlanStep) dbplane.PlanStep {
	s.Undo = h
	return s
}

// WithParameters adds a parameter change to a step's parameters.
func WithParameters(change map[string]string, s dbplane.PlanStep) dbplane.PlanStep {
	var p Params
	_ = json.Unmarshal(s.Params, &p) // NewStep's own encoding
	p.Parameters = change
	s.Params, _ = json.Marshal(p) // cannot fail: strings
	return s
}

// SortedNodes returns the nodes of c ordered by ordinal.
func SortedNodes(c *dbplane.Cluster) []dbplane.Node {
	nodes := slices.Clone(c.Nodes)
	slices.SortFunc(nodes, func(a, b dbplane.Node) int { return a.Ordinal - b.Ordinal })
	return nodes
}

// PlanNodes returns the cluster's nodes by ordinal or, before placement (a
// dry run), count unplaced nodes.
func PlanNodes(c *dbplane.Cluster, count int) []dbplane.Node {
	if len(c.Nodes) > 0 {
		return SortedNodes(c)
	}
	nodes := make([]dbplane.Node, count)
	for i := range nodes {
		nodes[i].Ordinal = i
	}
	return nodes
}

// Where names the host of a node for step descriptions.
func Where(n dbplane.Node) string {
	if n.HostID == 0 {
		return fmt.Sprintf("the host of node %d", n.Ordinal)
	}
	return fmt.Sprintf("host %d (%s)", n.HostID, n.Address)
}

// PrimaryOf returns the primary of c: the node placement marked primary,
// or the node of the lowest ordinal. It returns a zero node for a cluster
// without nodes.
func PrimaryOf(c *dbplane.Cluster) dbplane.Node {
	var first dbplane.Node
	for i, n := range c.Nodes {
		if n.Role == RolePrimary {
			return n
		}
		if i == 0 || n.Ordinal < first.Ordinal {
			first = n
		}
	}
	return first
}
