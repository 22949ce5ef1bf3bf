package sqlstore_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/internal/testdb"
	"github.com/dbplane/dbplane/sqlstore"
)

// forEachDialect runs fn as the subtests "sqlite" and, when
// DBPLANE_TEST_POSTGRES_URL is set, "postgres", each on a fresh store that
// is closed (and on PostgreSQL dropped) when the subtest ends.
func forEachDialect(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	t.Helper()
	testdb.ForEach(t, func(t *testing.T, dsn string) {
		fn(t, MustOpen(t, dsn))
	})
}

// forEachDialectDSN is forEachDialect for tests that open the store
// themselves, for instance to reopen it.
func forEachDialectDSN(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	testdb.ForEach(t, fn)
}

// MustOpenDB opens a store on a new SQLite file in a temporary directory.
func MustOpenDB(tb testing.TB) *sqlstore.DB {
	tb.Helper()
	return MustOpen(tb, testdb.SQLiteDSN(tb))
}

// MustOpen opens the store at dsn, with the tests' secret key, and closes
// it when the test ends.
func MustOpen(tb testing.TB, dsn string) *sqlstore.DB {
	tb.Helper()
	db, err := sqlstore.Open(context.Background(), dsn, sqlstore.WithSecretBox(testdb.SecretBox()))
	if err != nil {
		tb.Fatalf("Open(%q): %v", dsn, err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

// mustExec runs a statement written with `?` placeholders on the store's
// raw pool, for fixtures the store's API cannot create (hosts, nodes,
// revoked tokens).
func mustExec(tb testing.TB, db *sqlstore.DB, query string, args ...any) {
	tb.Helper()
	if _, err := db.SQL().Exec(rebind(db, query), args...); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
}

// mustQueryInt runs a query returning one integer on the raw pool.
func mustQueryInt(tb testing.TB, db *sqlstore.DB, query string, args ...any) int64 {
	tb.Helper()
	var n int64
	if err := db.SQL().QueryRow(rebind(db, query), args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	return n
}

func rebind(db *sqlstore.DB, query string) string {
	if db.Dialect() != "postgres" {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// TestOpen checks that Open migrates an empty database to the newest
// migration and that opening it again applies nothing and keeps the data.
func TestOpen(t *testing.T) {
	forEachDialectDSN(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db, err := sqlstore.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		want := newestMigration(t, db.Dialect())
		if got := mustQueryInt(t, db, `SELECT MAX(version_id) FROM goose_db_version`); got != want {
			t.Fatalf("version=%d, want %d", got, want)
		}
		applied := mustQueryInt(t, db, `SELECT COUNT(*) FROM goose_db_version`)
		if err := db.CreateUser(ctx, &dbplane.User{Name: "kept"}, "pw"); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}

		db = MustOpen(t, dsn)
		if got := mustQueryInt(t, db, `SELECT COUNT(*) FROM goose_db_version`); got != applied {
			t.Fatalf("%d migration records after reopening, want %d", got, applied)
		}
		if _, _, err := db.FindUserByName(ctx, "kept"); err != nil {
			t.Fatalf("after reopening: %v", err)
		}
	})
}

// TestOpen_Concurrent opens one empty database from several goroutines:
// the migration lock lets one migrate and the others find it done.
func TestOpen_Concurrent(t *testing.T) {
	forEachDialectDSN(t, func(t *testing.T, dsn string) {
		// Two are enough to contend for the lock; each waiter on PostgreSQL
		// polls the lock every few seconds.
		const n = 2
		var wg sync.WaitGroup
		dbs, errs := make([]*sqlstore.DB, n), make([]error, n)
		for i := range n {
			wg.Go(func() { dbs[i], errs[i] = sqlstore.Open(context.Background(), dsn) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Open %d: %v", i, err)
				continue
			}
			t.Cleanup(func() { dbs[i].Close() })
		}
		if t.Failed() {
			return
		}
		// Helpers number migrations ahead of merges, so versions may have
		// gaps: count them instead. goose records version 0 too.
		want := migrationCount(t, dbs[0].Dialect()) + 1
		if got := mustQueryInt(t, dbs[0], `SELECT COUNT(*) FROM goose_db_version`); got != want {
			t.Fatalf("%d migration records, want %d", got, want)
		}
	})
}

// goMigration is the version of the newest migration written in Go.
const goMigration = 5

// newestMigration returns the version of the newest migration of a
// dialect: the number the newest file's name starts with, or the newest Go
// migration.
func newestMigration(tb testing.TB, dialect string) int64 {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("migrations", dialect, "*.sql"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no migrations for %s: %v", dialect, err)
	}
	newest := int64(goMigration)
	for _, f := range files {
		v, err := strconv.ParseInt(strings.SplitN(filepath.Base(f), "_", 2)[0], 10, 64)
		if err != nil {
			tb.Fatalf("migration %s: %v", f, err)
		}
		newest = max(newest, v)
	}
	return newest
}
