package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/pki"
	"github.com/pressly/goose/v3"
)

// Every ciphertext is bound, by its additional data, to the row and purpose
// it was sealed for: a ciphertext copied into another row does not open.

func clusterPasswordAAD(id int64) []byte {
	return []byte("cluster-password:" + strconv.FormatInt(id, 10))
}

func accessKeyAAD(id string) []byte { return []byte("access-key:" + id) }

// errNoBox is the error of a method that needs the secret key the store was
// opened without.
func errNoBox(what string) error {
	return dbplane.Errorf(dbplane.KindInternal,
		"no secret key: the store cannot encrypt or decrypt %s without one (open it with sqlstore.WithSecretBox)", what)
}

// seal encrypts a secret, what naming it for errors.
func (db *DB) seal(what, plaintext string, aad []byte) ([]byte, string, error) {
	if db.box == nil {
		return nil, "", errNoBox(what)
	}
	ct, keyID := db.box.Seal([]byte(plaintext), aad)
	return ct, keyID, nil
}

// open decrypts a secret that seal made with the same aad.
func (db *DB) open(what string, ciphertext []byte, keyID string, aad []byte) (string, error) {
	if db.box == nil {
		return "", errNoBox(what)
	}
	plain, err := db.box.Open(ciphertext, keyID, aad)
	if err != nil {
		return "", &dbplane.Error{Kind: dbplane.KindInternal, Message: "cannot decrypt " + what, Err: err}
	}
	return string(plain), nil
}

// ResealSecrets re-encrypts the cluster admin passwords, the access-key
// secrets and the CA key that are not sealed under the box's primary key,
// in one transaction, and returns how many it re-encrypted. Run after
// adding a new primary key to the box, it lets the old key be retired.
func (db *DB) ResealSecrets(ctx context.Context) (int, error) {
	const op = "sqlstore.ResealSecrets"
	if db.box == nil {
		return 0, dbplane.E(op, errNoBox("secrets"))
	}
	var n int
	err := db.write(ctx, func(tx *Tx) error {
		n = 0
		for _, reseal := range []func(context.Context, *Tx) (int, error){
			db.resealClusterPasswords, db.resealAccessKeys, db.resealCA, db.resealTaskPasswords,
		} {
			m, err := reseal(ctx, tx)
			if err != nil {
				return err
			}
			n += m
		}
		return nil
	})
	if err != nil {
		return 0, dbplane.E(op, err)
	}
	return n, nil
}

// sealedRow is a secret as stored, with the id of its row.
type sealedRow struct {
	id         string
	ciphertext []byte
	keyID      string
}

