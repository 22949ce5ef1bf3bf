package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/dbplane/dbplane/pki"
)

// CAFileName is the name of the file in the data directory where the
// control plane writes its CA certificate at every start, for clients to
// verify the API with (DBPLANE_CA_FILE, --ca-file).
const CAFileName = "ca.pem"

// certCheckInterval is how often the configured certificate files are
// checked for a renewal, at most. A variable for tests.
var certCheckInterval = 10 * time.Second

// apiCertName is the common name of the API's certificate when the
// control plane issues it from its own CA.
const apiCertName = pki.APICN

// serverTLS returns the TLS configuration of the API: the configured
// certificate and key files, re-read when they change so that a renewed
// certificate needs no restart; else a certificate issued by ca for the
// addresses the API is reached at, with ca in its chain.
func serverTLS(cfg *Config, ca *pki.CA, addr net.Addr, log *slog.Logger) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSCertFile != "" {
		files := &certFiles{certFile: cfg.TLSCertFile, keyFile: cfg.TLSKeyFile, log: log, every: certCheckInterval}
		if err := files.load(); err != nil {
			return nil, err
		}
		tc.GetCertificate = files.getCertificate
		log.Info("serving the API with the configured certificate", "tls_cert_file", cfg.TLSCertFile)
		return tc, nil
	}
	ips, dns := apiNames(addr, cfg.AdvertiseURL)
	cert, err := ca.IssueServerTLS(apiCertName, ips, dns)
	if err != nil {
		return nil, fmt.Errorf("while issuing the API's certificate: %w", err)
	}
	tc.Certificates = []tls.Certificate{cert}
	log.Info("no tls_cert_file configured: serving the API with a certificate of the control plane's CA; "+
		"clients verify it with the CA file", "ca_file", filepath.Join(cfg.DataDir, CAFileName),
		"ips", ips, "dns_names", dns)
	return tc, nil
}

// apiNames returns the SANs of a CA-issued API certificate: the listen
// address (every address of the machine when it is unspecified), the
// loopback addresses, localhost, the hostname and the host of the
// advertised URL, if any.
func apiNames(addr net.Addr, advertised string) ([]net.IP, []string) {
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

// apiURL returns the https URL of the API listening at addr, on the
// loopback address when it listens on every address: that one is in the
// CA-issued certificate and reachable from this machine.
func apiURL(addr net.Addr) string {
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

// writeCAFile writes the CA certificate to <dataDir>/ca.pem, readable by
// all (it is public), replacing the file atomically.
func writeCAFile(dataDir string, certPEM []byte) (string, error) {
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

// certFiles serves a certificate and key from PEM files, and re-reads them
// when they change (checking at most once every `every`), so that a renewed
// certificate is served without a restart. A pair that fails to load is
// logged and the previous one kept.
type certFiles struct {
	certFile, keyFile string
	log               *slog.Logger
	every             time.Duration

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string // of the files loaded
	checked time.Time
}

// fileStamp identifies the versions of the files: their sizes and
// modification times.
func (f *certFiles) fileStamp() string {
	s := ""
	for _, name := range []string{f.certFile, f.keyFile} {
		if st, err := os.Stat(name); err == nil {
			s += fmt.Sprintf("%d@%d;", st.Size(), st.ModTime().UnixNano())
		}
	}
	return s
}

// load reads the files. Errors name the configuration keys.
func (f *certFiles) load() error {
	stamp := f.fileStamp()
	cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
	if err != nil {
		return fmt.Errorf("while loading tls_cert_file %s and tls_key_file %s: %w", f.certFile, f.keyFile, err)
	}
	f.cert, f.stamp = &cert, stamp
	return nil
}

func (f *certFiles) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now := time.Now(); now.Sub(f.checked) >= f.every {
		f.checked = now
		if f.fileStamp() != f.stamp {
			old := f.cert
			if err := f.load(); err != nil {
				f.cert = old
				f.log.Warn("keeping the previous API certificate", "err", err)
			} else {
				f.log.Info("loaded the renewed API certificate", "tls_cert_file", f.certFile)
			}
		}
	}
	return f.cert, nil
}
