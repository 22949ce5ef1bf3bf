package frontdoor_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/frontdoor"
)

// TestRoutes holds the two promises of a route table: a route needs
// credentials unless it is public, and every route's mutating calls are
// audited, refused or not.
func TestRoutes(t *testing.T) {
	d, _, rec := newDoor(frontdoor.Config{FailureLimit: frontdoor.Off})
	rt := frontdoor.NewRoutes(d)
	rt.Handle("POST /private", "private.do", whoHandler)
	rt.HandlePublic("POST /public", "public.do", whoHandler)
	for _, tt := range []struct {
		path   string
		status int
		result string
	}{
		{"/private", http.StatusUnauthorized, dbplane.KindUnauthorized.String()},
		{"/public", http.StatusOK, dbplane.AuditResultSuccess},
	} {
		w := httptest.NewRecorder()
		rt.Mux().ServeHTTP(w, httptest.NewRequest(http.MethodPost, tt.path, nil))
		if w.Code != tt.status {
			t.Errorf("%s: %d, want %d", tt.path, w.Code, tt.status)
		}
		if n := len(rec.events); n == 0 || rec.events[n-1].Result != tt.result {
			t.Errorf("%s: audit %+v, want result %q", tt.path, rec.events, tt.result)
		}
	}
	want := []frontdoor.Route{
		{Pattern: "POST /private", Action: "private.do"},
		{Pattern: "POST /public", Action: "public.do", Public: true},
	}
	got := rt.List()
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("List() = %+v, want %+v", got, want)
	}
}

// TestBuild checks a built door: its routes inside the chain, which gives
// each request an id that the audit records, and the fallback for what no
// route matches, which is no route.
func TestBuild(t *testing.T) {
	d, _, rec := newDoor(frontdoor.Config{FailureLimit: frontdoor.Off})
	d.RequestID = nil // the chain's
	chain := &frontdoor.Chain{WriteError: func(w http.ResponseWriter, r *http.Request, err error) { w.WriteHeader(500) }}
	rt, h := frontdoor.Build(d, chain, func(rt *frontdoor.Routes) {
		rt.HandlePublic("POST /public", "public.do", whoHandler)
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/public", nil))
	id := w.Header().Get(frontdoor.RequestIDHeader)
	if w.Code != http.StatusOK || id == "" {
		t.Fatalf("POST /public: %d with request id %q, want 200 with an id", w.Code, id)
	}
	if n := len(rec.events); n != 1 || rec.events[0].RequestID != id {
		t.Errorf("audit %+v, want one event with request id %q", rec.events, id)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/nowhere", nil))
	if w.Code != http.StatusTeapot {
		t.Errorf("GET /nowhere: %d, want the fallback's %d", w.Code, http.StatusTeapot)
	}
	if got := rt.List(); len(got) != 1 {
		t.Errorf("List() = %+v, want only the route", got)
	}
}

func TestOnceBuildsOnce(t *testing.T) {
	var o frontdoor.Once
	builds := 0
	build := func() http.Handler { builds++; return http.NotFoundHandler() }
	first := o.Handler(build)
	if o.Handler(build) == nil || first == nil || builds != 1 {
		t.Errorf("built %d times, want once and the same handler after", builds)
	}
}
