package pki

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/dbplane/dbplane"
)

// SecretKeyEnv names the environment variable that may hold the secret
// keys: comma-separated base64 keys, the primary first. It takes precedence
// over the key file, so a deployment can keep the keys out of the data
// directory.
const SecretKeyEnv = "DBPLANE_SECRET_KEY"

// SecretKeyFile is the name of the key file in the data directory: one
// base64 key per line, the primary first.
const SecretKeyFile = "secret.key"

// secretKeyLen is the length of a key: AES-256.
const secretKeyLen = 32

// Keyring encrypts secrets at rest (the CA key, database passwords, access
// keys' secrets) with AES-256-GCM under several keys: the primary key seals,
// and every key opens, so that after a rotation the secrets sealed with an
// older key still open until they are re-sealed. Every ciphertext is stored
// with the id of its key, so a control plane started without that key says
// which one is missing instead of failing to authenticate.
//
// A keyring loaded from a key file re-reads the file when asked to open a
// secret of a key it does not know, and when Seal finds the file changed
// (checking at most once a minute): a rotation run beside a running control
// plane adds the new key to the file, and the running control plane opens
// secrets of it at once and seals with it within a minute.
type Keyring struct {
	mu   sync.RWMutex
	keys []secretKey // the primary first
	// file is where the keys come from; nil when they cannot change (the
	// environment, or keys given to NewKeyring).
	file *keyFileSource
}

// secretKey is one key of a keyring.
type secretKey struct {
	id   string
	aead cipher.AEAD
}

// NewKeyring returns a keyring over 32-byte keys: primary seals, and
// primary and older open.
func NewKeyring(primary []byte, older ...[]byte) (*Keyring, error) {
	keys, err := newSecretKeys(append([][]byte{primary}, older...))
	if err != nil {
		return nil, dbplane.E("pki.NewKeyring", err)
	}
	return &Keyring{keys: keys}, nil
}

// newSecretKeys makes the ciphers of raw keys, refusing a key given twice:
// a repeated line in a key file is a mistake worth hearing about.
func newSecretKeys(raw [][]byte) ([]secretKey, error) {
	if len(raw) == 0 {
		return nil, dbplane.Errorf(dbplane.KindInvalid, "no secret key")
	}
	keys := make([]secretKey, 0, len(raw))
	for i, key := range raw {
		if len(key) != secretKeyLen {
			return nil, dbplane.Errorf(dbplane.KindInvalid, "secret key %d has %d bytes, want %d", i+1, len(key), secretKeyLen)
		}
		id := keyID(key)
		if slices.ContainsFunc(keys, func(k secretKey) bool { return k.id == id }) {
			return nil, dbplane.Errorf(dbplane.KindInvalid, "secret key %d repeats key %s", i+1, id)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		// Random nonces prepended to the ciphertext: a key encrypts few
		// secrets, far below GCM's 2^32 messages per key.
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, err
		}
		keys = append(keys, secretKey{id: id, aead: aead})
	}
	return keys, nil
}

// keyID names a key without revealing it: a truncated hash, domain
// separated so it is no hash of the key used anywhere else. Ciphertexts
// store it, so it must never change.
func keyID(key []byte) string {
	sum := sha256.Sum256(append([]byte("dbplane key id\x00"), key...))
	return hex.EncodeToString(sum[:8])
}

var _ dbplane.SecretBox = (*Keyring)(nil)

// KeyID returns the id of the primary key.
func (k *Keyring) KeyID() string { return k.PrimaryKeyID() }

// PrimaryKeyID returns the id of the key Seal uses.
func (k *Keyring) PrimaryKeyID() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.keys[0].id
}

// KeyIDs returns the ids of every key, the primary first.
func (k *Keyring) KeyIDs() []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	ids := make([]string, len(k.keys))
	for i, key := range k.keys {
		ids[i] = key.id
	}
	return ids
}

// Seal encrypts plaintext with the primary key. aad binds the ciphertext
// to its purpose (for instance "ca-key"): it must be given again to Open.
func (k *Keyring) Seal(plaintext, aad []byte) (ciphertext []byte, keyID string) {
	if k.file != nil && k.file.changed() {
		// A file that fails to read now keeps the keys known: the
		// primary still seals what every key set holding it opens.
		_ = k.refresh()
	}
	k.mu.RLock()
	primary := k.keys[0]
	k.mu.RUnlock()
	return primary.aead.Seal(nil, nil, plaintext, aad), primary.id
}

// Open decrypts a ciphertext that Seal made with the key named keyID and the
// same aad. A ciphertext of a key the keyring lacks, or one altered, is an
// error.
func (k *Keyring) Open(ciphertext []byte, keyID string, aad []byte) ([]byte, error) {
	const op = "pki.Keyring.Open"
	key, ok := k.find(keyID)
	if !ok && k.file != nil {
		if err := k.refresh(); err != nil {
			return nil, dbplane.E(op, fmt.Errorf("while re-reading the secret keys for key %s: %w", keyID, err))
		}
		key, ok = k.find(keyID)
	}
	if !ok {
		return nil, dbplane.E(op, fmt.Errorf("the secret was encrypted with key %s, but the secret keys are %s: "+
			"start with the key file or %s that holds it", keyID, strings.Join(k.KeyIDs(), ", "), SecretKeyEnv))
	}
	plain, err := key.aead.Open(nil, nil, ciphertext, aad)
	if err != nil {
		return nil, dbplane.E(op, fmt.Errorf("while decrypting a secret of key %s: %w", keyID, err))
	}
	return plain, nil
}

func (k *Keyring) find(id string) (secretKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	i := slices.IndexFunc(k.keys, func(key secretKey) bool { return key.id == id })
	if i < 0 {
		return secretKey{}, false
	}
	return k.keys[i], true
}

// refresh re-reads the keys: the source's keys in its order (so its primary
// becomes the primary), then the keys known before that the source no
// longer lists, so that what this process sealed still opens.
func (k *Keyring) refresh() error {
	raw, err := k.file.read()
	if err != nil {
		return err
	}
	keys, err := newSecretKeys(raw)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, old := range k.keys {
		if !slices.ContainsFunc(keys, func(key secretKey) bool { return key.id == old.id }) {
			keys = append(keys, old)
		}
	}
	k.keys = keys
	return nil
}
