package signature_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/signature"
)

// The key pair the tests sign with, and the clock they sign at.
const (
	testAK = "AKIDEXAMPLE0001"
	testSK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

var signTime = time.Date(2026, 8, 14, 12, 30, 45, 0, time.UTC)

// secrets knows testAK only.
func secrets(_ context.Context, ak string) (string, error) {
	if ak == testAK {
		return testSK, nil
	}
	return "", dbplane.Errorf(dbplane.KindNotFound, "no access key %q", ak)
}

// verifyResult is what the test server's handler saw: who Verify said
// signed the request or why it refused it, and the body the handler could
// still read after Verify.
type verifyResult struct {
	AccessKeyID string `json:"access_key_id"`
	Scheme      string `json:"scheme"`
	Kind        string `json:"kind"`
	Message     string `json:"message"`
	Body        string `json:"body"`
}

// ok reports whether the request verified.
func (r verifyResult) ok() bool { return r.Kind == "" }

// verifyServer is an in-process server whose handler runs a Verifier.
type verifyServer struct {
	*httptest.Server
}

// mustServe starts a server that verifies every request with v and answers
// a verifyResult.
func mustServe(tb testing.TB, v *signature.Verifier) *verifyServer {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		id, err := v.Verify(r)
		body, _ := io.ReadAll(r.Body)
		res := verifyResult{AccessKeyID: id.AccessKeyID, Scheme: id.Scheme, Body: string(body)}
		if err != nil {
			res.Kind = dbplane.ErrorKind(err).String()
			res.Message = dbplane.ErrorMessage(err)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(res)
	}))
	tb.Cleanup(srv.Close)
	return &verifyServer{Server: srv}
}

// do sends req and returns what the handler saw.
func (s *verifyServer) do(tb testing.TB, req *http.Request) verifyResult {
	tb.Helper()
	resp, err := s.Client().Do(req)
	if err != nil {
		tb.Fatalf("send %s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	var res verifyResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		tb.Fatalf("decode answer: %v", err)
	}
	return res
}

// fixedClock returns a clock stopped at t.
func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// mustVerifier returns a Verifier of the given schemes with the test
// secrets and a clock stopped at signTime.
func mustVerifier(schemes ...signature.Scheme) *signature.Verifier {
	return &signature.Verifier{Schemes: schemes, Secrets: secrets, Now: fixedClock(signTime)}
}

// wantRefused fails the test unless res is a 401 refusal.
func wantRefused(tb testing.TB, what string, res verifyResult) {
	tb.Helper()
	if res.ok() {
		tb.Errorf("%s: verified as %s, want refused", what, res.AccessKeyID)
	} else if res.Kind != "unauthorized" {
		tb.Errorf("%s: kind %s (%s), want unauthorized", what, res.Kind, res.Message)
	}
}

// wantVerified fails the test unless res verified as testAK and the
// handler could still read body.
func wantVerified(tb testing.TB, what string, res verifyResult, body string) {
	tb.Helper()
	if !res.ok() {
		tb.Fatalf("%s: refused: %s: %s", what, res.Kind, res.Message)
	}
	if res.AccessKeyID != testAK {
		tb.Errorf("%s: access key %q, want %q", what, res.AccessKeyID, testAK)
	}
	if res.Body != body {
		tb.Errorf("%s: handler read body %q after Verify, want %q", what, res.Body, body)
	}
}
