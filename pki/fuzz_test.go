package pki_test

import (
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/pki"
)

// FuzzParsePEM feeds arbitrary text to the parsers of what agents send and
// store: they never panic, and refuse what they cannot read as invalid
// input, never as an internal error.
func FuzzParsePEM(f *testing.F) {
	keyPEM, csrPEM, err := pki.NewKeyAndCSR(pki.AgentCN("db1"), nil)
	if err != nil {
		f.Fatal(err)
	}
	ca, err := pki.NewCA("fuzz CA")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{keyPEM, csrPEM, ca.CertPEM(), nil, []byte("-----BEGIN CERTIFICATE REQUEST-----\n\n-----END CERTIFICATE REQUEST-----\n")} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(what string, err error) {
			if err != nil && dbplane.ErrorKind(err) != dbplane.KindInvalid {
				t.Fatalf("%s: %v is %v, want invalid", what, err, dbplane.ErrorKind(err))
			}
		}
		_, err := pki.ParseCSRPEM(data)
		check("ParseCSRPEM", err)
		_, err = pki.ParseCertPEM(data)
		check("ParseCertPEM", err)
		_, err = pki.ParseKeyPEM(data)
		check("ParseKeyPEM", err)
		_, err = ca.SignCSR(data, nil, nil, 0)
		check("SignCSR", err)
	})
}
