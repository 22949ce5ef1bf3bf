package pki_test

import (
	"context"
	"sync"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/pki"
)

// memStore is a CAStore in memory. before, if set, runs at the start of
// CreateCA, to stage a race with another control plane.
type memStore struct {
	mu     sync.Mutex
	ca     *pki.StoredCA
	before func()
}

func (m *memStore) LoadCA(context.Context) (*pki.StoredCA, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ca == nil {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "no CA")
	}
	cp := *m.ca
	return &cp, nil
}

func (m *memStore) CreateCA(_ context.Context, ca *pki.StoredCA) error {
	if m.before != nil {
		m.before()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ca != nil {
		return dbplane.Errorf(dbplane.KindConflict, "a CA exists")
	}
	m.ca = ca
	return nil
}

func TestLoadOrCreate(t *testing.T) {
	ctx := context.Background()
	kr := mustKeyring(t, 1)
	store := &memStore{}
	ca, err := pki.LoadOrCreate(ctx, store, kr)
	if err != nil {
		t.Fatal(err)
	}
	if store.ca == nil || store.ca.KeyID != kr.KeyID() {
		t.Fatalf("stored CA = %+v, want one encrypted with key %s", store.ca, kr.KeyID())
	}
	if len(store.ca.KeyCiphertext) == 0 || string(store.ca.KeyCiphertext[:5]) == "-----" {
		t.Fatal("the CA key is stored in clear")
	}

	again, err := pki.LoadOrCreate(ctx, store, kr)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cert.Equal(ca.Cert) {
		t.Fatal("the second start made a new CA")
	}
	// The loaded CA signs with the stored key: its certificates verify
	// against the first CA.
	c, err := again.IssueControlPlaneCert()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Leaf.CheckSignatureFrom(ca.Cert); err != nil {
		t.Fatalf("the loaded CA signs with another key: %v", err)
	}

	t.Run("WrongKey", func(t *testing.T) {
		_, err := pki.LoadOrCreate(ctx, store, mustKeyring(t, 2))
		if err == nil {
			t.Fatal("the CA opens with another secret key")
		}
	})
}

// TestLoadOrCreate_Race has another control plane store its CA between
// this one's lookup and insert: this one then uses that CA.
func TestLoadOrCreate_Race(t *testing.T) {
	ctx := context.Background()
	kr := mustKeyring(t, 1)
	other, err := pki.NewCA("other")
	if err != nil {
		t.Fatal(err)
	}
	store := &memStore{}
	store.before = func() {
		st, err := other.Seal(kr)
		if err != nil {
			t.Error(err)
			return
		}
		store.before = nil
		store.CreateCA(ctx, st)
	}
	ca, err := pki.LoadOrCreate(ctx, store, kr)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.Cert.Equal(other.Cert) {
		t.Fatalf("got CA %q, want the one stored first", ca.Cert.Subject.CommonName)
	}
}
