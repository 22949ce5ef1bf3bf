package frontdoor_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/frontdoor"
)

func TestFail(t *testing.T) {
	secret := errors.New("dial tcp 10.0.0.9:5432: password=hunter2")
	invalid := dbplane.E("service.CreateCluster",
		dbplane.Invalid(dbplane.FieldError{Field: "spec.replicas", Message: "must be at least 0"}))
	tests := []struct {
		name       string
		err        error
		status     int
		kind       dbplane.Kind
		fields     int
		logged     string // the level the error is logged at
		retryAfter string
	}{
		{"invalid", invalid, http.StatusBadRequest, dbplane.KindInvalid, 1, "DEBUG", ""},
		{"internal", dbplane.E("sqlstore.Insert", secret), http.StatusInternalServerError, dbplane.KindInternal, 0, "ERROR", ""},
		{"unavailable", &dbplane.Error{Kind: dbplane.KindUnavailable, Message: "draining", RetryAfter: 3 * time.Second},
			http.StatusServiceUnavailable, dbplane.KindUnavailable, 0, "WARN", "3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			w := httptest.NewRecorder()
			f := frontdoor.Fail(w, httptest.NewRequest("POST", "/", nil), logger, tc.err)
			if f.Status != tc.status || f.Kind != tc.kind || len(f.Fields) != tc.fields {
				t.Errorf("Fail = %+v, want status %d kind %v and %d fields", f, tc.status, tc.kind, tc.fields)
			}
			if strings.Contains(f.Message, "hunter2") {
				t.Errorf("message %q tells the internal cause", f.Message)
			}
			if !strings.Contains(logs.String(), "level="+tc.logged) {
				t.Errorf("log %q, want level %s", logs.String(), tc.logged)
			}
			if got := w.Header().Get(frontdoor.RetryAfterHeader); got != tc.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tc.retryAfter)
			}
		})
	}
}

func TestFailCanceledByClient(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil)) // info and above
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest("GET", "/", nil).WithContext(ctx)
	frontdoor.Fail(httptest.NewRecorder(), r, logger, dbplane.E("service.Watch", ctx.Err()))
	if logs.Len() != 0 {
		t.Errorf("a request the client canceled is logged above debug: %q", logs.String())
	}
}
