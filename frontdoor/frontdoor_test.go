package frontdoor_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/frontdoor"
	"github.com/dbplane/dbplane/signature"
)

// authService is a fake dbplane.AuthService: one token, one password, one
// access key.
type authService struct {
	locked error // returned by every call when set
}

var alice = &dbplane.User{ID: 7, Name: "alice"}

const (
	goodToken = "dbp_good"
	goodAK    = "AKIDEXAMPLE"
	goodSK    = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

func (a *authService) IssueToken(ctx context.Context, user, password string) (*dbplane.Token, error) {
	return nil, errors.New("not used")
}

func (a *authService) Authenticate(ctx context.Context, token string) (*dbplane.Principal, error) {
	if a.locked != nil {
		return nil, a.locked
	}
	if token != goodToken {
		return nil, dbplane.Errorf(dbplane.KindUnauthorized, "invalid or expired token")
	}
	return &dbplane.Principal{User: alice, Via: dbplane.ViaToken, TokenID: 3}, nil
}

func (a *authService) AuthenticatePassword(ctx context.Context, user, password string) (*dbplane.Principal, error) {
	if a.locked != nil {
		return nil, a.locked
	}
	if user != "alice" || password != "s3cret:with:colons" {
		return nil, dbplane.Errorf(dbplane.KindUnauthorized, "invalid user or password")
	}
	return &dbplane.Principal{User: alice, Via: dbplane.ViaPassword}, nil
}

func (a *authService) AuthenticateSignature(ctx context.Context, ak string, verify func(string) error) (*dbplane.Principal, error) {
	if a.locked != nil {
		return nil, a.locked
	}
	if ak != goodAK {
		return nil, dbplane.Errorf(dbplane.KindUnauthorized, "signature does not match")
	}
	if err := verify(goodSK); err != nil {
		return nil, err
	}
	return &dbplane.Principal{User: alice, Via: dbplane.ViaAccessKey, AccessKeyID: ak}, nil
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// recorder keeps the audit events it is given.
type recorder struct {
	mu     sync.Mutex
	events []*dbplane.AuditEvent
}

func (r *recorder) Record(ctx context.Context, e *dbplane.AuditEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cp := *e
	r.events = append(r.events, &cp)
}

func (r *recorder) all() []*dbplane.AuditEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*dbplane.AuditEvent(nil), r.events...)
}

// errorJSON is the test front door's error format.
type errorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(dbplane.ErrorKind(err).HTTPStatus())
	json.NewEncoder(w).Encode(errorJSON{Code: dbplane.ErrorKind(err).String(), Message: dbplane.ErrorMessage(err)})
}

var sigv4 = &signature.SigV4{Services: []string{"dbplane"}}

// newDoor returns a door that accepts bearer tokens and SigV4, with a fake
// clock and a recorder.
func newDoor(cfg frontdoor.Config) (*frontdoor.Door, *clock, *recorder) {
	clk := &clock{now: time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC)}
	rec := &recorder{}
	d := &frontdoor.Door{
		Name:       "test",
		Auth:       &authService{},
		Bearer:     true,
		Signatures: []signature.Scheme{sigv4},
		WriteError: writeError,
		Recorder:   rec,
		RequestID:  func(r *http.Request) string { return r.Header.Get("X-Request-Id") },
		Config:     cfg,
		Now:        clk.Now,
	}
	return d, clk, rec
}

