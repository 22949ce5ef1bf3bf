package sqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/internal/testdb"
	"github.com/dbplane/dbplane/pki"
	"github.com/dbplane/dbplane/sqlstore"
	"github.com/pressly/goose/v3"
)

func mustKeyring(tb testing.TB, keys ...[]byte) *pki.Keyring {
	tb.Helper()
	kr, err := pki.NewKeyring(keys[0], keys[1:]...)
	if err != nil {
		tb.Fatal(err)
	}
	return kr
}

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func mustOpenWith(tb testing.TB, dsn string, box dbplane.SecretBox) *sqlstore.DB {
	tb.Helper()
	db, err := sqlstore.Open(context.Background(), dsn, sqlstore.WithSecretBox(box))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// openOld migrates a new database at dsn only up to version, as an older
// dbplane would have left it, and returns a raw connection to it.
func openOld(tb testing.TB, dsn string, version int64) (*sql.DB, func(string) string) {
	tb.Helper()
	driver, dialect, dir, bind := "sqlite", goose.DialectSQLite3, "sqlite", func(q string) string { return q }
	conn := "file:" + dsn + "?_pragma=foreign_keys(1)"
	if strings.HasPrefix(dsn, "postgres") {
		driver, dialect, dir, conn = "pgx", goose.DialectPostgres, "postgres", dsn
		bind = func(q string) string {
			var b strings.Builder
			n := 0
			for _, c := range q {
				if c == '?' {
					n++
					b.WriteString("$" + strconv.Itoa(n))
					continue
				}
				b.WriteRune(c)
			}
			return b.String()
		}
	}
	db, err := sql.Open(driver, conn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	p, err := goose.NewProvider(dialect, db, os.DirFS(filepath.Join("migrations", dir)))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := p.UpTo(context.Background(), version); err != nil {
		tb.Fatal(err)
	}
	return db, bind
}

// TestMigrate_FromPlaintext upgrades a database of the version before
// projects and encryption: plaintext passwords end up encrypted and the
// plaintext column gone, clusters and tasks in the default project, and
// roles turned into global bindings.
func TestMigrate_FromPlaintext(t *testing.T) {
	forEachDialectDSN(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		old, bind := openOld(t, dsn, 3)
		for _, q := range []string{
			`INSERT INTO users (name, role, password_hash, created_at) VALUES ('admin', 'admin', 'h1', 1000)`,
			`INSERT INTO users (name, role, password_hash, created_at) VALUES ('olga', 'operator', 'h2', 1000)`,
			`INSERT INTO clusters (name, engine, version, topology, status, spec, admin_password, created_at, updated_at)
				VALUES ('old', 'postgresql', '16', 'standalone', 'running', '{}', 'Old-plain-pw', 1000, 1000)`,
			`INSERT INTO clusters (name, engine, version, topology, status, spec, admin_password, created_at, updated_at)
				VALUES ('nopw', 'redis', '7', 'standalone', 'running', '{}', '', 1000, 1000)`,
			`INSERT INTO tasks (name, kind, cluster_id, status, operation, created_at, updated_at)
				SELECT 'create', 'cluster.create', id, 'SUCCESSFUL', 'EXECUTE', 1000, 1000 FROM clusters WHERE name = 'old'`,
			`INSERT INTO tasks (name, kind, status, operation, created_at, updated_at)
				VALUES ('fleet', 'host.check', 'SUCCESSFUL', 'EXECUTE', 1000, 1000)`,
		} {
			if _, err := old.Exec(bind(q)); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}

		// Without the key, the plaintext cannot be encrypted: Open refuses
		// rather than leave it.
		if _, err := sqlstore.Open(ctx, dsn); err == nil || !strings.Contains(err.Error(), "plaintext") {
			t.Fatalf("Open without a secret box = %v, want a refusal naming the plaintext passwords", err)
		}

		box := testdb.SecretBox()
		db := mustOpenWith(t, dsn, box)
		if _, err := db.SQL().Exec(`SELECT admin_password FROM clusters`); err == nil {
			t.Fatal("the plaintext column is still there")
		}
		var (
			ct    []byte
			keyID string
		)
		if err := db.SQL().QueryRow(`SELECT password_ciphertext, password_key_id FROM clusters WHERE name = 'old'`).
			Scan(&ct, &keyID); err != nil {
			t.Fatal(err)
		}
		if keyID != box.PrimaryKeyID() || len(ct) == 0 || bytes.Contains(ct, []byte("Old-plain-pw")) {
			t.Fatalf("key id %q, ciphertext %q: not encrypted under the box's key", keyID, ct)
		}

		cs, _, err := db.FindClusters(ctx, dbplane.ClusterFilter{})
		if err != nil || len(cs) != 2 {
			t.Fatalf("%d clusters, %v", len(cs), err)
		}
		for i, want := range []string{"Old-plain-pw", ""} {
			if pw, err := db.ClusterPassword(ctx, cs[i].ID); err != nil || pw != want {
				t.Fatalf("password of %s = %q, %v; want %q", cs[i].Name, pw, err, want)
			}
			if cs[i].Project != dbplane.DefaultProject || cs[i].ProjectID == 0 {
				t.Fatalf("cluster %s in project %d %q, want the default project", cs[i].Name, cs[i].ProjectID, cs[i].Project)
			}
		}
		tasks, _, err := db.FindTasks(ctx, dbplane.TaskFilter{})
		if err != nil || len(tasks) != 2 {
			t.Fatalf("%d tasks, %v", len(tasks), err)
		}
		if tasks[0].ProjectID != dbplane.GlobalScope || tasks[1].ProjectID != cs[0].ProjectID {
			t.Fatalf("task projects %d and %d, want 0 and %d", tasks[0].ProjectID, tasks[1].ProjectID, cs[0].ProjectID)
		}
		for name, role := range map[string]string{"admin": dbplane.RoleAdmin, "olga": dbplane.RoleOperator} {
			u, _, err := db.FindUserByName(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			if len(u.Bindings) != 1 || u.Bindings[0].ProjectID != dbplane.GlobalScope || u.Bindings[0].Role != role ||
				u.Bindings[0].ProjectName != "*" {
				t.Fatalf("%s has bindings %+v, want a global %s", name, u.Bindings, role)
			}
		}
	})
}

// TestSecrets_BoundToRow moves ciphertexts to other rows: they must not
// open there, or a database writer could read one secret as another.
func TestSecrets_BoundToRow(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		a := mustCreateCluster(t, db, newCluster("a"))
		b := mustCreateCluster(t, db, newCluster("b"))
		mustExec(t, db, `UPDATE clusters SET password_ciphertext = (SELECT password_ciphertext FROM clusters WHERE id = ?)
			WHERE id = ?`, a.ID, b.ID)
		_, err := db.ClusterPassword(ctx, b.ID)
		if dbplane.ErrorKind(err) != dbplane.KindInternal || !strings.Contains(err.Error(), "cannot decrypt") {
			t.Fatalf("moved cluster password: %v, want a decryption failure", err)
		}
		if pw, err := db.ClusterPassword(ctx, a.ID); err != nil || pw != "pw" {
			t.Fatalf("the original: %q, %v", pw, err)
		}

		u := mustUser(t, db, "u")
		for _, id := range []string{"AK1", "AK2"} {
			if err := db.CreateAccessKey(ctx, &dbplane.AccessKey{ID: id, UserID: u.ID}, "secret-of-"+id); err != nil {
				t.Fatal(err)
			}
		}
		mustExec(t, db, `UPDATE access_keys SET secret_ciphertext = (SELECT secret_ciphertext FROM access_keys WHERE id = 'AK1')
			WHERE id = 'AK2'`)
		_, _, err = db.FindAccessKey(ctx, "AK2")
		if dbplane.ErrorKind(err) != dbplane.KindInternal || !strings.Contains(err.Error(), "cannot decrypt") {
			t.Fatalf("moved access-key secret: %v, want a decryption failure", err)
		}
	})
}