// staleSecrets returns the rows of query (id, ciphertext, key id) that are
// sealed under another key than primary, locked on PostgreSQL.
func (db *DB) staleSecrets(ctx context.Context, tx *Tx, query string) ([]sealedRow, error) {
	rows, err := tx.Query(ctx, query+db.forUpdate(), db.box.PrimaryKeyID())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sealedRow
	for rows.Next() {
		var r sealedRow
		if err := rows.Scan(&r.id, &r.ciphertext, &r.keyID); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (db *DB) resealClusterPasswords(ctx context.Context, tx *Tx) (int, error) {
	stale, err := db.staleSecrets(ctx, tx, `SELECT CAST(id AS TEXT), password_ciphertext, password_key_id
		FROM clusters WHERE password_key_id <> '' AND password_key_id <> ?`)
	if err != nil {
		return 0, fmt.Errorf("while reading cluster passwords: %w", err)
	}
	for _, r := range stale {
		id, err := strconv.ParseInt(r.id, 10, 64)
		if err != nil {
			return 0, err
		}
		aad := clusterPasswordAAD(id)
		what := fmt.Sprintf("the admin password of cluster %d", id)
		pw, err := db.open(what, r.ciphertext, r.keyID, aad)
		if err != nil {
			return 0, err
		}
		ct, keyID, err := db.seal(what, pw, aad)
		if err != nil {
			return 0, err
		}
		if _, err := tx.Exec(ctx, `UPDATE clusters SET password_ciphertext = ?, password_key_id = ? WHERE id = ?`,
			ct, keyID, id); err != nil {
			return 0, fmt.Errorf("while storing %s: %w", what, err)
		}
	}
	return len(stale), nil
}

func (db *DB) resealAccessKeys(ctx context.Context, tx *Tx) (int, error) {
	stale, err := db.staleSecrets(ctx, tx, `SELECT id, secret_ciphertext, secret_key_id
		FROM access_keys WHERE secret_key_id <> ?`)
	if err != nil {
		return 0, fmt.Errorf("while reading access keys: %w", err)
	}
	for _, r := range stale {
		aad := accessKeyAAD(r.id)
		what := fmt.Sprintf("the secret of access key %s", r.id)
		secret, err := db.open(what, r.ciphertext, r.keyID, aad)
		if err != nil {
			return 0, err
		}
		ct, keyID, err := db.seal(what, secret, aad)
		if err != nil {
			return 0, err
		}
		if _, err := tx.Exec(ctx, `UPDATE access_keys SET secret_ciphertext = ?, secret_key_id = ? WHERE id = ?`,
			ct, keyID, r.id); err != nil {
			return 0, fmt.Errorf("while storing %s: %w", what, err)
		}
	}
	return len(stale), nil
}

// resealCA re-encrypts the CA key; pki owns its additional data.
func (db *DB) resealCA(ctx context.Context, tx *Tx) (int, error) {
	var st pki.StoredCA
	err := tx.QueryRow(ctx, `SELECT key_ciphertext, key_id FROM ca WHERE id = 1`+db.forUpdate()).
		Scan(&st.KeyCiphertext, &st.KeyID)
	if isNoRows(err) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("while reading the CA: %w", err)
	}
	changed, err := pki.ResealCA(&st, db.box)
	if err != nil || !changed {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `UPDATE ca SET key_ciphertext = ?, key_id = ? WHERE id = 1`, st.KeyCiphertext, st.KeyID); err != nil {
		return 0, fmt.Errorf("while storing the CA key: %w", err)
	}
	return 1, nil
}

// goMigrations are the migrations SQL cannot do: 00005 encrypts the
// cluster admin passwords that older versions stored in plaintext, then
// drops the plaintext column.
func (db *DB) goMigrations() []*goose.Migration {
	return []*goose.Migration{
		goose.NewGoMigration(5,
			&goose.GoFunc{RunTx: db.encryptPlaintextPasswords},
			&goose.GoFunc{RunTx: db.decryptPasswordsToPlaintext}),
	}
}

// encryptPlaintextPasswords is migration 00005 up. It runs inside the
// migration's transaction and lock, so no control plane ever reads the
// plaintext column half converted. Without a secret box it fails only if
// there is plaintext to encrypt.
func (db *DB) encryptPlaintextPasswords(ctx context.Context, tx *sql.Tx) error {
	plain, err := scanIDSecrets(ctx, tx, `SELECT id, admin_password FROM clusters WHERE admin_password <> ''`)
	if err != nil {
		return fmt.Errorf("while reading plaintext passwords: %w", err)
	}
	if len(plain) > 0 && db.box == nil {
		return fmt.Errorf("the store holds %d cluster admin passwords in plaintext from an older version: "+
			"open it with the secret key to encrypt them", len(plain))
	}
	for id, pw := range plain {
		ct, keyID := db.box.Seal([]byte(pw), clusterPasswordAAD(id))
		if _, err := tx.ExecContext(ctx, db.rebind(`UPDATE clusters SET password_ciphertext = ?, password_key_id = ?
			WHERE id = ?`), ct, keyID, id); err != nil {
			return fmt.Errorf("while encrypting the password of cluster %d: %w", id, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `ALTER TABLE clusters DROP COLUMN admin_password`); err != nil {
		return fmt.Errorf("while dropping the plaintext password column: %w", err)
	}
	return nil
}

// decryptPasswordsToPlaintext is migration 00005 down, for downgrades.
func (db *DB) decryptPasswordsToPlaintext(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `ALTER TABLE clusters ADD COLUMN admin_password TEXT NOT NULL DEFAULT ''`); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, password_ciphertext, password_key_id FROM clusters WHERE password_key_id <> ''`)
	if err != nil {
		return err
	}
	var sealed []sealedRow
	for rows.Next() {
		var r sealedRow
		if err := rows.Scan(&r.id, &r.ciphertext, &r.keyID); err != nil {
			rows.Close()
			return err
		}
		sealed = append(sealed, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range sealed {
		id, err := strconv.ParseInt(r.id, 10, 64)
		if err != nil {
			return err
		}
		pw, err := db.open(fmt.Sprintf("the admin password of cluster %d", id), r.ciphertext, r.keyID, clusterPasswordAAD(id))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.rebind(`UPDATE clusters SET admin_password = ?, password_ciphertext = NULL,
			password_key_id = '' WHERE id = ?`), pw, id); err != nil {
			return err
		}
	}
	return nil
}

func scanIDSecrets(ctx context.Context, tx *sql.Tx, query string) (map[int64]string, error) {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var (
			id int64
			s  string
		)
		if err := rows.Scan(&id, &s); err != nil {
			return nil, err
		}
		out[id] = s
	}
	return out, rows.Err()
}
