package pki

import (
	"context"
	"fmt"
	"time"

	"github.com/dbplane/dbplane"
)

// DefaultCAName is the common name of the CA that LoadOrCreate creates.
const DefaultCAName = "dbplane CA"

// caKeyAAD binds the encrypted CA key to its purpose: a ciphertext of
// another secret cannot be passed off as the CA key.
var caKeyAAD = []byte("dbplane/ca-key")

// StoredCA is the CA as the metadata store keeps it: the certificate in
// clear, the key encrypted by a Keyring.
type StoredCA struct {
	CertPEM       string
	KeyCiphertext []byte
	KeyID         string
	CreatedAt     time.Time
}

// CAStore keeps the one CA of a control plane. sqlstore.DB implements it.
type CAStore interface {
	// LoadCA returns the stored CA; KindNotFound if there is none yet.
	LoadCA(ctx context.Context) (*StoredCA, error)
	// CreateCA stores the CA; KindConflict if one is stored already.
	CreateCA(ctx context.Context, ca *StoredCA) error
}

// Seal returns the CA in its stored form, its key encrypted by kr.
func (ca *CA) Seal(kr *Keyring) (*StoredCA, error) {
	keyPEM, err := EncodeKeyPEM(ca.key)
	if err != nil {
		return nil, dbplane.E("pki.CA.Seal", err)
	}
	ct, id := kr.Seal(keyPEM, caKeyAAD)
	return &StoredCA{CertPEM: string(ca.certPEM), KeyCiphertext: ct, KeyID: id, CreatedAt: time.Now().UTC()}, nil
}

// OpenCA decrypts a stored CA with kr. It fails when kr holds another key
// than the one the CA key was encrypted with.
func OpenCA(st *StoredCA, kr *Keyring) (*CA, error) {
	const op = "pki.OpenCA"
	keyPEM, err := kr.Open(st.KeyCiphertext, st.KeyID, caKeyAAD)
	if err != nil {
		return nil, dbplane.E(op, fmt.Errorf("while decrypting the CA key: %w", err))
	}
	key, err := ParseKeyPEM(keyPEM)
	if err != nil {
		return nil, dbplane.E(op, fmt.Errorf("while reading the CA key: %w", err))
	}
	cert, err := ParseCertPEM([]byte(st.CertPEM))
	if err != nil {
		return nil, dbplane.E(op, fmt.Errorf("while reading the CA certificate: %w", err))
	}
	ca, err := newCA(cert.Raw, key)
	return ca, dbplane.E(op, err)
}

// ResealCA re-encrypts a stored CA's key under the primary key of box, for
// key rotation, and reports whether it did: a key sealed under the primary
// key already is left alone. The store calls it, so that the CA key's
// additional data stays private to this package.
func ResealCA(st *StoredCA, box dbplane.SecretBox) (bool, error) {
	if st.KeyID == box.PrimaryKeyID() {
		return false, nil
	}
	keyPEM, err := box.Open(st.KeyCiphertext, st.KeyID, caKeyAAD)
	if err != nil {
		return false, dbplane.E("pki.ResealCA", fmt.Errorf("while decrypting the CA key: %w", err))
	}
	st.KeyCiphertext, st.KeyID = box.Seal(keyPEM, caKeyAAD)
	clear(keyPEM)
	return true, nil
}

// LoadOrCreate returns the control plane's CA from store, creating and
// storing a new one on first start. When several control planes start
// together on one store, one creates it and the others load that one.
func LoadOrCreate(ctx context.Context, store CAStore, kr *Keyring) (*CA, error) {
	const op = "pki.LoadOrCreate"
	st, err := store.LoadCA(ctx)
	if err == nil {
		return OpenCA(st, kr)
	}
	if dbplane.ErrorKind(err) != dbplane.KindNotFound {
		return nil, dbplane.E(op, fmt.Errorf("while loading the CA: %w", err))
	}
	ca, err := NewCA(DefaultCAName)
	if err != nil {
		return nil, dbplane.E(op, err)
	}
	if st, err = ca.Seal(kr); err != nil {
		return nil, dbplane.E(op, err)
	}
	err = store.CreateCA(ctx, st)
	if dbplane.ErrorKind(err) == dbplane.KindConflict {
		if st, err = store.LoadCA(ctx); err != nil {
			return nil, dbplane.E(op, fmt.Errorf("while loading the CA another control plane created: %w", err))
		}
		return OpenCA(st, kr)
	} else if err != nil {
		return nil, dbplane.E(op, fmt.Errorf("while storing the new CA: %w", err))
	}
	return ca, nil
}
