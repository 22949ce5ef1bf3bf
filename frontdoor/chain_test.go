package frontdoor_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/frontdoor"
)

// chainServer serves h inside a chain whose error writer answers the
// error's status and kind.
func chainServer(t *testing.T, c *frontdoor.Chain, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	c.WriteError = func(w http.ResponseWriter, _ *http.Request, err error) {
		k := dbplane.ErrorKind(err)
		w.WriteHeader(k.HTTPStatus())
		io.WriteString(w, k.String())
	}
	mux := http.NewServeMux()
	mux.Handle("/", h)
	srv := httptest.NewServer(c.Wrap(mux))
	t.Cleanup(srv.Close)
	return srv
}

func TestChainRequestID(t *testing.T) {
	var seen string
	srv := chainServer(t, &frontdoor.Chain{}, func(w http.ResponseWriter, r *http.Request) {
		seen = frontdoor.RequestIDFrom(r.Context())
	})
	for _, tt := range []struct{ sent, want string }{
		{"trace-42.a:b_c", "trace-42.a:b_c"},
		{"bad id!", ""},
		{"", ""},
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Header.Set(frontdoor.RequestIDHeader, tt.sent)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get(frontdoor.RequestIDHeader)
		if got != seen || got == "" || (tt.want != "" && got != tt.want) || (tt.want == "" && got == tt.sent) {
			t.Errorf("sent %q: header %q, context %q", tt.sent, got, seen)
		}
	}
}

func TestChainRecoversPanics(t *testing.T) {
	srv := chainServer(t, &frontdoor.Chain{}, func(http.ResponseWriter, *http.Request) { panic("bug") })
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || string(body) != "internal" {
		t.Errorf("panic answered %d %q", resp.StatusCode, body)
	}
}

func TestChainLimitsBodies(t *testing.T) {
	read := func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
		}
	}
	for _, check := range []bool{false, true} {
		srv := chainServer(t, &frontdoor.Chain{
			MaxBody:     func(*http.Request) int64 { return 8 },
			CheckLength: check,
		}, read)
		resp, err := srv.Client().Post(srv.URL, "text/plain", strings.NewReader("more than eight bytes"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("CheckLength %v: %d, want 413", check, resp.StatusCode)
		}
	}
}

func TestChainObserves(t *testing.T) {
	var route string
	var status int
	c := &frontdoor.Chain{Observe: func(r string, s int, _ time.Duration) { route, status = r, s }}
	srv := chainServer(t, c, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	resp, err := srv.Client().Get(srv.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if route != "unmatched" || status != http.StatusTeapot {
		t.Errorf("observed %q %d, want the fallback's 418", route, status)
	}
}