// whoHandler answers the principal's name and via.
var whoHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if p := dbplane.PrincipalFrom(r.Context()); p != nil {
		w.Write([]byte(p.Name() + " " + p.Via))
	}
})

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func request(method, auth string) *http.Request {
	r := httptest.NewRequest(method, "http://dbplane.test/v1/things", nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	return r
}

// signed returns a request signed with ak/sk at now.
func signed(t *testing.T, method, body, ak, sk string, now time.Time) *http.Request {
	t.Helper()
	r := httptest.NewRequest(method, "http://dbplane.test/v1/things?b=2&a=1", strings.NewReader(body))
	if err := sigv4.Sign(r, ak, sk, now); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAuthenticate(t *testing.T) {
	d, clk, _ := newDoor(frontdoor.Config{})
	basic := &frontdoor.Door{Auth: &authService{}, Basic: true, WriteError: writeError, Now: clk.Now}
	huawei := &frontdoor.Door{Auth: &authService{}, TokenHeader: "X-Auth-Token", WriteError: writeError, Now: clk.Now}
	h, hb, hh := d.Authenticate(whoHandler), basic.Authenticate(whoHandler), huawei.Authenticate(whoHandler)
	twice := request("GET", "Bearer "+goodToken)
	twice.Header.Add("Authorization", "Bearer "+goodToken)
	xauth := request("GET", "")
	xauth.Header.Set("X-Auth-Token", goodToken)
	xauthBad := request("GET", "")
	xauthBad.Header.Set("X-Auth-Token", "dbp good")
	tooLarge := signed(t, "POST", strings.Repeat("x", 100), goodAK, goodSK, clk.Now())
	tooLarge.Body = http.MaxBytesReader(httptest.NewRecorder(), tooLarge.Body, 10)
	tampered := signed(t, "POST", `{"a":1}`, goodAK, goodSK, clk.Now())
	tampered.Body = http.NoBody // the body no longer matches the signature
	for _, tc := range []struct {
		name      string
		h         http.Handler
		r         *http.Request
		status    int
		body      string // substring
		challenge string
	}{
		{"NoCredentials", h, request("GET", ""), 401, "authentication required", "Bearer"},
		{"Bearer", h, request("GET", "Bearer "+goodToken), 200, "alice token", ""},
		{"BearerLowercase", h, request("GET", "bearer  "+goodToken+" "), 200, "alice token", ""},
		{"BearerWrong", h, request("GET", "Bearer dbp_bad"), 401, "invalid or expired token", `Bearer error="invalid_token"`},
		{"BearerEmpty", h, request("GET", "Bearer "), 401, "malformed", ""},
		{"BearerTwoWords", h, request("GET", "Bearer a b"), 401, "malformed", ""},
		{"BasicRefused", h, request("GET", "Basic YWxpY2U6eA=="), 401, "unsupported Authorization scheme", ""},
		{"Basic", hb, request("GET", "Basic YWxpY2U6czNjcmV0OndpdGg6Y29sb25z"), 200, "alice password", ""},
		{"BasicWrong", hb, request("GET", "Basic YWxpY2U6eA=="), 401, "invalid user or password", `Basic realm="dbplane", charset="UTF-8"`},
		{"BasicMalformed", hb, request("GET", "Basic !!!"), 401, "malformed", ""},
		{"BearerRefusedByBasicDoor", hb, request("GET", "Bearer "+goodToken), 401, "send HTTP Basic", ""},
		{"Signed", h, signed(t, "POST", `{"a":1}`, goodAK, goodSK, clk.Now()), 200, "alice access-key", ""},
		{"SignedWrongSecret", h, signed(t, "GET", "", goodAK, "nope", clk.Now()), 401, "signature does not match", ""},
		{"SignedUnknownKey", h, signed(t, "GET", "", "AKIDUNKNOWN", goodSK, clk.Now()), 401, "signature does not match", ""},
		{"SignedTampered", h, tampered, 401, "", ""},
		{"SignedStale", h, signed(t, "GET", "", goodAK, goodSK, clk.Now().Add(-time.Hour)), 401, "", ""},
		{"SignedTooLarge", h, tooLarge, 413, "exceeds 10 bytes", ""},
		{"TwoAuthorizations", h, twice, 401, "sent more than once", ""},
		{"TokenHeader", hh, xauth, 200, "alice token", ""},
		{"TokenHeaderMalformed", hh, xauthBad, 401, "malformed X-Auth-Token", ""},
		{"TokenHeaderMissing", hh, request("GET", ""), 401, "a token in X-Auth-Token", `Bearer`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := serve(tc.h, tc.r)
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.body) {
				t.Fatalf("answer %d %s, want %d with %q", w.Code, w.Body, tc.status, tc.body)
			}
			if tc.challenge != "" && !strings.Contains(strings.Join(w.Header().Values("WWW-Authenticate"), ","), tc.challenge) {
				t.Errorf("WWW-Authenticate = %q, want %q", w.Header().Values("WWW-Authenticate"), tc.challenge)
			}
		})
	}
}

// TestAuthenticateKeepsBody checks that a signed request's handler can
// still read the body the signature covered.
func TestAuthenticateKeepsBody(t *testing.T) {
	d, clk, _ := newDoor(frontdoor.Config{})
	var got []byte
	h := d.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = make([]byte, 64)
		n, _ := r.Body.Read(got)
		got = got[:n]
	}))
	w := serve(h, signed(t, "POST", `{"name":"orders"}`, goodAK, goodSK, clk.Now()))
	if w.Code != 200 || string(got) != `{"name":"orders"}` {
		t.Fatalf("answer %d %s, handler read %q", w.Code, w.Body, got)
	}
}

