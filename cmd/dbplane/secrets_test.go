package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/pki"
	"github.com/dbplane/dbplane/sqlstore"
)

// runSecrets runs `dbplane secrets args…` on dataDir.
func runSecrets(t *testing.T, dataDir string, args ...string) result {
	t.Helper()
	home := t.TempDir()
	var stdout, stderr bytes.Buffer
	e := env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		getenv:  mapEnv(map[string]string{"XDG_CONFIG_HOME": home, "HOME": home}),
		connect: httpConnect, now: func() time.Time { return at(100) }}
	code := run(t.Context(), append(append([]string{"secrets"}, args...), "--data-dir", dataDir), e)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// keyFileIDs returns the ids of the keys in dataDir's key file, the
// primary first.
func keyFileIDs(t *testing.T, dataDir string) []string {
	t.Helper()
	kr, err := pki.LoadKeyring(func(string) string { return "" }, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	return kr.KeyIDs()
}

// mustOpenWithOnly opens the store of dataDir with a keyring holding only
// the key of id, and returns the secrets it decrypts: the CA and the
// access key's secret.
func mustOpenWithOnly(t *testing.T, dataDir, id string) (*pki.CA, string, error) {
	t.Helper()
	kr, err := pki.NewKeyring(keyOf(t, dataDir, id))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(dataDir, "dbplane.db"), sqlstore.WithSecretBox(kr))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := db.LoadCA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.OpenCA(st, kr)
	if err != nil {
		return nil, "", err
	}
	_, secret, err := db.FindAccessKey(ctx, "AKROTATION")
	return ca, secret, err
}

// keyOf returns the raw key of id from dataDir's key file.
func keyOf(t *testing.T, dataDir, id string) []byte {
	t.Helper()
	data, err := os.ReadFile(pki.KeyFilePath(dataDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Fields(string(data)) {
		key, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			t.Fatal(err)
		}
		if kr, _ := pki.NewKeyring(key); kr != nil && kr.KeyID() == id {
			return key
		}
	}
	t.Fatalf("no key %s in the key file", id)
	return nil
}

// TestSecretsRotate rotates the key file of a running control plane's
// SQLite store: every secret is re-encrypted with the new key, the running
// control plane keeps working, and retiring the old key leaves secrets that
// only the new key opens.
func TestSecretsRotate(t *testing.T) {
	t.Setenv(pki.SecretKeyEnv, "")
	cp := mustRunControlPlane(t)
	dataDir := cp.cfg.DataDir
	ctx := context.Background()
	admin, _, err := cp.db.FindUserByName(ctx, dbplane.AdminUser)
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.db.CreateAccessKey(ctx, &dbplane.AccessKey{ID: "AKROTATION", UserID: admin.ID}, "sk-before-rotation"); err != nil {
		t.Fatal(err)
	}
	before := keyFileIDs(t, dataDir)
	if len(before) != 1 {
		t.Fatalf("key file holds %v, want one key", before)
	}
	oldID := before[0]

	r := runSecrets(t, dataDir, "rotate")
	r.check(t, exitOK)
	after := keyFileIDs(t, dataDir)
	if len(after) != 2 || after[1] != oldID {
		t.Fatalf("key file holds %v after the rotation, want a new primary then %s", after, oldID)
	}
	newID := after[0]
	if m := regexp.MustCompile(`new primary key (\w+); re-encrypted (\d+) secret`).FindStringSubmatch(r.stdout); m == nil || m[1] != newID || m[2] != "2" {
		t.Fatalf("stdout = %q, want the new key %s and 2 secrets (the CA key and the access key's)", r.stdout, newID)
	}
	if _, _, err := mustOpenWithOnly(t, dataDir, oldID); err == nil {
		t.Fatal("the old key alone still opens the CA: it was not re-encrypted")
	}
	ca, secret, err := mustOpenWithOnly(t, dataDir, newID)
	if err != nil || secret != "sk-before-rotation" || pki.Fingerprint(ca.Cert) != cp.CAFingerprint {
		t.Fatalf("with the new key alone: CA %v, secret %q, %v", ca, secret, err)
	}
	// The running control plane opens what the new key sealed, at once.
	if _, got, err := cp.db.FindAccessKey(ctx, "AKROTATION"); err != nil || got != "sk-before-rotation" {
		t.Fatalf("the running control plane reads the access key: %q, %v", got, err)
	}

	r = runSecrets(t, dataDir, "reseal")
	r.check(t, exitOK)
	if !strings.Contains(r.stdout, "re-encrypted 0 secret(s) with the primary key "+newID) {
		t.Errorf("reseal stdout = %q, want nothing left to re-encrypt", r.stdout)
	}

	r = runSecrets(t, dataDir, "retire")
	r.check(t, exitOK)
	if got := keyFileIDs(t, dataDir); len(got) != 1 || got[0] != newID {
		t.Fatalf("key file holds %v after retiring, want only %s", got, newID)
	}
	if !strings.Contains(r.stdout, "retired key(s) "+oldID) {
		t.Errorf("retire stdout = %q, want the retired key named", r.stdout)
	}
	r = runSecrets(t, dataDir, "retire")
	r.check(t, exitOK)
	if !strings.Contains(r.stdout, "nothing to retire") {
		t.Errorf("second retire stdout = %q, want nothing to retire", r.stdout)
	}
	// A data directory without a key file has nothing to rotate, and
	// gets none.
	for _, cmd := range []string{"rotate", "reseal", "retire"} {
		empty := t.TempDir()
		r = runSecrets(t, empty, cmd)
		if r.code == exitOK || !strings.Contains(r.stderr, "no key file") {
			t.Errorf("%s in a data dir without a key file: exit %d, stderr %q", cmd, r.code, r.stderr)
		}
		if _, err := os.Stat(pki.KeyFilePath(empty)); !os.IsNotExist(err) {
			t.Errorf("%s created a key file: %v", cmd, err)
		}
	}
}

// TestSecretsRotateEnv: with the keys in DBPLANE_SECRET_KEY, rotate
// changes no file and prints a new key and the steps instead.
func TestSecretsRotateEnv(t *testing.T) {
	key, _, err := pki.NewSecretKey()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(pki.SecretKeyEnv, key)
	dataDir := t.TempDir()
	r := runSecrets(t, dataDir, "rotate")
	r.check(t, exitUsage)
	printed := strings.TrimSpace(r.stdout)
	if raw, err := base64.StdEncoding.DecodeString(printed); err != nil || len(raw) != 32 || printed == key {
		t.Fatalf("stdout = %q, want a new base64 key", r.stdout)
	}
	if strings.Contains(r.stderr, key) || !strings.Contains(r.stderr, "prepend") || !strings.Contains(r.stderr, "NEW,OLD1") {
		t.Errorf("stderr = %q, want the steps, without the current key", r.stderr)
	}
	if _, err := os.Stat(pki.KeyFilePath(dataDir)); !os.IsNotExist(err) {
		t.Errorf("a key file was written: %v", err)
	}
	runSecrets(t, dataDir, "retire").check(t, exitUsage)
}
