// Package testdb gives tests a fresh, empty metadata database on every store
// dialect: a SQLite file always, and a PostgreSQL database when the
// environment names a server to create it on. Tests of packages built on the
// store (task engine, API) use it to run once per dialect.
package testdb

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/pki"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// SecretKey is the fixed secret key of SecretBox. Fixed, so that a test
// that reopens a store, or runs a control plane in a child process, reads
// what it wrote. Never use it outside tests.
var SecretKey = []byte("dbplane test secret key 32 bytes")

// SecretBox returns a secret box over SecretKey, for opening stores in
// tests: sqlstore.Open(ctx, dsn, sqlstore.WithSecretBox(testdb.SecretBox())).
func SecretBox() dbplane.SecretBox {
	kr, err := pki.NewKeyring(SecretKey)
	if err != nil {
		panic(err) // SecretKey has the right length
	}
	return kr
}

// PostgresURLEnv names a PostgreSQL server on which tests may CREATE
// DATABASE; .ci/pg-test-server.sh prints one. Unset, PostgreSQL is skipped.
const PostgresURLEnv = "DBPLANE_TEST_POSTGRES_URL"

// Dialect names a store dialect and makes fresh databases for it.
type Dialect struct {
	Name string
	// DSN returns the DSN of a new, empty database that lives until tb ends.
	DSN func(tb testing.TB) string
}

// Dialects returns SQLite, and PostgreSQL when PostgresURLEnv is set.
// Benchmarks, which cannot use ForEach, range over it.
func Dialects() []Dialect {
	ds := []Dialect{{Name: "sqlite", DSN: SQLiteDSN}}
	if admin := os.Getenv(PostgresURLEnv); admin != "" {
		ds = append(ds, Dialect{Name: "postgres", DSN: func(tb testing.TB) string { return PostgresDSN(tb, admin) }})
	}
	return ds
}

// ForEach runs fn as the subtests "sqlite" and, when PostgresURLEnv is set,
// "postgres", each with the DSN of a fresh, empty database.
func ForEach(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	for _, d := range Dialects() {
		t.Run(d.Name, func(t *testing.T) { fn(t, d.DSN(t)) })
	}
}

// SQLiteDSN returns the path of a new SQLite file in a temporary directory.
func SQLiteDSN(tb testing.TB) string {
	return filepath.Join(tb.TempDir(), "dbplane.db")
}

// PostgresDSN creates an empty database on the server at admin and returns
// its URL. The database is dropped when the test ends, after the stores
// opened on it are closed (cleanups run last registered first); FORCE ends
// connections that a failed test, or a killed child process, left open.
func PostgresDSN(tb testing.TB, admin string) string {
	tb.Helper()
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("parsing %s: %v", PostgresURLEnv, err)
	}
	conn, err := sql.Open("pgx", admin)
	if err != nil {
		tb.Fatalf("connecting to %s: %v", PostgresURLEnv, err)
	}
	b := make([]byte, 8)
	rand.Read(b)
	name := "dbplane_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec("CREATE DATABASE " + name); err != nil {
		conn.Close()
		tb.Fatalf("creating database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		defer conn.Close()
		if _, err := conn.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			tb.Errorf("dropping database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}
