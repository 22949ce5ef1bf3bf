// Package tlsconfig builds the TLS configurations that sit on top of the
// control plane's CA (package pki): the API server's, whose configured
// certificate is re-read when it is renewed, and the client's, which trusts
// a CA file and can name the one CA an agent is to pin. It lives beside pki
// rather than in it so that the CA stays free of files, logging and
// listen addresses.
package tlsconfig

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/dbplane/dbplane/pki"
)

// CAFileName is the name of the file in the data directory where the
// control plane writes its CA certificate at every start, for clients to
// verify the API with (DBPLANE_CA_FILE, --ca-file).
const CAFileName = "ca.pem"

// CertCheckInterval is how often configured certificate files are checked
// for a renewal, at most. A variable so that tests need not wait.
var CertCheckInterval = 10 * time.Second

// ServerOptions says how the API's certificate is chosen.
type ServerOptions struct {
	// CertFile and KeyFile, when CertFile is set, are the certificate and
	// key to serve (tls_cert_file, tls_key_file).
	CertFile, KeyFile string
	// CA issues the certificate when no CertFile is set.
	CA *pki.CA
	// Addr is the address the API listens at, and AdvertiseURL the one
	// clients are told to use: both are named in an issued certificate.
	Addr         net.Addr
	AdvertiseURL string
	// DataDir is where the CA file is written, for the log.
	DataDir string
	Log     *slog.Logger
}

// Server returns the TLS configuration of the API: the configured
// certificate and key files, re-read when they change so that a renewed
// certificate needs no restart; else a certificate issued by the CA for the
// addresses the API is reached at, with the CA in its chain.
func Server(o ServerOptions) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CertFile != "" {
		files, err := NewReloadingCert(o.CertFile, o.KeyFile, CertCheckInterval, o.Log)
		if err != nil {
			return nil, err
		}
		tc.GetCertificate = files.GetCertificate
		o.Log.Info("serving the API with the configured certificate", "tls_cert_file", o.CertFile)
		return tc, nil
	}
	ips, dns := APINames(o.Addr, o.AdvertiseURL)
	cert, err := o.CA.IssueServerTLS(pki.APICN, ips, dns)
	if err != nil {
		return nil, fmt.Errorf("while issuing the API's certificate: %w", err)
	}
	tc.Certificates = []tls.Certificate{cert}
	o.Log.Info("no tls_cert_file configured: serving the API with a certificate of the control plane's CA; "+
		"clients verify it with the CA file", "ca_file", filepath.Join(o.DataDir, CAFileName),
		"ips", ips, "dns_names", dns)
	return tc, nil
}

// APINames returns the SANs of a CA-issued API certificate: the listen
// address (every address of the machine when it is unspecified), the
// loopback addresses, localhost, the hostname and the host of the
// advertised URL, if any.
func APINames(addr net.Addr, advertised string) ([]net.IP, []string) {
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	add := func(ip net.IP) {
		if ip != nil && !slices.ContainsFunc(ips, ip.Equal) {
			ips = append(ips, ip)
		}
	}
	if tcp, ok := addr.(*net.TCPAddr); ok {
		if tcp.IP.IsUnspecified() {
			addrs, _ := net.InterfaceAddrs() // none found: loopback and names still work
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok && !n.IP.IsLinkLocalUnicast() {
					add(n.IP)
				}
			}
		} else {
			add(tcp.IP)
		}
	}
	dns := []string{"localhost"}
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
		dns = append(dns, h)
	}
	if u, err := url.Parse(advertised); err == nil && u.Hostname() != "" {
		if ip := net.ParseIP(u.Hostname()); ip != nil {
			add(ip)
		} else if !slices.Contains(dns, u.Hostname()) {
			dns = append(dns, u.Hostname())
		}
	}
	return ips, dns
}

// APIURL returns the https URL of the API listening at addr, on the
// loopback address when it listens on every address: that one is in the
// CA-issued certificate and reachable from this machine.
func APIURL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "https://" + addr.String()
	}
	ip := tcp.IP
	if ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
		if tcp.IP.To4() == nil {
			ip = net.IPv6loopback
		}
	}
	return "https://" + net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}

// WriteCAFile writes the CA certificate to <dataDir>/ca.pem, readable by
// all (it is public), replacing the file atomically.
func WriteCAFile(dataDir string, certPEM []byte) (string, error) {
	path := filepath.Join(dataDir, CAFileName)
	tmp, err := os.CreateTemp(dataDir, ".ca.pem-*")
	if err != nil {
		return "", fmt.Errorf("while writing the CA certificate: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	_, err = tmp.Write(certPEM)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return "", fmt.Errorf("while writing the CA certificate to %s: %w", path, err)
	}
	return path, nil
}
