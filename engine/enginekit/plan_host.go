package enginekit

import (
	"fmt"

	"github.com/dbplane/dbplane"
)

// HostPlan is how an engine plans the host steps the kit performs.
type HostPlan struct {
	// Engine names the handlers; Product names the packages in
	// descriptions ("PostgreSQL"); User owns the node's directories.
	Engine, Product, User string
	// Key names the steps of node n: Key(n, "precheck") is
	// "pg-precheck-0".
	Key func(n dbplane.Node, name string) string
	// Ports says what the precheck finds free: "port 5432".
	Ports func(n dbplane.Node) string
}

// Prepare returns the steps that prepare the host of node n: precheck,
// install the packages, create the node's directories (undone by
// removing the node) and, with SSL, write its certificate. It also
// returns the key of the last of them, for the node's next step.
func (h HostPlan) Prepare(c *dbplane.Cluster, n dbplane.Node) ([]dbplane.PlanStep, string) {
	on, k := Where(n), func(name string) string { return h.Key(n, name) }
	steps := []dbplane.PlanStep{
		NewStep(k("precheck"), fmt.Sprintf("Precheck host %d", n.Ordinal), Handler(h.Engine, StepPrecheck), n.Ordinal, ShortTimeout,
			fmt.Sprintf("Check the agent of %s answers, has %d GB free and nothing listens on %s", on, c.Spec.VolumeGB, h.Ports(n))),
		NewStep(k("install"), fmt.Sprintf("Install packages on host %d", n.Ordinal), Handler(h.Engine, StepInstall), n.Ordinal, InstallTimeout,
			fmt.Sprintf("Install or verify the %s %s packages on %s", h.Product, c.Version, on), k("precheck")),
		WithUndo(Handler(h.Engine, StepRemove), NewStep(k("prepare"), fmt.Sprintf("Prepare directories on host %d", n.Ordinal),
			Handler(h.Engine, StepPrepare), n.Ordinal, ShortTimeout,
			fmt.Sprintf("Create the data directory %s and its home, owned by %s, on %s", n.DataDir, h.User, on), k("install"))),
	}
	if c.Spec.SSL {
		steps = append(steps, NewStep(k("tls"), fmt.Sprintf("Write TLS certificate %d", n.Ordinal), Handler(h.Engine, StepTLS), n.Ordinal, ShortTimeout,
			fmt.Sprintf("Issue node %d a server certificate from the control plane's CA for its address and write it, its key and the CA certificate to its home on %s", n.Ordinal, on),
			k("prepare")))
	}
	return steps, steps[len(steps)-1].Key
}

// Remove returns the steps that stop every node of nodes and remove its
// data directory and home, in parallel.
func (h HostPlan) Remove(nodes []dbplane.Node) []dbplane.PlanStep {
	var steps []dbplane.PlanStep
	for _, n := range nodes {
		steps = append(steps, NewStep(h.Key(n, "remove"), fmt.Sprintf("Stop and remove node %d", n.Ordinal),
			Handler(h.Engine, StepRemove), n.Ordinal, StartTimeout,
			fmt.Sprintf("Stop node %d and remove %s and its home from %s", n.Ordinal, n.DataDir, Where(n))))
	}
	return steps
}
