package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/httpapi"
	"github.com/google/go-cmp/cmp"
)

// TestIssueTokenBounds checks that POST /v1/auth/token refuses an overlong
// user or password with a 400 naming the field, before the service looks
// anything up or counts a failure under the name; the longest allowed
// pass through.
func TestIssueTokenBounds(t *testing.T) {
	e := newEnv(t)
	var calls int
	e.auth.IssueTokenFn = func(ctx context.Context, user, password string) (*dbplane.Token, error) {
		calls++
		return nil, dbplane.Errorf(dbplane.KindUnauthorized, "invalid user or password")
	}
	anon := httpapi.NewClient(e.ts.URL)
	long := func(n int) string { return strings.Repeat("x", n) }
	for _, tc := range []struct {
		name, user, password string
		want                 []dbplane.FieldError
	}{
		{"LongUser", long(65), "pw", []dbplane.FieldError{{Field: "user", Message: "must be at most 64 characters long"}}},
		{"HugeUser", long(1 << 16), "pw", []dbplane.FieldError{{Field: "user", Message: "must be at most 64 characters long"}}},
		{"LongPassword", "alice", long(257), []dbplane.FieldError{{Field: "password", Message: "must be at most 256 characters long"}}},
		{"LongPasswordRunes", "alice", strings.Repeat("é", 257), []dbplane.FieldError{{Field: "password", Message: "must be at most 256 characters long"}}},
		{"Both", long(65), long(257), []dbplane.FieldError{
			{Field: "user", Message: "must be at most 64 characters long"},
			{Field: "password", Message: "must be at most 256 characters long"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := anon.IssueToken(t.Context(), tc.user, tc.password)
			de := mustKind(t, err, dbplane.KindInvalid)
			if diff := cmp.Diff(tc.want, de.Fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if strings.Contains(de.Message, tc.password) {
				t.Errorf("message %q quotes the password", de.Message)
			}
		})
	}
	if calls != 0 {
		t.Fatalf("the service was asked %d times about refused requests", calls)
	}
	// Multi-byte characters count as one: 256 of them are a password.
	_, err := anon.IssueToken(t.Context(), long(64), strings.Repeat("é", 256))
	mustKind(t, err, dbplane.KindUnauthorized)
	if calls != 1 {
		t.Fatalf("the longest allowed user and password reached the service %d times, want 1", calls)
	}
}
