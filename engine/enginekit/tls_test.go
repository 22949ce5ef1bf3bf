package enginekit

import (
	"context"
	"net"
	"testing"

	"github.com/dbplane/dbplane"
)

// fakeCA issues fixed PEMs and records the names it was asked for.
type fakeCA struct {
	cn    string
	ips   []net.IP
	names []string
}

func (c *fakeCA) IssueServerCert(cn string, ips []net.IP, names []string) ([]byte, []byte, error) {
	c.cn, c.ips, c.names = cn, ips, names
	return []byte("cert"), []byte("key"), nil
}

func (c *fakeCA) CertPEM() []byte { return []byte("ca") }

func TestWriteTLS(t *testing.T) {
	ctx := context.Background()
	s, a := testStep(t)
	h := testHost()
	if err := h.WriteTLS(ctx, s); err != nil || len(a.Files) != 0 {
		t.Fatalf("SSL off: %v, files %v; want none", err, a.Files)
	}
	s.Cluster.Spec.SSL = true
	if err := h.WriteTLS(ctx, s); !dbplane.IsPermanent(err) || dbplane.ErrorKind(err) != dbplane.KindInvalid {
		t.Fatalf("no CA: %v; want a permanent invalid error", err)
	}
	ca := &fakeCA{}
	s.Deps.CA = ca
	if err := h.WriteTLS(ctx, s); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"/c": "cert", "/k": "key", "/ca": "ca"} {
		if got := a.File(t, p); got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	if ca.cn != "solo" || len(ca.ips) != 1 || !ca.ips[0].Equal(net.ParseIP("10.0.0.1")) || ca.names != nil {
		t.Errorf("issued for %q, %v, %v; want solo and 10.0.0.1", ca.cn, ca.ips, ca.names)
	}
}

func TestSANs(t *testing.T) {
	if ips, names := SANs("fd00::1"); len(ips) != 1 || names != nil {
		t.Errorf("SANs(fd00::1) = %v, %v", ips, names)
	}
	if ips, names := SANs("db1.example"); ips != nil || len(names) != 1 || names[0] != "db1.example" {
		t.Errorf("SANs(db1.example) = %v, %v", ips, names)
	}
}
