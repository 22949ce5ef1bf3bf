package pki_test

import (
	"crypto/tls"
	"encoding/hex"
	"net"
	"strings"
	"testing"

	"github.com/dbplane/dbplane/pki"
)

// serveTLS accepts TLS connections with cert on a loopback port, completing
// handshakes, until the test ends, and returns the address.
func serveTLS(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	return ln.Addr().String()
}

func dialWith(addr, serverName string, cfg *tls.Config) error {
	cfg = cfg.Clone()
	cfg.ServerName = serverName
	c, err := tls.Dial("tcp", addr, cfg)
	if err == nil {
		c.Close()
	}
	return err
}

func TestIssueServerTLS(t *testing.T) {
	ca := mustCA(t)
	cert, err := ca.IssueServerTLS(pki.APICN, []net.IP{net.ParseIP("127.0.0.1")}, []string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.Certificate) != 2 || cert.Leaf == nil || cert.Leaf.IsCA {
		t.Fatalf("chain of %d certificates, leaf %v; want the server's then the CA's", len(cert.Certificate), cert.Leaf)
	}
	addr := serveTLS(t, cert)
	trusting := &tls.Config{RootCAs: ca.Pool()}
	if err := dialWith(addr, "127.0.0.1", trusting); err != nil {
		t.Fatalf("a client trusting the CA is refused: %v", err)
	}
	if err := dialWith(addr, "localhost", trusting); err != nil {
		t.Fatalf("a client dialing localhost is refused: %v", err)
	}
	if err := dialWith(addr, "127.0.0.1", &tls.Config{}); err == nil {
		t.Fatal("a client without the CA accepts the server")
	}
	if err := dialWith(addr, "127.0.0.1", &tls.Config{RootCAs: mustCA(t).Pool()}); err == nil {
		t.Fatal("a client trusting another CA accepts the server")
	}
	if _, err := ca.IssueServerTLS(pki.ControlPlaneCN, []net.IP{net.ParseIP("127.0.0.1")}, nil); err == nil {
		t.Fatal("a server certificate with the control plane's name is issued")
	}
}

func TestPinnedTLSConfig(t *testing.T) {
	ca := mustCA(t)
	cert, err := ca.IssueServerTLS(pki.APICN, []net.IP{net.ParseIP("127.0.0.1")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, cert)
	pin, err := pki.ParseFingerprint(pki.Fingerprint(ca.Cert))
	if err != nil {
		t.Fatal(err)
	}
	if err := dialWith(addr, "127.0.0.1", pki.PinnedTLSConfig(pin, "127.0.0.1")); err != nil {
		t.Fatalf("the right pin is refused: %v", err)
	}
	t.Run("WrongPin", func(t *testing.T) {
		wrong, _ := pki.ParseFingerprint(pki.Fingerprint(mustCA(t).Cert))
		err := dialWith(addr, "127.0.0.1", pki.PinnedTLSConfig(wrong, "127.0.0.1"))
		if err == nil || !strings.Contains(err.Error(), "no CA of fingerprint "+hex.EncodeToString(wrong)) {
			t.Fatalf("err = %v, want a refusal naming the pin", err)
		}
	})
	t.Run("WrongName", func(t *testing.T) {
		if err := dialWith(addr, "db.example", pki.PinnedTLSConfig(pin, "db.example")); err == nil {
			t.Fatal("a certificate for 127.0.0.1 is accepted for db.example")
		}
	})
	t.Run("OtherAddress", func(t *testing.T) {
		// TLS sends no server name for an IP address: the host dialed must
		// be checked all the same.
		other, err := ca.IssueServerTLS(pki.APICN, []net.IP{net.ParseIP("10.9.9.9")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := dialWith(serveTLS(t, other), "127.0.0.1", pki.PinnedTLSConfig(pin, "127.0.0.1")); err == nil {
			t.Fatal("a certificate for 10.9.9.9 is accepted for 127.0.0.1")
		}
	})
	t.Run("DatabaseCertificateOfTheSameCA", func(t *testing.T) {
		db, err := ca.IssueServerTLS("orders", []net.IP{net.ParseIP("127.0.0.1")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := dialWith(serveTLS(t, db), "127.0.0.1", pki.PinnedTLSConfig(pin, "127.0.0.1")); err == nil {
			t.Fatal("a database server's certificate passes for the control plane")
		}
	})
	t.Run("LeafPinnedInsteadOfCA", func(t *testing.T) {
		leafPin, _ := pki.ParseFingerprint(pki.Fingerprint(cert.Leaf))
		if err := dialWith(addr, "127.0.0.1", pki.PinnedTLSConfig(leafPin, "127.0.0.1")); err == nil {
			t.Fatal("pinning the server's own certificate, which is no CA, is accepted")
		}
	})
	t.Run("ImpostorSendingThePinnedCA", func(t *testing.T) {
		// An impostor can send the real CA's certificate, but cannot make
		// its own certificate chain to it.
		rogue := mustCA(t)
		impostor, err := rogue.IssueServerTLS(pki.APICN, []net.IP{net.ParseIP("127.0.0.1")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		impostor.Certificate = [][]byte{impostor.Certificate[0], ca.Cert.Raw}
		if err := dialWith(serveTLS(t, impostor), "127.0.0.1", pki.PinnedTLSConfig(pin, "127.0.0.1")); err == nil {
			t.Fatal("a certificate of another CA is accepted next to the pinned CA")
		}
	})
	t.Run("ChainWithoutTheCA", func(t *testing.T) {
		alone := cert
		alone.Certificate = alone.Certificate[:1]
		if err := dialWith(serveTLS(t, alone), "127.0.0.1", pki.PinnedTLSConfig(pin, "127.0.0.1")); err == nil {
			t.Fatal("a server that does not send the pinned CA is accepted")
		}
	})
}

func TestParseFingerprint(t *testing.T) {
	ca := mustCA(t)
	fp := pki.Fingerprint(ca.Cert)
	want, _ := hex.DecodeString(fp)
	var colons []string
	for i := 0; i < len(fp); i += 2 {
		colons = append(colons, strings.ToUpper(fp[i:i+2]))
	}
	for _, in := range []string{fp, "sha256:" + fp, "SHA256:" + strings.ToUpper(fp), strings.Join(colons, ":"), " " + fp + "\n"} {
		got, err := pki.ParseFingerprint(in)
		if err != nil || hex.EncodeToString(got) != hex.EncodeToString(want) {
			t.Errorf("ParseFingerprint(%q) = %x, %v; want %s", in, got, err, fp)
		}
	}
	for _, in := range []string{"", "abc", fp[:62], fp + "00", "zz" + fp[2:]} {
		if _, err := pki.ParseFingerprint(in); err == nil {
			t.Errorf("ParseFingerprint(%q) accepted", in)
		}
	}
}
