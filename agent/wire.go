package agent

import (
	"github.com/dbplane/dbplane"
)

// The API's paths: one POST route per dbplane.HostAgent method, and a
// health check.
const (
	apiPrefix          = "/agent/v1/"
	pathHealth         = apiPrefix + "health"
	pathFacts          = apiPrefix + "facts"
	pathEnsurePackages = apiPrefix + "ensure-packages"
	pathEnsureUser     = apiPrefix + "ensure-user"
	pathEnsureDir      = apiPrefix + "ensure-dir"
	pathWriteFile      = apiPrefix + "write-file"
	pathRun            = apiPrefix + "run"
	pathStartInstance  = apiPrefix + "start-instance"
	pathStopInstance   = apiPrefix + "stop-instance"
	pathInstanceStatus = apiPrefix + "instance-status"
	pathRemoveInstance = apiPrefix + "remove-instance"
)

// Request bodies of the operations whose arguments are not one domain
// value.
type (
	ensurePackagesRequest struct {
		Packages []string `json:"packages"`
		// Files are uploaded package files to fetch from the control
		// plane and install after Packages.
		Files []dbplane.PackageFile `json:"files,omitempty"`
	}
	ensureUserRequest struct {
		Name string `json:"name"`
	}
	ensureDirRequest struct {
		Path  string `json:"path"`
		Owner string `json:"owner"`
		Mode  uint32 `json:"mode"`
	}
	instanceRequest struct {
		ID string `json:"id"`
	}
	removeInstanceRequest struct {
		ID    string   `json:"id"`
		Paths []string `json:"paths"`
	}
	healthResponse struct {
		Status string `json:"status"`
	}
)

// errorBody is the API's one error shape.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string               `json:"code"`
	Message   string               `json:"message"`
	Permanent bool                 `json:"permanent"`
	Details   []dbplane.FieldError `json:"details,omitempty"`
}