// TestFailureLimit checks that a source that failed too often is refused,
// even with good credentials, until its bucket refills.
func TestFailureLimit(t *testing.T) {
	d, clk, _ := newDoor(frontdoor.Config{FailureLimit: frontdoor.Limit{PerSecond: 0.5, Burst: 2}})
	h := d.Authenticate(whoHandler)
	for i := range 2 {
		if w := serve(h, request("GET", "Bearer dbp_guess")); w.Code != 401 {
			t.Fatalf("guess %d: %d %s", i, w.Code, w.Body)
		}
	}
	w := serve(h, request("GET", "Bearer "+goodToken))
	if w.Code != 429 || w.Header().Get("Retry-After") != "2" || !strings.Contains(w.Body.String(), "failed authentications") {
		t.Fatalf("after the burst: %d Retry-After=%q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	// Another address is not affected.
	other := request("GET", "Bearer "+goodToken)
	other.RemoteAddr = "198.51.100.9:1234"
	if w := serve(h, other); w.Code != 200 {
		t.Fatalf("other source: %d %s", w.Code, w.Body)
	}
	// Successes spend nothing.
	clk.Add(2 * time.Second)
	for i := range 5 {
		if w := serve(h, request("GET", "Bearer "+goodToken)); w.Code != 200 {
			t.Fatalf("success %d after the refill: %d %s", i, w.Code, w.Body)
		}
	}
}

// TestLockoutRetryAfter checks that a lockout from the auth service reaches
// the client as a 429 with its retry time.
func TestLockoutRetryAfter(t *testing.T) {
	d, _, _ := newDoor(frontdoor.Config{})
	locked := dbplane.Errorf(dbplane.KindTooManyRequests, "too many failed attempts; try again later")
	locked.RetryAfter = 90*time.Second + time.Millisecond
	d.Auth = &authService{locked: locked}
	w := serve(d.Authenticate(whoHandler), request("GET", "Bearer "+goodToken))
	if w.Code != 429 || w.Header().Get("Retry-After") != "91" {
		t.Fatalf("answer %d Retry-After=%q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
}

func TestLimitSource(t *testing.T) {
	d, clk, _ := newDoor(frontdoor.Config{AuthLimit: frontdoor.Limit{PerSecond: 1, Burst: 2}})
	h := d.LimitSource(whoHandler)
	for i := range 2 {
		if w := serve(h, request("POST", "")); w.Code != 200 {
			t.Fatalf("request %d: %d", i, w.Code)
		}
	}
	w := serve(h, request("POST", ""))
	if w.Code != 429 || w.Header().Get("Retry-After") != "1" || !strings.Contains(w.Body.String(), "retry in 1s") {
		t.Fatalf("third request: %d Retry-After=%q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	clk.Add(time.Second)
	if w := serve(h, request("POST", "")); w.Code != 200 {
		t.Fatalf("after a second: %d", w.Code)
	}
	off, _, _ := newDoor(frontdoor.Config{AuthLimit: frontdoor.Off})
	for i := range 100 {
		if w := serve(off.LimitSource(whoHandler), request("POST", "")); w.Code != 200 {
			t.Fatalf("limit off, request %d: %d", i, w.Code)
		}
	}
}

func TestAccessKeyLimit(t *testing.T) {
	d, clk, _ := newDoor(frontdoor.Config{AccessKeyLimit: frontdoor.Limit{PerSecond: 1, Burst: 1}})
	h := d.Authenticate(whoHandler)
	if w := serve(h, signed(t, "GET", "", goodAK, goodSK, clk.Now())); w.Code != 200 {
		t.Fatalf("first: %d %s", w.Code, w.Body)
	}
	w := serve(h, signed(t, "GET", "", goodAK, goodSK, clk.Now()))
	if w.Code != 429 || w.Header().Get("Retry-After") != "1" || !strings.Contains(w.Body.String(), goodAK) {
		t.Fatalf("second: %d Retry-After=%q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	// Tokens are not limited per key.
	if w := serve(h, request("GET", "Bearer "+goodToken)); w.Code != 200 {
		t.Fatalf("token: %d", w.Code)
	}
}