// TestSecrets_NoBox: a store opened without a secret box refuses to seal
// or open secrets, saying why, and serves everything else.
func TestSecrets_NoBox(t *testing.T) {
	forEachDialectDSN(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		withKey := MustOpen(t, dsn)
		mustCreateCluster(t, withKey, newCluster("sealed"))
		u := mustUser(t, withKey, "u")
		if err := withKey.CreateAccessKey(ctx, &dbplane.AccessKey{ID: "AK1", UserID: u.ID}, "sk"); err != nil {
			t.Fatal(err)
		}

		db, err := sqlstore.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		check := func(what string, err error) {
			t.Helper()
			if dbplane.ErrorKind(err) != dbplane.KindInternal || !strings.Contains(err.Error(), "no secret key") {
				t.Errorf("%s: %v, want an internal error naming the missing secret key", what, err)
			}
		}
		_, err = db.CreateCluster(ctx, newCluster("c"), "pw", createPlan())
		check("CreateCluster", err)
		_, err = db.ClusterPassword(ctx, 1)
		check("ClusterPassword", err)
		check("CreateAccessKey", db.CreateAccessKey(ctx, &dbplane.AccessKey{ID: "AK2", UserID: u.ID}, "sk"))
		_, _, err = db.FindAccessKey(ctx, "AK1")
		check("FindAccessKey", err)
		_, err = db.ResealSecrets(ctx)
		check("ResealSecrets", err)
		if _, _, err := db.FindClusters(ctx, dbplane.ClusterFilter{}); err != nil {
			t.Fatalf("FindClusters needs no key: %v", err)
		}
	})
}

