package tlsconfig_test

import (
	"testing"

	"github.com/dbplane/dbplane/pki"
	"github.com/dbplane/dbplane/pki/tlsconfig"
)

// TestPinFingerprint: only a file of exactly one CA certificate names a CA
// to pin; a bundle, or no certificate, pins nothing.
func TestPinFingerprint(t *testing.T) {
	a, err := pki.NewCA("a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := pki.NewCA("b")
	if err != nil {
		t.Fatal(err)
	}
	if got := tlsconfig.PinFingerprint(a.CertPEM()); got != pki.Fingerprint(a.Cert) {
		t.Errorf("one CA: %q, want its fingerprint", got)
	}
	bundle := append(a.CertPEM(), b.CertPEM()...)
	for name, data := range map[string][]byte{"bundle": bundle, "empty": nil, "garbage": []byte("x")} {
		if got := tlsconfig.PinFingerprint(data); got != "" {
			t.Errorf("%s: %q, want none", name, got)
		}
	}
	if _, ok := tlsconfig.Trusting([]byte("no PEM")); ok {
		t.Error("Trusting accepted a file without certificates")
	}
	if tc, ok := tlsconfig.Trusting(bundle); !ok || tc.RootCAs == nil {
		t.Error("Trusting refused a bundle")
	}
}
