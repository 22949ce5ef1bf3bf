package dbplane

import (
	"maps"
	"slices"
)

// MaxParameters bounds the parameters of a cluster's spec.
const MaxParameters = maxParameters

// ClusterUpdating holds while a password change or a parameter change runs
// (OCP's OPERATING): the cluster serves, but takes no other operation.
const ClusterUpdating ClusterStatus = "updating"

// Task kinds of the changes a running cluster takes in place. Their tasks
// prohibit rollback (every step is idempotent: retry them instead); while
// one runs the cluster is updating, it is running again when it succeeds
// and abnormal when it fails.
const (
	TaskKindClusterPassword   = "cluster.change_password"
	TaskKindClusterParameters = "cluster.update_parameters"
)

// ValidateClusterPassword checks a new admin password with the rules of
// ValidateClusterSpec, naming field in the KindInvalid error it returns.
// The messages never quote the password.
func ValidateClusterPassword(field, password string) error {
	if p := passwordProblems(password); len(p) > 0 {
		var v violations
		v.addAll(field, p)
		return Invalid(v...)
	}
	return nil
}

// ValidateParameterChange checks the parameters of a change with the rules
// of ValidateClusterSpec (names of a-z, 0-9, '_' and '.'; values of at
// most 1024 characters; at most 256 of them). An empty value removes a
// parameter, giving it back its default. A change of nothing is invalid.
func ValidateParameterChange(params map[string]string) error {
	var v violations
	if len(params) == 0 {
		v.add("parameters", "name at least one parameter")
	}
	validateParameters(&v, params)
	if len(v) > 0 {
		return Invalid(v...)
	}
	return nil
}

// MergeParameters returns the parameters of a spec after a change: the
// change's values replace the spec's, and an empty value removes one.
func MergeParameters(spec, change map[string]string) map[string]string {
	out := maps.Clone(spec)
	if out == nil {
		out = map[string]string{}
	}
	for _, k := range slices.Sorted(maps.Keys(change)) {
		if change[k] == "" {
			delete(out, k)
		} else {
			out[k] = change[k]
		}
	}
	return out
}