// TestResealSecrets rotates the secret key: after ResealSecrets under a box
// whose primary key is new, the old key is no longer needed.
func TestResealSecrets(t *testing.T) {
	forEachDialectDSN(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		oldKey, newKey := key(1), key(2)
		oldBox := mustKeyring(t, oldKey)
		db := mustOpenWith(t, dsn, oldBox)
		c := mustCreateCluster(t, db, newCluster("c"))
		u := mustUser(t, db, "u")
		if err := db.CreateAccessKey(ctx, &dbplane.AccessKey{ID: "AK1", UserID: u.ID}, "sk-1"); err != nil {
			t.Fatal(err)
		}
		ca, err := pki.LoadOrCreate(ctx, db, oldBox)
		if err != nil {
			t.Fatal(err)
		}
		db.Close()

		// Before resealing, the new key alone opens nothing.
		newOnly := mustKeyring(t, newKey)
		if _, err := mustOpenWith(t, dsn, newOnly).ClusterPassword(ctx, c.ID); err == nil {
			t.Fatal("the new key alone opened a password sealed under the old one")
		}

		rotating := mustKeyring(t, newKey, oldKey)
		db = mustOpenWith(t, dsn, rotating)
		if n, err := db.ResealSecrets(ctx); err != nil || n != 3 {
			t.Fatalf("ResealSecrets = %d, %v; want 3 (password, access key, CA)", n, err)
		}
		for _, q := range []string{
			`SELECT COUNT(*) FROM clusters WHERE password_key_id <> ?`,
			`SELECT COUNT(*) FROM access_keys WHERE secret_key_id <> ?`,
			`SELECT COUNT(*) FROM ca WHERE key_id <> ?`,
		} {
			if n := mustQueryInt(t, db, q, newOnly.PrimaryKeyID()); n != 0 {
				t.Fatalf("%s: %d rows not under the new key", q, n)
			}
		}
		if n, err := db.ResealSecrets(ctx); err != nil || n != 0 {
			t.Fatalf("second ResealSecrets = %d, %v; want 0", n, err)
		}

		db = mustOpenWith(t, dsn, newOnly)
		if pw, err := db.ClusterPassword(ctx, c.ID); err != nil || pw != "pw" {
			t.Fatalf("password under the new key: %q, %v", pw, err)
		}
		if _, sk, err := db.FindAccessKey(ctx, "AK1"); err != nil || sk != "sk-1" {
			t.Fatalf("access key under the new key: %q, %v", sk, err)
		}
		st, err := db.LoadCA(ctx)
		if err != nil {
			t.Fatal(err)
		}
		reopened, err := pki.OpenCA(st, newOnly)
		if err != nil {
			t.Fatalf("CA under the new key: %v", err)
		}
		if !bytes.Equal(reopened.CertPEM(), ca.CertPEM()) {
			t.Fatal("the resealed CA is another CA")
		}
	})
}
