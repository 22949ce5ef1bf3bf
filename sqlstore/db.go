// Package sqlstore implements dbplane.Store on SQLite (embedded, no cgo) and
// PostgreSQL. Both dialects share the SQL text; a small dialect value covers
// the differences (placeholders, row locking, connection setup).
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dbplane/dbplane"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations
var migrations embed.FS

var _ dbplane.Store = (*DB)(nil)

type dialect int

const (
	sqlite dialect = iota
	postgres
)

// DB is the metadata store. Writers go through w; readers through r. On
// SQLite w is a single connection (SQLite allows one writer at a time, and a
// single connection avoids SQLITE_BUSY); on PostgreSQL both are one pool.
type DB struct {
	dialect dialect
	w, r    *sql.DB
	dsn     string

	// Now returns the current time; tests replace it to control leases and
	// backoff.
	Now func() time.Time

	// OnTaskEnd, if set, is called after each commit that made a task
	// FAILED or SUCCESSFUL, whichever path ended it (the engine, a skip, a
	// rollback with nothing to undo): metrics hang off it.
	OnTaskEnd func(*dbplane.Task)

	// box encrypts the secrets the store keeps; nil refuses them.
	box dbplane.SecretBox

	rebound sync.Map // query text -> dialect-specific text
	stmts   stmtCache
}

// Option configures Open.
type Option func(*DB)

// WithSecretBox has the store encrypt the secrets it keeps (cluster admin
// passwords, access-key secrets) with box. Without it, every method that
// must seal or open a secret fails, and Open fails on a store that still
// holds plaintext passwords from before encryption.
func WithSecretBox(box dbplane.SecretBox) Option {
	return func(db *DB) { db.box = box }
}

// Open opens the store named by dsn and applies pending migrations under a
// lock. A dsn starting with postgres:// or postgresql:// selects PostgreSQL;
// anything else is a SQLite file path (optionally prefixed by sqlite:).
func Open(ctx context.Context, dsn string, opts ...Option) (*DB, error) {
	db := &DB{dsn: dsn, Now: time.Now}
	for _, o := range opts {
		o(db)
	}
	var err error
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		err = db.openPostgres(ctx, dsn)
	} else {
		err = db.openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	}
	if err != nil {
		db.Close()
		return nil, dbplane.E("sqlstore.Open", err)
	}
	return db, nil
}

func (db *DB) openSQLite(ctx context.Context, path string) error {
	db.dialect = sqlite
	if path == "" || path == ":memory:" {
		return errors.New("sqlite needs a file path: WAL mode and the reader pool do not work on :memory:")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("while creating the store directory: %w", err)
	}
	pragmas := "_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)"
	var err error
	if db.w, err = sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_txlock=immediate"); err != nil {
		return err
	}
	db.w.SetMaxOpenConns(1)
	if db.r, err = sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=query_only(1)"); err != nil {
		return err
	}
	db.r.SetMaxOpenConns(4)
	unlock, err := flock(path + ".lock")
	if err != nil {
		return fmt.Errorf("while locking the store for migrations: %w", err)
	}
	defer unlock()
	return db.migrate(ctx, goose.DialectSQLite3, "migrations/sqlite")
}

func (db *DB) openPostgres(ctx context.Context, dsn string) error {
	db.dialect = postgres
	var err error
	if db.w, err = sql.Open("pgx", dsn); err != nil {
		return err
	}
	db.w.SetMaxOpenConns(20)
	db.w.SetMaxIdleConns(20)
	db.r = db.w
	// Poll the migration lock every second (for up to 5 minutes) rather
	// than every 5 s, so control planes starting together do not stall.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return err
	}
	return db.migrate(ctx, goose.DialectPostgres, "migrations/postgres", goose.WithSessionLocker(locker))
}

func (db *DB) migrate(ctx context.Context, d goose.Dialect, dir string, opts ...goose.ProviderOption) error {
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return err
	}
	opts = append(opts, goose.WithGoMigrations(db.goMigrations()...))
	p, err := goose.NewProvider(d, db.w, sub, opts...)
	if err != nil {
		return fmt.Errorf("while loading migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("while applying migrations: %w", err)
	}
	return nil
}

