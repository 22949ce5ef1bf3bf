package sqlstore_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/pki"
	"github.com/dbplane/dbplane/sqlstore"
	"github.com/google/go-cmp/cmp"
)

// mustJoinToken stores a join token expiring at expires.
func mustJoinToken(t *testing.T, db *sqlstore.DB, secretHash string, expires time.Time) *dbplane.JoinToken {
	t.Helper()
	tok := &dbplane.JoinToken{Creator: "admin", ExpiresAt: expires}
	if err := db.CreateJoinToken(context.Background(), tok, secretHash); err != nil {
		t.Fatal(err)
	}
	return tok
}

func joinHost(name, address string) *dbplane.Host {
	return &dbplane.Host{Name: name, Address: address, AgentPort: 7070, DataRoot: "/var/lib/dbplane", Region: "r1",
		Zone: "z1", Rack: "k1", OS: "linux", Arch: "amd64", CPUs: 4, MemoryMB: 8192, DiskGB: 100}
}

func TestJoinHost(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		db.Now = func() time.Time { return testNow }
		now := testNow.Truncate(time.Microsecond)
		expires := now.Add(time.Hour)
		tok := mustJoinToken(t, db, "hash-1", expires)
		if tok.ID == 0 || !tok.CreatedAt.Equal(now) || !tok.ExpiresAt.Equal(expires) {
			t.Fatalf("token = %+v: ID and CreatedAt not set", tok)
		}

		h := joinHost("db1", "127.0.0.11")
		if err := db.JoinHost(ctx, "hash-1", testNow, h); err != nil {
			t.Fatal(err)
		}
		want := joinHost("db1", "127.0.0.11")
		want.ID, want.Status, want.CreatedAt, want.UpdatedAt = h.ID, dbplane.HostNew, now, now
		if diff := cmp.Diff(want, h); diff != "" {
			t.Fatalf("joined host (-want +got):\n%s", diff)
		}
		if got, err := db.FindHostByID(ctx, h.ID); err != nil {
			t.Fatal(err)
		} else if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("stored host (-want +got):\n%s", diff)
		}
		if id := mustQueryInt(t, db, `SELECT host_id FROM join_tokens WHERE id = ?`, tok.ID); id != h.ID {
			t.Fatalf("token records host %d, want %d", id, h.ID)
		}

		t.Run("Reused", func(t *testing.T) {
			err := db.JoinHost(ctx, "hash-1", testNow, joinHost("db2", "127.0.0.12"))
			assertError(t, err, dbplane.KindUnauthorized, "join token already used: create a new one")
			assertHostCount(t, db, 1)
		})
		t.Run("Expired", func(t *testing.T) {
			mustJoinToken(t, db, "hash-2", expires)
			err := db.JoinHost(ctx, "hash-2", expires, joinHost("db2", "127.0.0.12"))
			assertError(t, err, dbplane.KindUnauthorized, "join token expired: create a new one")
			assertHostCount(t, db, 1)
			// The refused join did not spend the token.
			if err := db.JoinHost(ctx, "hash-2", expires.Add(-time.Microsecond), joinHost("db2", "127.0.0.12")); err != nil {
				t.Fatalf("before expiry: %v", err)
			}
			assertHostCount(t, db, 2)
		})
		t.Run("Unknown", func(t *testing.T) {
			err := db.JoinHost(ctx, "hash-unknown", testNow, joinHost("db3", "127.0.0.13"))
			assertError(t, err, dbplane.KindUnauthorized, "unknown join token")
		})
		t.Run("RejoinSameAddress", func(t *testing.T) {
			if _, err := db.SetHostDrained(ctx, h.ID, true); err != nil {
				t.Fatal(err)
			}
			if err := db.SetHostOnline(ctx, h.ID, dbplane.HostFacts{OS: "linux", Arch: "amd64"}, testNow); err != nil {
				t.Fatal(err)
			}
			later := testNow.Add(time.Minute)
			db.Now = func() time.Time { return later }
			defer func() { db.Now = func() time.Time { return testNow } }()
			mustJoinToken(t, db, "hash-3", later.Add(time.Hour))
			again := joinHost("db1-renamed", "127.0.0.11")
			again.AgentPort, again.CPUs = 7071, 8
			if err := db.JoinHost(ctx, "hash-3", later, again); err != nil {
				t.Fatal(err)
			}
			if again.ID != h.ID {
				t.Fatalf("re-join got id %d, want the host's %d", again.ID, h.ID)
			}
			if again.Name != "db1-renamed" || again.AgentPort != 7071 || again.CPUs != 8 || again.Status != dbplane.HostNew {
				t.Fatalf("re-joined host = %+v: not updated", again)
			}
			if !again.Drained || !again.CreatedAt.Equal(now) || !again.UpdatedAt.Equal(later.Truncate(time.Microsecond)) {
				t.Fatalf("re-joined host = %+v: want drained kept, created_at kept, updated_at moved", again)
			}
			assertHostCount(t, db, 2)
		})
	})
}

// TestJoinHost_Concurrent joins with one token from several goroutines:
// exactly one registers its host.
func TestJoinHost_Concurrent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		mustJoinToken(t, db, "hash-1", time.Now().Add(time.Hour))
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				h := joinHost("racer", fmt.Sprintf("127.0.1.%d", i+1))
				errs[i] = db.JoinHost(ctx, "hash-1", time.Now(), h)
			})
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case dbplane.ErrorKind(err) != dbplane.KindUnauthorized:
				t.Errorf("join %d: %v, want unauthorized", i, err)
			}
		}
		if won != 1 {
			t.Fatalf("%d joins won, want 1", won)
		}
		assertHostCount(t, db, 1)
	})
}

func assertHostCount(t *testing.T, db *sqlstore.DB, want int64) {
	t.Helper()
	if n := mustQueryInt(t, db, `SELECT COUNT(*) FROM hosts`); n != want {
		t.Fatalf("%d hosts, want %d", n, want)
	}
}

func TestCA(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		_, err := db.LoadCA(ctx)
		assertError(t, err, dbplane.KindNotFound, "no CA is stored")

		st := &pki.StoredCA{CertPEM: "cert", KeyCiphertext: []byte{0, 1, 2, 255}, KeyID: "k1", CreatedAt: fromUnix(5000)}
		if err := db.CreateCA(ctx, st); err != nil {
			t.Fatal(err)
		}
		got, err := db.LoadCA(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(st, got); diff != "" {
			t.Fatalf("loaded CA (-stored +loaded):\n%s", diff)
		}
		err = db.CreateCA(ctx, &pki.StoredCA{CertPEM: "other", KeyCiphertext: []byte{9}, KeyID: "k2"})
		assertError(t, err, dbplane.KindConflict, "a CA is stored already")
		if got, _ := db.LoadCA(ctx); got == nil || !bytes.Equal(got.KeyCiphertext, st.KeyCiphertext) {
			t.Fatal("a second CreateCA replaced the CA")
		}
	})
}

// TestLoadOrCreateCA runs pki.LoadOrCreate on the store: the second start
// loads the CA the first created.
func TestLoadOrCreateCA(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		kr, err := pki.NewKeyring(bytes.Repeat([]byte{3}, 32))
		if err != nil {
			t.Fatal(err)
		}
		first, err := pki.LoadOrCreate(ctx, db, kr)
		if err != nil {
			t.Fatal(err)
		}
		second, err := pki.LoadOrCreate(ctx, db, kr)
		if err != nil {
			t.Fatal(err)
		}
		if !second.Cert.Equal(first.Cert) {
			t.Fatal("the second start made another CA")
		}
	})
}
