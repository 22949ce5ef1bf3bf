package frontdoor_test

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/frontdoor"
)

// errorHandler answers err the way a front door's handlers do: through
// Annotate, then the error writer.
func errorHandler(err error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dbplane.AuditTarget(r.Context(), "cluster/12", 4)
		frontdoor.Annotate(w, r, err)
		writeError(w, r, err)
	})
}

func TestAudit(t *testing.T) {
	d, clk, rec := newDoor(frontdoor.Config{})
	created := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dbplane.AuditTarget(r.Context(), "cluster/12", 4)
		w.WriteHeader(http.StatusAccepted)
	})
	quota := dbplane.Errorf(dbplane.KindQuotaExceeded, "quota exceeded")
	for _, tc := range []struct {
		name string
		h    http.Handler
		r    *http.Request
		want dbplane.AuditEvent // Time, FrontDoor, Source and RequestID are checked apart
	}{
		{"Success", d.Audit("cluster.create", d.Authenticate(created)), request("POST", "Bearer "+goodToken),
			dbplane.AuditEvent{User: "alice", UserID: 7, Via: "token", ProjectID: 4, Action: "cluster.create",
				Target: "cluster/12", Result: "success", Status: 202}},
		{"NoCredentials", d.Audit("cluster.delete", d.Authenticate(created)), request("DELETE", ""),
			dbplane.AuditEvent{Action: "cluster.delete", Result: "unauthorized", Status: 401}},
		{"BadToken", d.Audit("cluster.delete", d.Authenticate(created)), request("PUT", "Bearer dbp_x"),
			dbplane.AuditEvent{Action: "cluster.delete", Result: "unauthorized", Status: 401}},
		// 422 answers two kinds: the result must be the error's own code.
		{"ServiceError", d.Audit("cluster.create", d.Authenticate(errorHandler(quota))), request("PATCH", "Bearer "+goodToken),
			dbplane.AuditEvent{User: "alice", UserID: 7, Via: "token", ProjectID: 4, Action: "cluster.create",
				Target: "cluster/12", Result: "quota_exceeded", Status: 422}},
		{"Unannotated", d.Audit("x.y", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusConflict)
		})), request("POST", ""), dbplane.AuditEvent{Action: "x.y", Result: "conflict", Status: 409}},
		{"Silent", d.Audit("x.y", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})),
			request("DELETE", ""), dbplane.AuditEvent{Action: "x.y", Result: "success", Status: 200}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(rec.all())
			tc.r.Header.Set("X-Request-Id", "req-"+tc.name)
			w := serve(tc.h, tc.r)
			events := rec.all()[before:]
			if len(events) != 1 {
				t.Fatalf("%d events recorded, want 1", len(events))
			}
			got := *events[0]
			if got.Status != w.Code {
				t.Errorf("status %d recorded, %d answered", got.Status, w.Code)
			}
			if !got.Time.Equal(clk.Now()) || got.FrontDoor != "test" || got.Source != "192.0.2.1" || got.RequestID != "req-"+tc.name {
				t.Errorf("time %v, front door %q, source %q, request id %q", got.Time, got.FrontDoor, got.Source, got.RequestID)
			}
			got.Time, got.FrontDoor, got.Source, got.RequestID = time.Time{}, "", "", ""
			if got != tc.want {
				t.Errorf("recorded\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

// TestAuditSkipsReads checks that reads are not audited.
func TestAuditSkipsReads(t *testing.T) {
	d, _, rec := newDoor(frontdoor.Config{})
	h := d.Audit("cluster.list", d.Authenticate(whoHandler))
	for _, m := range []string{"GET", "HEAD", "OPTIONS"} {
		serve(h, request(m, "Bearer "+goodToken))
		serve(h, request(m, ""))
	}
	if n := len(rec.all()); n != 0 {
		t.Fatalf("%d events recorded for reads", n)
	}
}

// TestAuditPanic checks that a call whose handler panics is recorded as a
// 500 and the panic goes on to the front door's recovery.
func TestAuditPanic(t *testing.T) {
	d, _, rec := newDoor(frontdoor.Config{})
	h := d.Audit("cluster.create", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Errorf("recovered %v, want boom", v)
			}
		}()
		serve(h, request("POST", ""))
	}()
	ev := rec.all()
	if len(ev) != 1 || ev[0].Status != 500 || ev[0].Result != "internal" {
		t.Fatalf("events %+v", ev)
	}
}

