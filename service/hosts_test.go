package service_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/pki"
	"github.com/dbplane/dbplane/service"
	"github.com/dbplane/dbplane/sqlstore"
)

// hostsFixture is a Hosts service on a SQLite store, with a clock the test
// moves.
type hostsFixture struct {
	svc *service.Hosts
	db  *sqlstore.DB
	ca  *pki.CA
	now time.Time
	mu  sync.Mutex
}

func newHostsFixture(t *testing.T) *hostsFixture {
	t.Helper()
	db := mustOpenStore(t)
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	f := &hostsFixture{db: db, ca: ca, now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	f.svc = &service.Hosts{Store: db, CA: ca, Now: f.clock}
	return f
}

func (f *hostsFixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *hostsFixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func (f *hostsFixture) mustToken(t *testing.T) string {
	t.Helper()
	tok, err := f.svc.CreateJoinToken(service.SystemContext(context.Background()), 0)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Secret
}

// joinRequest is the request of an agent on hostname at address, with a
// new key and CSR.
func joinRequest(t *testing.T, token, hostname, address string) dbplane.JoinRequest {
	t.Helper()
	_, csr, err := pki.NewKeyAndCSR(pki.AgentCN(hostname), nil)
	if err != nil {
		t.Fatal(err)
	}
	return dbplane.JoinRequest{Token: token, CSR: string(csr), AgentPort: 7070, Facts: dbplane.HostFacts{
		Hostname: hostname, Address: address, OS: "linux", Arch: "amd64", CPUs: 4, MemoryMB: 8192, DiskGB: 50,
		Zone: "z1", DataRoot: "/srv/dbplane",
	}}
}

func assertKind(t *testing.T, err error, kind dbplane.Kind, msg string) {
	t.Helper()
	if dbplane.ErrorKind(err) != kind || !strings.Contains(dbplane.ErrorMessage(err), msg) {
		t.Fatalf("err = %v, want %v containing %q", err, kind, msg)
	}
}

func TestHosts_CreateJoinToken(t *testing.T) {
	f := newHostsFixture(t)
	ctx := as(userWith("alice", bind(dbplane.GlobalScope, dbplane.RoleAdmin)))
	tok, err := f.svc.CreateJoinToken(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.Secret, "dbpj_") || len(tok.Secret) < 40 {
		t.Errorf("secret %q: want dbpj_ and 32 random bytes", tok.Secret)
	}
	if want := f.now.Add(time.Hour); !tok.ExpiresAt.Equal(want) || tok.Creator != "alice" || tok.ID == 0 {
		t.Errorf("token = %+v, want expiry %v, creator alice, an id", tok, want)
	}
	if n := countRows(t, f.db, `SELECT COUNT(*) FROM join_tokens WHERE secret_hash = '`+tok.Secret+`'`); n != 0 {
		t.Error("the secret is stored in clear")
	}
	for _, ttl := range []time.Duration{-time.Second, time.Millisecond, 7*24*time.Hour + time.Second} {
		_, err := f.svc.CreateJoinToken(ctx, ttl)
		assertKind(t, err, dbplane.KindInvalid, "invalid ttl")
	}
	if tok, err := f.svc.CreateJoinToken(ctx, 7*24*time.Hour); err != nil || !tok.ExpiresAt.Equal(f.now.Add(7*24*time.Hour)) {
		t.Errorf("the longest ttl: %+v, %v", tok, err)
	}
}

func countRows(t *testing.T, db *sqlstore.DB, query string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestHosts_Join(t *testing.T) {
	f := newHostsFixture(t)
	ctx := context.Background() // agents join with their token alone
	admin := service.SystemContext(ctx)
	req := joinRequest(t, f.mustToken(t), "db1", "127.0.0.11")
	resp, err := f.svc.Join(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pki.ParseCertPEM([]byte(resp.Certificate))
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := pki.ParseCertPEM([]byte(resp.CA))
	if err != nil || !caCert.Equal(f.ca.Cert) {
		t.Fatalf("the answer's CA is not the control plane's: %v", err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: f.ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Fatalf("the agent certificate does not verify: %v", err)
	}
	if err := cert.VerifyHostname("127.0.0.11"); err != nil {
		t.Fatalf("the agent certificate is not for its address: %v", err)
	}
	h, err := f.svc.FindHostByID(admin, resp.HostID)
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "db1" || h.Address != "127.0.0.11" || h.AgentPort != 7070 || h.Status != dbplane.HostNew ||
		h.Zone != "z1" || h.DataRoot != "/srv/dbplane" || h.CPUs != 4 {
		t.Fatalf("registered host = %+v", h)
	}

	t.Run("Reused", func(t *testing.T) {
		_, err := f.svc.Join(ctx, joinRequest(t, req.Token, "db2", "127.0.0.12"))
		assertKind(t, err, dbplane.KindUnauthorized, "join token already used")
	})
	t.Run("Unknown", func(t *testing.T) {
		_, err := f.svc.Join(ctx, joinRequest(t, "dbpj_nope", "db2", "127.0.0.12"))
		assertKind(t, err, dbplane.KindUnauthorized, "unknown join token")
		_, err = f.svc.Join(ctx, joinRequest(t, "dbp_a-bearer-token", "db2", "127.0.0.12"))
		assertKind(t, err, dbplane.KindUnauthorized, "unknown join token")
	})
	t.Run("Expired", func(t *testing.T) {
		tok := f.mustToken(t)
		f.advance(time.Hour)
		_, err := f.svc.Join(ctx, joinRequest(t, tok, "db2", "127.0.0.12"))
		assertKind(t, err, dbplane.KindUnauthorized, "join token expired")
	})
	t.Run("InvalidKeepsToken", func(t *testing.T) {
		tok := f.mustToken(t)
		for _, tt := range []struct {
			name, field string
			edit        func(*dbplane.JoinRequest)
		}{
			{"NoCSR", "csr", func(r *dbplane.JoinRequest) { r.CSR = "" }},
			{"GarbageCSR", "csr", func(r *dbplane.JoinRequest) { r.CSR = "garbage" }},
			{"CSROfAnotherHost", "csr", func(r *dbplane.JoinRequest) { r.CSR = joinRequest(t, tok, "other", "").CSR }},
			{"ControlPlaneCSR", "csr", func(r *dbplane.JoinRequest) {
				_, csr, _ := pki.NewKeyAndCSR(pki.ControlPlaneCN, nil)
				r.CSR = string(csr)
			}},
			{"HostnameAddress", "facts.address", func(r *dbplane.JoinRequest) { r.Facts.Address = "db3.example" }},
			{"NoHostname", "facts.hostname", func(r *dbplane.JoinRequest) { r.Facts.Hostname = "" }},
			{"Port", "agent_port", func(r *dbplane.JoinRequest) { r.AgentPort = 70000 }},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := joinRequest(t, tok, "db3", "127.0.0.13")
				tt.edit(&r)
				_, err := f.svc.Join(ctx, r)
				if dbplane.ErrorKind(err) != dbplane.KindInvalid {
					t.Fatalf("err = %v, want invalid", err)
				}
				fields := dbplane.ErrorFields(err)
				if len(fields) == 0 || fields[0].Field != tt.field {
					t.Fatalf("fields = %v, want %s first", fields, tt.field)
				}
			})
		}
		if _, err := f.svc.Join(ctx, joinRequest(t, tok, "db3", "127.0.0.13")); err != nil {
			t.Fatalf("the token was spent by refused requests: %v", err)
		}
	})
}

func TestHosts_JoinConcurrent(t *testing.T) {
	f := newHostsFixture(t)
	tok := f.mustToken(t)
	const n = 6
	reqs := make([]dbplane.JoinRequest, n)
	for i := range reqs {
		reqs[i] = joinRequest(t, tok, fmt.Sprintf("db%d", i), fmt.Sprintf("127.0.0.%d", 20+i))
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range reqs {
		wg.Go(func() { _, errs[i] = f.svc.Join(context.Background(), reqs[i]) })
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
	if _, total, _ := f.svc.FindHosts(service.SystemContext(context.Background()), dbplane.HostFilter{}); total != 1 {
		t.Fatalf("%d hosts, want 1", total)
	}
}

func TestHosts_DeleteAndDrain(t *testing.T) {
	f := newHostsFixture(t)
	ctx := service.SystemContext(context.Background())
	busy, err := f.svc.Join(ctx, joinRequest(t, f.mustToken(t), "busy", "127.0.0.11"))
	if err != nil {
		t.Fatal(err)
	}
	idle, err := f.svc.Join(ctx, joinRequest(t, f.mustToken(t), "idle", "127.0.0.12"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO clusters (name, engine, version, topology, status, spec, created_at, updated_at)
			VALUES ('c1', 'postgresql', '15', 'standalone', 'running', '{}', 1, 1)`,
		fmt.Sprintf(`INSERT INTO nodes (cluster_id, host_id, role, port, status, created_at)
			VALUES ((SELECT id FROM clusters WHERE name = 'c1'), %d, 'primary', 5432, 'running', 1)`, busy.HostID),
	} {
		if _, err := f.db.SQL().Exec(q); err != nil {
			t.Fatal(err)
		}
	}

	assertKind(t, f.svc.DeleteHost(ctx, busy.HostID), dbplane.KindConflict, "carries 1 node(s)")
	if err := f.svc.DeleteHost(ctx, idle.HostID); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.FindHostByID(ctx, idle.HostID)
	assertKind(t, err, dbplane.KindNotFound, "not found")

	h, err := f.svc.DrainHost(ctx, busy.HostID, true)
	if err != nil || !h.Drained {
		t.Fatalf("drain: %+v, %v", h, err)
	}
	if h, err = f.svc.DrainHost(ctx, busy.HostID, false); err != nil || h.Drained {
		t.Fatalf("undrain: %+v, %v", h, err)
	}
	_, err = f.svc.DrainHost(ctx, idle.HostID, true)
	assertKind(t, err, dbplane.KindNotFound, "not found")
}
