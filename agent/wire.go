package agent

import (
	"net/http"

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

// kindStatus maps error kinds to HTTP statuses; the client maps statuses
// back only for answers without an error body.
var kindStatus = map[dbplane.Kind]int{
	dbplane.KindInvalid:      http.StatusBadRequest,
	dbplane.KindNotFound:     http.StatusNotFound,
	dbplane.KindConflict:     http.StatusConflict,
	dbplane.KindUnauthorized: http.StatusUnauthorized,
	dbplane.KindForbidden:    http.StatusForbidden,
	dbplane.KindTooLarge:     http.StatusRequestEntityTooLarge,
	dbplane.KindUnplaceable:  http.StatusUnprocessableEntity,
	dbplane.KindUnavailable:  http.StatusServiceUnavailable,
	dbplane.KindUnsupported:  http.StatusUnsupportedMediaType,
	dbplane.KindInternal:     http.StatusInternalServerError,
}

func statusOf(k dbplane.Kind) int {
	if st, ok := kindStatus[k]; ok {
		return st
	}
	return http.StatusInternalServerError
}

func kindOf(status int) dbplane.Kind {
	for k, st := range kindStatus {
		if st == status {
			return k
		}
	}
	if status >= 500 {
		return dbplane.KindUnavailable
	}
	return dbplane.KindInternal
}
