package pki_test

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
