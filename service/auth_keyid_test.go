package service

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
)

// untouchedStore fails the test on any lookup or lockout bookkeeping; the
// other methods of AuthStore are nil and would panic.
type untouchedStore struct {
	AuthStore
	t *testing.T
}

func (s untouchedStore) AuthLockedUntil(ctx context.Context, subject string, now time.Time) (time.Time, error) {
	s.t.Errorf("AuthLockedUntil(%.40q...) called", subject)
	return time.Time{}, nil
}

func (s untouchedStore) RecordAuthFailure(ctx context.Context, subject string, now time.Time, p dbplane.LockoutPolicy) (time.Time, error) {
	s.t.Errorf("RecordAuthFailure(%.40q...) called", subject)
	return time.Time{}, nil
}

func (s untouchedStore) FindAccessKey(ctx context.Context, id string) (*dbplane.AccessKey, string, error) {
	s.t.Errorf("FindAccessKey(%.40q...) called", id)
	return nil, "", dbplane.Errorf(dbplane.KindNotFound, "no such key")
}

// TestAuth_AuthenticateSignatureMalformedKey checks that an access key id
// that cannot be one of dbplane's gets the usual refusal without reaching
// the store, so that no client can grow the lockout table with subjects
// of its choosing.
func TestAuth_AuthenticateSignatureMalformedKey(t *testing.T) {
	a := &Auth{Store: untouchedStore{t: t}}
	for _, id := range []string{
		"",
		"AKIDEXAMPLE",
		"DBPAKABCDEFGHIJKLMN",   // one short
		"DBPAKABCDEFGHIJKLMNOP", // one long
		"DBPAKABCDEFGHIJKLMN0",  // not base32
		"dbpakabcdefghijklmno",
		"XXXXXABCDEFGHIJKLMNO",
		"DBPAK" + strings.Repeat("A", 100000),
	} {
		p, err := a.AuthenticateSignature(t.Context(), id, func(string) error {
			t.Errorf("verify called for %.40q", id)
			return nil
		})
		if p != nil || dbplane.ErrorKind(err) != dbplane.KindUnauthorized || dbplane.ErrorMessage(err) != "invalid access key or signature" {
			t.Errorf("AuthenticateSignature(%.40q) = %v, %v; want the one unauthorized answer", id, p, err)
		}
	}
}
