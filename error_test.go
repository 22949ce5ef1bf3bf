package dbplane_test

import (
	"testing"

	"github.com/dbplane/dbplane"
)

// TestKindHTTPStatusRoundTrip: every kind's status maps back to the kind,
// so a kind survives any HTTP hop even without an error body. A quota error
// shares 422 with unplaceable, so without its code it reads as unplaceable.
func TestKindHTTPStatusRoundTrip(t *testing.T) {
	for k := dbplane.KindInvalid; k <= dbplane.KindTooManyRequests; k++ {
		want := k
		if k == dbplane.KindQuotaExceeded {
			want = dbplane.KindUnplaceable
		}
		if got := dbplane.KindFromHTTPStatus(k.HTTPStatus()); got != want {
			t.Errorf("kind %s -> status %d -> kind %s", k, k.HTTPStatus(), got)
		}
	}
	for status, want := range map[int]dbplane.Kind{418: dbplane.KindInvalid, 502: dbplane.KindUnavailable, 504: dbplane.KindUnavailable} {
		if got := dbplane.KindFromHTTPStatus(status); got != want {
			t.Errorf("status %d -> kind %s; want %s", status, got, want)
		}
	}
}