// TestAuditLockout checks that a lockout is recorded as such and answered
// with Retry-After.
func TestAuditLockout(t *testing.T) {
	d, _, rec := newDoor(frontdoor.Config{})
	locked := dbplane.Errorf(dbplane.KindTooManyRequests, "locked")
	locked.RetryAfter = time.Minute
	d.Auth = &authService{locked: locked}
	w := serve(d.Audit("cluster.create", d.Authenticate(whoHandler)), request("POST", "Bearer "+goodToken))
	ev := rec.all()
	if w.Code != 429 || w.Header().Get("Retry-After") != "60" || len(ev) != 1 || ev[0].Result != "too_many_requests" {
		t.Fatalf("answer %d Retry-After=%q, events %+v", w.Code, w.Header().Get("Retry-After"), ev)
	}
}

func TestClientAddr(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:1::/48")}
	for _, tc := range []struct {
		name    string
		proxies []netip.Prefix
		remote  string
		xff     []string
		want    string
	}{
		{"NoProxies", nil, "192.0.2.1:4711", []string{"203.0.113.9"}, "192.0.2.1"},
		{"IPv6Peer", nil, "[2001:db8::1]:4711", nil, "2001:db8::1"},
		{"NoPort", nil, "@", nil, "@"},
		{"UntrustedPeer", proxies, "192.0.2.1:4711", []string{"203.0.113.9"}, "192.0.2.1"},
		{"TrustedPeer", proxies, "10.1.2.3:4711", []string{"203.0.113.9"}, "203.0.113.9"},
		{"TrustedChain", proxies, "10.1.2.3:4711", []string{"198.51.100.1, 203.0.113.9, 10.9.9.9"}, "203.0.113.9"},
		{"SpoofedLeft", proxies, "10.1.2.3:4711", []string{"1.2.3.4", "203.0.113.9"}, "203.0.113.9"},
		{"OnlyProxies", proxies, "10.1.2.3:4711", []string{"10.4.4.4"}, "10.4.4.4"},
		{"NoHeader", proxies, "10.1.2.3:4711", nil, "10.1.2.3"},
		{"Malformed", proxies, "10.1.2.3:4711", []string{"203.0.113.9, garbage"}, "10.1.2.3"},
		{"MappedIPv4", proxies, "10.1.2.3:4711", []string{"::ffff:203.0.113.9"}, "203.0.113.9"},
		{"IPv6Proxy", proxies, "[2001:db8:1::5]:443", []string{"2001:db8:2::7"}, "2001:db8:2::7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &frontdoor.Door{Config: frontdoor.Config{TrustedProxies: tc.proxies}}
			r := request("GET", "")
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := d.ClientAddr(r); got != tc.want {
				t.Errorf("ClientAddr = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAnnotate(t *testing.T) {
	w := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e := dbplane.Errorf(dbplane.KindUnavailable, "the store is down")
		e.RetryAfter = 1500 * time.Millisecond
		frontdoor.Annotate(w, r, dbplane.E("op", e))
	}), request("GET", ""))
	if got := w.Header().Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After = %q, want 2", got)
	}
	w = serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		frontdoor.Annotate(w, r, errors.New("plain"))
		frontdoor.Annotate(w, r, nil)
	}), request("GET", ""))
	if got := w.Header().Get("Retry-After"); got != "" {
		t.Errorf("Retry-After = %q for an error without a retry time", got)
	}
}

func TestMutating(t *testing.T) {
	var got []string
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"} {
		if frontdoor.Mutating(m) {
			got = append(got, m)
		}
	}
	if strings.Join(got, ",") != "POST,PUT,PATCH,DELETE" {
		t.Errorf("mutating methods: %v", got)
	}
}
