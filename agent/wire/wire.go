// Package wire holds what both ends of the agent's API agree on: its
// paths, request bodies and error shape. The host side (package agent) and
// the control-plane side (package agentclient) both import it, so neither
// imports the other.
package wire

import (
	"github.com/dbplane/dbplane"
)

// The API's paths: one POST route per dbplane.HostAgent method, and a
// health check, all under Prefix.
const (
	Prefix             = "/agent/v1/"
	PathHealth         = Prefix + "health"
	PathFacts          = Prefix + "facts"
	PathEnsurePackages = Prefix + "ensure-packages"
	PathEnsureUser     = Prefix + "ensure-user"
	PathEnsureDir      = Prefix + "ensure-dir"
	PathWriteFile      = Prefix + "write-file"
	PathRun            = Prefix + "run"
	PathStartInstance  = Prefix + "start-instance"
	PathStopInstance   = Prefix + "stop-instance"
	PathInstanceStatus = Prefix + "instance-status"
	PathRemoveInstance = Prefix + "remove-instance"
)

// Request bodies of the operations whose arguments are not one domain
// value.
type (
	// EnsurePackagesRequest is the body of ensure-packages.
	EnsurePackagesRequest struct {
		Packages []string `json:"packages"`
		// Files are uploaded package files to fetch from the control
		// plane and install after Packages.
		Files []dbplane.PackageFile `json:"files,omitempty"`
	}
	// EnsureUserRequest is the body of ensure-user.
	EnsureUserRequest struct {
		Name string `json:"name"`
	}
	// EnsureDirRequest is the body of ensure-dir.
	EnsureDirRequest struct {
		Path  string `json:"path"`
		Owner string `json:"owner"`
		Mode  uint32 `json:"mode"`
	}
	// InstanceRequest names the instance of stop-instance and
	// instance-status.
	InstanceRequest struct {
		ID string `json:"id"`
	}
	// RemoveInstanceRequest is the body of remove-instance.
	RemoveInstanceRequest struct {
		ID    string   `json:"id"`
		Paths []string `json:"paths"`
	}
	// HealthResponse is the answer of health.
	HealthResponse struct {
		Status string `json:"status"`
	}
)

// ErrorBody is the API's one error shape.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail carries a *dbplane.Error across the wire: its kind as a
// code, its client-safe message, its field errors, and whether a retry may
// help, so the task engine retries exactly what the agent says may succeed
// later.
type ErrorDetail struct {
	Code      string               `json:"code"`
	Message   string               `json:"message"`
	Permanent bool                 `json:"permanent"`
	Details   []dbplane.FieldError `json:"details,omitempty"`
}

// PackagesPath is the control plane's route that serves uploaded package
// files to agents, by SHA-256: /v1/agents/packages/{sha256}. It is the one
// route the other way round: the host side fetches from it and the control
// plane serves it, so it is wire too.
const PackagesPath = "/v1/agents/packages/"