// flock takes an exclusive advisory lock on path, so that two processes
// opening the same SQLite file do not migrate it at the same time.
func flock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// Close closes the store's connections.
func (db *DB) Close() error {
	errs := []error{db.stmts.close()}
	if db.r != nil && db.r != db.w {
		errs = append(errs, db.r.Close())
	}
	if db.w != nil {
		errs = append(errs, db.w.Close())
	}
	return errors.Join(errs...)
}

// Dialect returns "sqlite" or "postgres".
func (db *DB) Dialect() string {
	if db.dialect == postgres {
		return "postgres"
	}
	return "sqlite"
}

// SQL returns the underlying writer pool, for tests and benchmarks that
// need their own tables in the same database.
func (db *DB) SQL() *sql.DB { return db.w }

// Tx is a transaction with a fixed time, whose query methods accept `?`
// placeholders on both dialects.
type Tx struct {
	*sql.Tx
	db   *DB
	pool *sql.DB
	now  time.Time
	seen []string // queries to prepare for later transactions
	// ended are the tasks this transaction ended, reported to OnTaskEnd
	// once it commits.
	ended []dbplane.Task
}

// write runs fn in a read-write transaction and commits it if fn succeeds.
func (db *DB) write(ctx context.Context, fn func(*Tx) error) error {
	return db.tx(ctx, db.w, false, fn)
}

// read runs fn in a read-only transaction.
func (db *DB) read(ctx context.Context, fn func(*Tx) error) error {
	return db.tx(ctx, db.r, true, fn)
}

func (db *DB) tx(ctx context.Context, pool *sql.DB, readOnly bool, fn func(*Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: readOnly && db.dialect == postgres}
	stx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return mapErr(err)
	}
	tx := &Tx{Tx: stx, db: db, pool: pool, now: db.Now().UTC()}
	if err := fn(tx); err != nil {
		stx.Rollback()
		return mapErr(err)
	}
	err = stx.Commit()
	db.stmts.prepare(ctx, pool, tx.seen)
	if err == nil && db.OnTaskEnd != nil {
		for i := range tx.ended {
			db.OnTaskEnd(&tx.ended[i])
		}
	}
	return mapErr(err)
}

// Exec runs a statement written with `?` placeholders.
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := tx.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.Tx.ExecContext(ctx, tx.db.rebind(query), args...)
}

// Query runs a query written with `?` placeholders.
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := tx.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.Tx.QueryContext(ctx, tx.db.rebind(query), args...)
}

// QueryRow runs a single-row query written with `?` placeholders.
func (tx *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := tx.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.Tx.QueryRowContext(ctx, tx.db.rebind(query), args...)
}

// stmt returns the transaction's use of a cached prepared statement for
// query, or nil if there is none yet; the query is then prepared once this
// transaction ends. Only SQLite needs this: its driver parses a statement
// anew on every call, which took half the CPU time of a task transition,
// while pgx caches prepared statements itself.
func (tx *Tx) stmt(ctx context.Context, query string) *sql.Stmt {
	if tx.db.dialect != sqlite {
		return nil
	}
	if st := tx.db.stmts.get(tx.pool, query); st != nil {
		return tx.Tx.StmtContext(ctx, st)
	}
	tx.seen = append(tx.seen, query)
	return nil
}

// rebind turns `?` placeholders into `$n` for PostgreSQL. Queries never
// contain a literal question mark.
func (db *DB) rebind(query string) string {
	if db.dialect != postgres {
		return query
	}
	if q, ok := db.rebound.Load(query); ok {
		return q.(string)
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	q := b.String()
	db.rebound.Store(query, q)
	return q
}

// forUpdateSkipLocked is appended to claim queries on PostgreSQL, so that
// several control planes claim disjoint subtasks. SQLite has one writer.
func (db *DB) forUpdateSkipLocked() string {
	if db.dialect == postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// mapErr turns driver errors that have a meaning for clients into
// *dbplane.Error; everything else stays internal.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var de *dbplane.Error
	if errors.As(err, &de) {
		return err // already says what it means
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "UNIQUE constraint failed"), strings.Contains(msg, "SQLSTATE 23505"):
		return &dbplane.Error{Kind: dbplane.KindConflict, Message: "already exists", Err: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &dbplane.Error{Kind: dbplane.KindUnavailable, Message: "request canceled", Err: err}
	}
	return err
}

// micros converts a time to the stored form: Unix microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros converts the stored form back to UTC time.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullMicros converts a nullable stored time.
func nullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}
