package pki

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dbplane/dbplane"
)

// SecretKeyEnv names the environment variable that may hold the secret key,
// base64-encoded. It takes precedence over the key file, so a deployment can
// keep the key out of the data directory.
const SecretKeyEnv = "DBPLANE_SECRET_KEY"

// SecretKeyFile is the name of the key file in the data directory.
const SecretKeyFile = "secret.key"

// secretKeyLen is the length of the key: AES-256.
const secretKeyLen = 32

// Keyring encrypts secrets at rest (the CA key, and later database
// passwords) with AES-256-GCM under one secret key. Every ciphertext is
// stored with the key's id, so a control plane started with another key
// says so instead of failing to authenticate.
type Keyring struct {
	id   string
	aead cipher.AEAD
}

// NewKeyring returns a keyring over a 32-byte key.
func NewKeyring(key []byte) (*Keyring, error) {
	if len(key) != secretKeyLen {
		return nil, dbplane.Errorf(dbplane.KindInvalid, "the secret key has %d bytes, want %d", len(key), secretKeyLen)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, dbplane.E("pki.NewKeyring", err)
	}
	// Random nonces prepended to the ciphertext: the key encrypts few
	// secrets, far below GCM's 2^32 messages per key.
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, dbplane.E("pki.NewKeyring", err)
	}
	return &Keyring{id: keyID(key), aead: aead}, nil
}

// keyID names a key without revealing it: a truncated hash, domain
// separated so it is no hash of the key used anywhere else.
func keyID(key []byte) string {
	sum := sha256.Sum256(append([]byte("dbplane key id\x00"), key...))
	return hex.EncodeToString(sum[:8])
}

// KeyID returns the id of the keyring's key.
func (k *Keyring) KeyID() string { return k.id }

// PrimaryKeyID returns the id of the key Seal uses.
func (k *Keyring) PrimaryKeyID() string { return k.id }

var _ dbplane.SecretBox = (*Keyring)(nil)

// Seal encrypts plaintext. aad binds the ciphertext to its purpose (for
// instance "ca-key"): it must be given again to Open.
func (k *Keyring) Seal(plaintext, aad []byte) (ciphertext []byte, keyID string) {
	return k.aead.Seal(nil, nil, plaintext, aad), k.id
}

// Open decrypts a ciphertext that Seal made with the key named keyID and the
// same aad. A ciphertext of another key, or one altered, is an error.
func (k *Keyring) Open(ciphertext []byte, keyID string, aad []byte) ([]byte, error) {
	const op = "pki.Keyring.Open"
	if keyID != k.id {
		return nil, dbplane.E(op, fmt.Errorf("the secret was encrypted with key %s, but the secret key is %s: "+
			"start with the key file or %s it was created with", keyID, k.id, SecretKeyEnv))
	}
	plain, err := k.aead.Open(nil, nil, ciphertext, aad)
	if err != nil {
		return nil, dbplane.E(op, fmt.Errorf("while decrypting a secret of key %s: %w", keyID, err))
	}
	return plain, nil
}

// LoadKeyring returns the keyring of the secret key: from SecretKeyEnv
// (base64) if getenv has it, else from SecretKeyFile in dataDir, which is
// created with 32 random bytes (mode 0600) if it does not exist. getenv nil
// means os.Getenv.
func LoadKeyring(getenv func(string) string, dataDir string) (*Keyring, error) {
	const op = "pki.LoadKeyring"
	if getenv == nil {
		getenv = os.Getenv
	}
	if v := getenv(SecretKeyEnv); v != "" {
		key, err := decodeKey([]byte(v))
		if err != nil {
			return nil, dbplane.E(op, fmt.Errorf("while reading %s: %w", SecretKeyEnv, err))
		}
		return NewKeyring(key)
	}
	path := filepath.Join(dataDir, SecretKeyFile)
	key, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createKeyFile(path)
	}
	if err != nil {
		return nil, dbplane.E(op, err)
	}
	return NewKeyring(key)
}

func decodeKey(text []byte) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(text)))
	if err != nil {
		return nil, fmt.Errorf("the secret key is not base64: %w", err)
	}
	if len(key) != secretKeyLen {
		return nil, fmt.Errorf("the secret key has %d bytes, want %d", len(key), secretKeyLen)
	}
	return key, nil
}

// readKeyFile reads a key file, refusing one that others may read: a key
// anyone can copy protects nothing.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("while reading %s: %w", path, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is accessible by other users (mode %#o): chmod 600 it", path, st.Mode().Perm())
	}
	text, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("while reading %s: %w", path, err)
	}
	key, err := decodeKey(text)
	if err != nil {
		return nil, fmt.Errorf("while reading %s: %w", path, err)
	}
	return key, nil
}

// createKeyFile writes a new random key to path, unless another process
// creates it first, in which case that key is read. The key is written to a
// temporary file and linked into place, so nobody reads half a key.
func createKeyFile(path string) ([]byte, error) {
	key := make([]byte, secretKeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("while generating the secret key: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("while creating %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".secret-key-*")
	if err != nil {
		return nil, fmt.Errorf("while creating the secret key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = tmp.Chmod(0o600) // CreateTemp makes 0600 files today; do not rely on it
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("while writing the secret key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return readKeyFile(path)
	} else if err != nil {
		return nil, fmt.Errorf("while creating %s: %w", path, err)
	}
	return key, nil
}
