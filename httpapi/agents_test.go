package httpapi_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/httpapi"
	"github.com/dbplane/dbplane/pki"
	"github.com/dbplane/dbplane/service"
	"github.com/dbplane/dbplane/sqlstore"
)

// joinEnv is the API on the real host service and a SQLite store, with a
// clock the test moves.
type joinEnv struct {
	*env
	ca   *pki.CA
	anon *httpapi.Client // sends no bearer token
	mu   sync.Mutex
	now  time.Time
}

func newJoinEnv(t *testing.T) *joinEnv {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "dbplane.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	j := &joinEnv{ca: ca, now: t0}
	hosts := &service.Hosts{Store: db, CA: ca, Now: j.clock}
	j.env = newEnv(t, func(s *httpapi.Server) { s.Hosts = hosts })
	j.anon = httpapi.NewClient(j.ts.URL)
	return j
}

func (j *joinEnv) clock() time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.now
}

func (j *joinEnv) advance(d time.Duration) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.now = j.now.Add(d)
}

func (j *joinEnv) mustToken(t *testing.T, ttl time.Duration) string {
	t.Helper()
	tok, err := j.client.CreateJoinToken(t.Context(), ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Secret
}

// agentJoinRequest is what an agent at address sends: a new key's CSR and
// its facts.
func agentJoinRequest(t *testing.T, token, hostname, address string) dbplane.JoinRequest {
	t.Helper()
	_, csr, err := pki.NewKeyAndCSR(pki.AgentCN(hostname), nil)
	if err != nil {
		t.Fatal(err)
	}
	return dbplane.JoinRequest{Token: token, CSR: string(csr), AgentPort: 7070,
		Facts: dbplane.HostFacts{Hostname: hostname, Address: address, OS: "linux", Arch: "amd64", CPUs: 2}}
}

// mustUnauthorized checks a refused join: 401 with the message given.
func mustUnauthorized(t *testing.T, err error, msg string) {
	t.Helper()
	de := mustKind(t, err, dbplane.KindUnauthorized)
	if !strings.Contains(de.Message, msg) {
		t.Fatalf("message %q, want %q", de.Message, msg)
	}
}

func TestJoin(t *testing.T) {
	j := newJoinEnv(t)
	tok := j.mustToken(t, 0)
	resp, err := j.anon.Join(t.Context(), agentJoinRequest(t, tok, "db1", "127.0.0.11"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pki.ParseCertPEM([]byte(resp.Certificate))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: j.ca.Pool(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("the agent certificate does not verify: %v", err)
	}
	h, err := j.client.FindHostByID(t.Context(), resp.HostID)
	if err != nil {
		t.Fatal(err)
	}
	if h.Address != "127.0.0.11" || h.Status != dbplane.HostNew || h.AgentPort != 7070 {
		t.Fatalf("host %+v", h)
	}

	t.Run("WrongToken", func(t *testing.T) {
		_, err := j.anon.Join(t.Context(), agentJoinRequest(t, tok+"x", "db2", "127.0.0.12"))
		mustUnauthorized(t, err, "unknown join token")
		_, err = j.anon.Join(t.Context(), agentJoinRequest(t, testToken, "db2", "127.0.0.12"))
		mustUnauthorized(t, err, "unknown join token")
	})
	t.Run("ReusedToken", func(t *testing.T) {
		_, err := j.anon.Join(t.Context(), agentJoinRequest(t, tok, "db2", "127.0.0.12"))
		mustUnauthorized(t, err, "join token already used")
	})
	t.Run("ExpiredToken", func(t *testing.T) {
		tok := j.mustToken(t, time.Minute)
		j.advance(time.Minute)
		_, err := j.anon.Join(t.Context(), agentJoinRequest(t, tok, "db2", "127.0.0.12"))
		mustUnauthorized(t, err, "join token expired")
	})
	t.Run("Status", func(t *testing.T) {
		body, err := json.Marshal(agentJoinRequest(t, "dbpj_nope", "db2", "127.0.0.12"))
		if err != nil {
			t.Fatal(err)
		}
		r, data := j.request(t, "POST", "/v1/agents/join", string(body), "Authorization", "")
		if ae := mustErrorBody(t, r, data, http.StatusUnauthorized); ae.Error.Code != "unauthorized" {
			t.Fatalf("code %q", ae.Error.Code)
		}
	})
	if _, total, err := j.client.FindHosts(t.Context(), dbplane.HostFilter{}); err != nil || total != 1 {
		t.Fatalf("%d hosts (%v), want only the one that joined", total, err)
	}
}

// TestJoin_Concurrent sends several joins with one token at once: exactly
// one gets a certificate.
func TestJoin_Concurrent(t *testing.T) {
	j := newJoinEnv(t)
	tok := j.mustToken(t, 0)
	const n = 8
	reqs := make([]dbplane.JoinRequest, n)
	for i := range reqs {
		reqs[i] = agentJoinRequest(t, tok, fmt.Sprintf("db%d", i), fmt.Sprintf("127.0.0.%d", 11+i))
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range reqs {
		wg.Go(func() { _, errs[i] = j.anon.Join(context.Background(), reqs[i]) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else if dbplane.ErrorKind(err) != dbplane.KindUnauthorized {
			t.Errorf("a losing join: %v, want unauthorized", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d joins won, want exactly 1", won)
	}
}
