package enginekit

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dbplane/dbplane"
)

// Names lists the names of a parameter change, sorted: "a, b".
func Names(change map[string]string) string {
	return strings.Join(slices.Sorted(maps.Keys(change)), ", ")
}

// SetThenVerify returns the steps of a password change that one node
// sets and the others receive (by replication): set, then verify of each
// node but the one set acts on, after set.
func SetThenVerify(set dbplane.PlanStep, nodes []dbplane.Node, setOn dbplane.Node, verify func(n dbplane.Node, after string) dbplane.PlanStep) []dbplane.PlanStep {
	steps := []dbplane.PlanStep{set}
	for _, n := range nodes {
		if n.Ordinal != setOn.Ordinal {
			steps = append(steps, verify(n, set.Key))
		}
	}
	return steps
}

// ApplyInTurn returns the steps that apply a recorded parameter change on
// each node of order, one node at a time: configure rewrites the node's
// configuration from the spec after the steps named, then apply (which
// gets the change as its parameters) takes it into the running node. The
// next node's turn waits for the last node's apply.
func ApplyInTurn(order []dbplane.Node, change map[string]string,
	configure, apply func(n dbplane.Node, after ...string) dbplane.PlanStep) []dbplane.PlanStep {
	return OneAtATime(order, func(n dbplane.Node, after []string) []dbplane.PlanStep {
		conf := configure(n, after...)
		return []dbplane.PlanStep{conf, WithParameters(change, apply(n, conf.Key))}
	})
}

// CheckEach checks each parameter of a change, by name, on a running node
// before the spec records it. check returns why the engine refuses a
// parameter (its name or value), "" when it takes it, or an error when it
// could not tell. Every refusal fails the step for good, each naming its
// parameter as the API does; nothing was recorded or written.
func CheckEach(change map[string]string, check func(name, value string) (refusal string, err error)) error {
	var fields []dbplane.FieldError
	for _, k := range slices.Sorted(maps.Keys(change)) {
		refusal, err := check(k, change[k])
		if err != nil {
			return err
		}
		if refusal != "" {
			fields = append(fields, dbplane.FieldError{Field: "parameters[" + k + "]", Message: refusal})
		}
	}
	if len(fields) > 0 {
		return dbplane.Permanent(dbplane.Invalid(fields...))
	}
	return nil
}

// Refuses words a refusal CheckEach reports when the engine (product,
// "PostgreSQL") refused a value with err.
func Refuses(product string, err error) string {
	return fmt.Sprintf("%s refuses the value: %v", product, err)
}

// Screen checks the parameters of a spec against what dbplane refuses
// before any engine sees them: refuse returns why a parameter may not be
// set ("is set by dbplane"), or "". Every refusal fails for good, each
// naming its parameter as the API does.
func Screen(params map[string]string, refuse func(name, value string) string) error {
	return CheckEach(params, func(k, v string) (string, error) { return refuse(k, v), nil })
}

// HasControl reports whether a value holds a control character, which
// would add a line to a configuration file.
func HasControl(v string) bool {
	return strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f })
}
