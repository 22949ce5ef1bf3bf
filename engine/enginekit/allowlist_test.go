package enginekit_test

import (
	"fmt"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

func TestAllowlist(t *testing.T) {
	c := &dbplane.Cluster{Spec: dbplane.ClusterSpec{Allowlist: []string{"10.1.2.3/8", "192.0.2.7", "fd00::1"}}}
	got, err := enginekit.Allowlist(c)
	if want := "[10.0.0.0/8 192.0.2.7/32 fd00::1/128]"; err != nil || fmt.Sprint(got) != want {
		t.Errorf("Allowlist = %v, %v; want %s: prefixes masked, addresses as one-address prefixes", got, err, want)
	}
	for _, bad := range []string{"10.0.0.0/33", "example.org", "fe80::1%eth0"} {
		c.Spec.Allowlist = []string{bad}
		_, err := enginekit.Allowlist(c)
		fields := dbplane.ErrorFields(err)
		if !dbplane.IsPermanent(err) || len(fields) != 1 || fields[0].Field != "allowlist" {
			t.Errorf("%q: err = %v, want a permanent error naming allowlist", bad, err)
		}
	}
}
