package pki_test

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/pki"
)

func mustKeyring(t *testing.T, fill byte) *pki.Keyring {
	t.Helper()
	kr, err := pki.NewKeyring(bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func TestKeyring(t *testing.T) {
	kr := mustKeyring(t, 1)
	secret, aad := []byte("the CA key"), []byte("purpose")
	ct, id := kr.Seal(secret, aad)
	if id != kr.KeyID() || len(id) != 16 {
		t.Fatalf("key id %q, keyring's %q", id, kr.KeyID())
	}
	if bytes.Contains(ct, secret) {
		t.Fatal("the ciphertext contains the plaintext")
	}
	if ct2, _ := kr.Seal(secret, aad); bytes.Equal(ct, ct2) {
		t.Fatal("two seals of one secret are equal: the nonce is not random")
	}
	got, err := kr.Open(ct, id, aad)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}

	t.Run("WrongKey", func(t *testing.T) {
		_, err := mustKeyring(t, 2).Open(ct, id, aad)
		if err == nil || !strings.Contains(err.Error(), "encrypted with key "+id) {
			t.Fatalf("err = %v, want one naming key %s", err, id)
		}
	})
	t.Run("WrongKeyClaimingTheRightID", func(t *testing.T) {
		other := mustKeyring(t, 2)
		if _, err := other.Open(ct, other.KeyID(), aad); err == nil {
			t.Fatal("another key decrypts the secret")
		}
	})
	t.Run("WrongAAD", func(t *testing.T) {
		if _, err := kr.Open(ct, id, []byte("other purpose")); err == nil {
			t.Fatal("the secret opens for another purpose")
		}
	})
	t.Run("Tampered", func(t *testing.T) {
		bad := bytes.Clone(ct)
		bad[len(bad)/2] ^= 1
		if _, err := kr.Open(bad, id, aad); err == nil {
			t.Fatal("an altered ciphertext decrypts")
		}
	})
	t.Run("ShortKey", func(t *testing.T) {
		if _, err := pki.NewKeyring(make([]byte, 16)); err == nil {
			t.Fatal("a 16-byte key is accepted")
		}
	})
}

func noEnv(string) string { return "" }

func TestLoadKeyring_File(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	kr, err := pki.LoadKeyring(noEnv, dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, pki.SecretKeyFile)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %#o, want 0600", st.Mode().Perm())
	}
	again, err := pki.LoadKeyring(noEnv, dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.KeyID() != kr.KeyID() {
		t.Fatalf("second load has key %s, first %s", again.KeyID(), kr.KeyID())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("%d files in the data directory, want only the key", len(entries))
	}

	t.Run("ReadableByOthers", func(t *testing.T) {
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(path, 0o600)
		if _, err := pki.LoadKeyring(noEnv, dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Fatalf("err = %v, want a refusal of a 0644 key file", err)
		}
	})
	t.Run("Malformed", func(t *testing.T) {
		bad := t.TempDir()
		if err := os.WriteFile(filepath.Join(bad, pki.SecretKeyFile), []byte("short\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := pki.LoadKeyring(noEnv, bad); err == nil {
			t.Fatal("a malformed key file is accepted")
		}
	})
}

func TestLoadKeyring_Env(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	want := mustKeyring(t, 7).KeyID()
	dir := t.TempDir()
	getenv := func(name string) string {
		if name == pki.SecretKeyEnv {
			return base64.StdEncoding.EncodeToString(key)
		}
		return ""
	}
	kr, err := pki.LoadKeyring(getenv, dir)
	if err != nil {
		t.Fatal(err)
	}
	if kr.KeyID() != want {
		t.Fatalf("key id %s, want %s", kr.KeyID(), want)
	}
	if _, err := os.Stat(filepath.Join(dir, pki.SecretKeyFile)); !os.IsNotExist(err) {
		t.Fatalf("a key file was created although the environment holds the key: %v", err)
	}
	bad := func(string) string { return "not base64!" }
	if _, err := pki.LoadKeyring(bad, dir); err == nil || !strings.Contains(err.Error(), pki.SecretKeyEnv) {
		t.Fatalf("err = %v, want one naming %s", err, pki.SecretKeyEnv)
	}
}

func TestKeyring_SeveralKeys(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	old, err := pki.NewKeyring(oldKey)
	if err != nil {
		t.Fatal(err)
	}
	aad := []byte("purpose")
	ctOld, oldID := old.Seal([]byte("sealed before"), aad)

	kr, err := pki.NewKeyring(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := kr.KeyIDs(), []string{mustKeyring(t, 2).KeyID(), oldID}; !slices.Equal(got, want) {
		t.Fatalf("KeyIDs = %v, want %v (primary first)", got, want)
	}
	if kr.PrimaryKeyID() == oldID {
		t.Fatal("the older key is primary")
	}
	if got, err := kr.Open(ctOld, oldID, aad); err != nil || string(got) != "sealed before" {
		t.Fatalf("Open of an older key's secret = %q, %v", got, err)
	}
	ct, id := kr.Seal([]byte("sealed after"), aad)
	if id != kr.PrimaryKeyID() {
		t.Fatalf("Seal used key %s, want the primary %s", id, kr.PrimaryKeyID())
	}
	if _, err := old.Open(ct, id, aad); err == nil || !strings.Contains(err.Error(), id) {
		t.Fatalf("the old keyring opens a secret of the new key, or does not name it: %v", err)
	}
	if _, err := pki.NewKeyring(newKey, oldKey, newKey); err == nil || !strings.Contains(err.Error(), "repeats") {
		t.Fatalf("err = %v, want a refusal of a repeated key", err)
	}
}

func mustWriteKeyFile(t *testing.T, dir, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, pki.SecretKeyFile), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func b64(fill byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, 32)) }

func TestLoadKeyring_FileFormat(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string // key ids; nil: an error
		errHas     string
	}{
		{"OneLine", b64(1) + "\n", []string{mustKeyring(t, 1).KeyID()}, ""},
		{"NoNewline", b64(1), []string{mustKeyring(t, 1).KeyID()}, ""},
		{"PrimaryFirst", b64(2) + "\n" + b64(1) + "\n", []string{mustKeyring(t, 2).KeyID(), mustKeyring(t, 1).KeyID()}, ""},
		{"CommentsAndBlanks", "# rotated 2026-11-22\n\n  " + b64(2) + "  \r\n" + b64(1) + "\n\n", []string{mustKeyring(t, 2).KeyID(), mustKeyring(t, 1).KeyID()}, ""},
		{"Empty", "\n# nothing\n", nil, "no secret key"},
		{"BadLine", b64(2) + "\nnot-base64!\n", nil, "line 2"},
		{"ShortKey", b64(2) + "\n" + base64.StdEncoding.EncodeToString([]byte("short")) + "\n", nil, "line 2"},
		{"Repeated", b64(2) + "\n" + b64(2) + "\n", nil, "repeats"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mustWriteKeyFile(t, dir, tc.text)
			kr, err := pki.LoadKeyring(noEnv, dir)
			if tc.want == nil {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("err = %v, want one saying %q", err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := kr.KeyIDs(); !slices.Equal(got, tc.want) {
				t.Fatalf("KeyIDs = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLoadKeyring_EnvSeveralKeys(t *testing.T) {
	getenv := func(v string) func(string) string {
		return func(name string) string {
			if name == pki.SecretKeyEnv {
				return v
			}
			return ""
		}
	}
	kr, err := pki.LoadKeyring(getenv(b64(3)+", "+b64(1)), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := kr.KeyIDs(), []string{mustKeyring(t, 3).KeyID(), mustKeyring(t, 1).KeyID()}; !slices.Equal(got, want) {
		t.Fatalf("KeyIDs = %v, want %v", got, want)
	}
	if _, err := pki.LoadKeyring(getenv(b64(3)+",bad"), t.TempDir()); err == nil || !strings.Contains(err.Error(), "key 2") {
		t.Fatalf("err = %v, want one naming key 2", err)
	}
}

// TestRotateAndRetireKeyFile rotates a key file beside a keyring that a
// running control plane loaded from it: the running keyring opens secrets of
// the new key (re-reading the file) and seals with it from then on.
func TestRotateAndRetireKeyFile(t *testing.T) {
	dir := t.TempDir()
	running, err := pki.LoadKeyring(noEnv, dir)
	if err != nil {
		t.Fatal(err)
	}
	firstID := running.KeyID()
	aad := []byte("purpose")
	ctFirst, _ := running.Seal([]byte("first"), aad)

	newID, err := pki.RotateKeyFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, pki.SecretKeyFile)
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file after rotation: %v, %v; want mode 0600", st, err)
	}
	rotated, err := pki.LoadKeyring(noEnv, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rotated.KeyIDs(), []string{newID, firstID}; !slices.Equal(got, want) {
		t.Fatalf("KeyIDs after rotation = %v, want %v", got, want)
	}
	ctNew, id := rotated.Seal([]byte("second"), aad)
	if got, err := running.Open(ctNew, id, aad); err != nil || string(got) != "second" {
		t.Fatalf("the running keyring opens a secret of the new key: %q, %v", got, err)
	}
	if running.PrimaryKeyID() != newID {
		t.Fatalf("the running keyring seals with %s after meeting the new key, want %s", running.PrimaryKeyID(), newID)
	}

	if _, err := pki.RetireKeys(dir, firstID); dbplane.ErrorKind(err) != dbplane.KindConflict {
		t.Fatalf("RetireKeys keeping the old primary: %v, want a conflict", err)
	}
	retired, err := pki.RetireKeys(dir, newID)
	if err != nil || !slices.Equal(retired, []string{firstID}) {
		t.Fatalf("RetireKeys = %v, %v; want [%s]", retired, err, firstID)
	}
	after, err := pki.LoadKeyring(noEnv, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := after.KeyIDs(); !slices.Equal(got, []string{newID}) {
		t.Fatalf("KeyIDs after retiring = %v, want [%s]", got, newID)
	}
	if _, err := after.Open(ctFirst, firstID, aad); err == nil {
		t.Fatal("a secret of a retired key still opens")
	}
	if got, err := running.Open(ctFirst, firstID, aad); err != nil || string(got) != "first" {
		t.Fatalf("the running keyring forgot a key it sealed with: %q, %v", got, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("%d files in the data directory, want only the key file", len(entries))
	}
	if _, err := pki.RotateKeyFile(t.TempDir()); dbplane.ErrorKind(err) != dbplane.KindNotFound {
		t.Fatalf("rotating without a key file: %v, want not found", err)
	}
}

func TestNewSecretKey(t *testing.T) {
	enc, id, err := pki.NewSecretKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(key) != 32 {
		t.Fatalf("key %q: %v", enc, err)
	}
	kr, err := pki.NewKeyring(key)
	if err != nil || kr.KeyID() != id {
		t.Fatalf("id %s, keyring's %s (%v)", id, kr.KeyID(), err)
	}
}

// TestKeyring_SealFollowsTheKeyFile: a running control plane's keyring
// seals with the new primary key once it sees the key file changed, without
// meeting a secret of that key first.
func TestKeyring_SealFollowsTheKeyFile(t *testing.T) {
	pki.SetKeyFileCheckInterval(t, 0)
	dir := t.TempDir()
	running, err := pki.LoadKeyring(noEnv, dir)
	if err != nil {
		t.Fatal(err)
	}
	oldID := running.KeyID()
	newID, err := pki.RotateKeyFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, id := running.Seal([]byte("x"), nil); id != newID {
		t.Fatalf("sealed with %s after the rotation, want the new primary %s", id, newID)
	}
	if got := running.KeyIDs(); !slices.Equal(got, []string{newID, oldID}) {
		t.Fatalf("KeyIDs = %v, want [%s %s]", got, newID, oldID)
	}
	// A broken file does not stop sealing: the keys known keep working.
	mustWriteKeyFile(t, dir, "broken\n")
	if _, id := running.Seal([]byte("x"), nil); id != newID {
		t.Fatalf("sealed with %s after the file broke, want %s", id, newID)
	}
}
