package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/sqlstore"
)

// openRaw returns a plain connection to the store at dsn, to look at rows
// no method returns.
func openRaw(tb testing.TB, dsn string) *sql.DB {
	tb.Helper()
	driver, conn := "sqlite", "file:"+dsn
	if strings.HasPrefix(dsn, "postgres") {
		driver, conn = "pgx", dsn
	}
	db, err := sql.Open(driver, conn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// TestLockoutPrunes checks that a subject's first failure deletes, a
// bounded batch at a time, the rows whose window and lock have both ended,
// and keeps those still counting failures or locking their subject.
func TestLockoutPrunes(t *testing.T) {
	forEachDialectDSN(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db, raw := MustOpen(t, dsn), openRaw(t, dsn)
		policy := dbplane.LockoutPolicy{MaxFailures: 3, Window: 10 * time.Minute, LockFor: 30 * time.Minute}
		at := func(min int) time.Time {
			return testNow.Add(time.Duration(min) * time.Minute).Truncate(time.Microsecond)
		}
		fail := func(subject string, min int) time.Time {
			t.Helper()
			until, err := db.RecordAuthFailure(ctx, subject, at(min), policy)
			if err != nil {
				t.Fatal(err)
			}
			return until
		}
		subjects := func() []string {
			t.Helper()
			rows, err := raw.QueryContext(ctx, `SELECT subject FROM auth_failures`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var all []string
			for rows.Next() {
				var s string
				if err := rows.Scan(&s); err != nil {
					t.Fatal(err)
				}
				all = append(all, s)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			slices.Sort(all)
			return all
		}
		count := func(want int) {
			t.Helper()
			if got := subjects(); len(got) != want {
				t.Fatalf("%d rows, want %d", len(got), want)
			}
		}

		const guessed = 150 // more than one batch
		for i := range guessed {
			fail(fmt.Sprintf("user:guess%03d", i), 0)
		}
		for range 3 {
			fail("user:locked", 0) // locked until 30
		}
		fail("user:recent", 5) // counting until 15
		count(guessed + 2)

		// At 11 the guesses' windows have ended: a new subject prunes a
		// batch of them; a repeated one prunes nothing.
		fail("user:new1", 11)
		count(guessed + 2 + 1 - 100)
		fail("user:recent", 11)
		count(guessed + 2 + 1 - 100)
		fail("user:new2", 11)
		if got, want := subjects(), []string{"user:locked", "user:new1", "user:new2", "user:recent"}; !slices.Equal(got, want) {
			t.Fatalf("rows %q, want %q", got, want)
		}
		// What was kept still counts: the lock holds, and the recent
		// subject's third failure within its window locks it.
		if until, err := db.AuthLockedUntil(ctx, "user:locked", at(11)); err != nil || !until.Equal(at(30)) {
			t.Fatalf("user:locked is locked until %v, %v; want %v", until, err, at(30))
		}
		if until := fail("user:recent", 12); !until.Equal(at(42)) {
			t.Fatalf("user:recent's third failure locked until %v, want %v", until, at(42))
		}

		// At 31 the lock has ended too; the new lock of user:recent holds.
		fail("user:new3", 31)
		if got, want := subjects(), []string{"user:new3", "user:recent"}; !slices.Equal(got, want) {
			t.Fatalf("rows %q, want %q", got, want)
		}
	})
}

// TestLockoutPruneConcurrent races the prunes of new subjects against new
// failures of the stale subjects they would delete: no failure errs or is
// lost (on PostgreSQL; SQLite has one writer).
func TestLockoutPruneConcurrent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		policy := dbplane.LockoutPolicy{MaxFailures: 2, Window: 10 * time.Minute, LockFor: time.Hour}
		const n = 40
		for i := range n {
			if _, err := db.RecordAuthFailure(ctx, fmt.Sprintf("user:stale%d", i), testNow, policy); err != nil {
				t.Fatal(err)
			}
		}
		later := testNow.Add(11 * time.Minute)
		errs := make(chan error, 2*n)
		for i := range n {
			go func() {
				_, err := db.RecordAuthFailure(ctx, fmt.Sprintf("user:new%d", i), later, policy)
				errs <- err
			}()
			go func() {
				_, err := db.RecordAuthFailure(ctx, fmt.Sprintf("user:stale%d", i), later, policy)
				errs <- err
			}()
		}
		for range 2 * n {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		// Each stale subject failed once in its new window, whether its
		// old row was pruned first or not: one more failure locks it.
		for i := range n {
			s := fmt.Sprintf("user:stale%d", i)
			if until, err := db.RecordAuthFailure(ctx, s, later, policy); err != nil || until.IsZero() {
				t.Fatalf("%s's second failure of the window: locked until %v, %v", s, until, err)
			}
		}
	})
}
