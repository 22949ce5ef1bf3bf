package frontdoor_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane/frontdoor"
)

// from returns r coming from remote ("192.0.2.1:1234", "[2001:db8::1]:443").
func from(r *http.Request, remote string) *http.Request {
	r.RemoteAddr = remote
	return r
}

// TestFailureLimitAnonymous checks that requests without a credential spend
// the source's failure budget, so that a flood of anonymous calls is
// refused with 429 (and audited as such), while the routes that need no
// credential stay open to the source.
func TestFailureLimitAnonymous(t *testing.T) {
	d, clk, rec := newDoor(frontdoor.Config{FailureLimit: frontdoor.Limit{PerSecond: 0.5, Burst: 2}})
	h := d.Audit("cluster.delete", d.Authenticate(whoHandler))
	for i := range 2 {
		if w := serve(h, request("DELETE", "")); w.Code != 401 {
			t.Fatalf("anonymous call %d: %d %s", i, w.Code, w.Body)
		}
	}
	w := serve(h, request("DELETE", ""))
	if w.Code != 429 || w.Header().Get("Retry-After") != "2" || !strings.Contains(w.Body.String(), "failed authentications") {
		t.Fatalf("after the burst: %d Retry-After=%q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	if ev := rec.all(); len(ev) != 3 || ev[2].Status != 429 || ev[2].Result != "too_many_requests" {
		t.Fatalf("audit events %+v, want the third refused with 429", ev)
	}
	// The same source's credentials wait too, like after wrong ones.
	if w := serve(h, request("GET", "Bearer "+goodToken)); w.Code != 429 {
		t.Fatalf("good token from the flooding source: %d %s", w.Code, w.Body)
	}
	// Public routes are not behind Authenticate: untouched.
	public := d.Audit("auth.token", d.LimitSource(whoHandler))
	if w := serve(public, request("POST", "")); w.Code != 200 {
		t.Fatalf("public route from the flooding source: %d %s", w.Code, w.Body)
	}
	if w := serve(whoHandler, request("GET", "")); w.Code != 200 {
		t.Fatalf("probe: %d", w.Code)
	}
	clk.Add(2 * time.Second)
	if w := serve(h, request("GET", "Bearer "+goodToken)); w.Code != 200 {
		t.Fatalf("after the refill: %d %s", w.Code, w.Body)
	}
}

// TestLimitsByIPv6Prefix checks that the per-source limits count an IPv6
// client by its /64, which it can pick addresses from at will, and an
// IPv4-mapped address as its IPv4 address; the audit still names the full
// address.
func TestLimitsByIPv6Prefix(t *testing.T) {
	d, _, rec := newDoor(frontdoor.Config{
		FailureLimit: frontdoor.Limit{PerSecond: 0.5, Burst: 2},
		AuthLimit:    frontdoor.Limit{PerSecond: 0.5, Burst: 2},
	})
	h := d.Audit("cluster.create", d.Authenticate(whoHandler))
	serve(h, from(request("POST", "Bearer dbp_guess"), "[2001:db8:1:2::1]:443"))
	serve(h, from(request("POST", "Bearer dbp_guess"), "[2001:db8:1:2:ffff:ffff:ffff:fffe]:443"))
	if w := serve(h, from(request("POST", "Bearer dbp_guess"), "[2001:db8:1:2:abcd::7]:443")); w.Code != 429 {
		t.Fatalf("third guess from the same /64: %d %s", w.Code, w.Body)
	}
	if w := serve(h, from(request("POST", "Bearer "+goodToken), "[2001:db8:1:3::1]:443")); w.Code != 200 {
		t.Fatalf("next /64: %d %s", w.Code, w.Body)
	}
	if ev := rec.all(); ev[2].Source != "2001:db8:1:2:abcd::7" {
		t.Errorf("audit source %q, want the full address", ev[2].Source)
	}

	serve(h, from(request("POST", "Bearer dbp_guess"), "192.0.2.7:1"))
	serve(h, from(request("POST", "Bearer dbp_guess"), "[::ffff:192.0.2.7]:1"))
	if w := serve(h, from(request("POST", "Bearer "+goodToken), "192.0.2.7:2")); w.Code != 429 {
		t.Fatalf("IPv4 after guesses from its mapped address: %d %s", w.Code, w.Body)
	}
	if w := serve(h, from(request("POST", "Bearer "+goodToken), "192.0.2.8:2")); w.Code != 200 {
		t.Fatalf("IPv4 neighbour: %d %s", w.Code, w.Body)
	}

	login := d.LimitSource(whoHandler)
	serve(login, from(request("POST", ""), "[2001:db8:9:9::1]:443"))
	serve(login, from(request("POST", ""), "[2001:db8:9:9::2]:443"))
	if w := serve(login, from(request("POST", ""), "[2001:db8:9:9::3]:443")); w.Code != 429 {
		t.Fatalf("LimitSource, third address of a /64: %d %s", w.Code, w.Body)
	}
}
