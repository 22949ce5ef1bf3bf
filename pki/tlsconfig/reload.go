package tlsconfig

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// ReloadingCert serves a certificate and key from PEM files, and re-reads
// them when they change (checking at most once every `every`), so that a
// renewed certificate is served without a restart. A pair that fails to
// load is logged and the previous one kept.
type ReloadingCert struct {
	certFile, keyFile string
	log               *slog.Logger
	every             time.Duration

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string // of the files loaded
	checked time.Time
}

// NewReloadingCert loads the pair of files, failing if it does not load:
// at start there is no previous certificate to keep.
func NewReloadingCert(certFile, keyFile string, every time.Duration, log *slog.Logger) (*ReloadingCert, error) {
	f := &ReloadingCert{certFile: certFile, keyFile: keyFile, log: log, every: every}
	if err := f.load(); err != nil {
		return nil, err
	}
	return f, nil
}

// fileStamp identifies the versions of the files: their sizes and
// modification times.
func (f *ReloadingCert) fileStamp() string {
	s := ""
	for _, name := range []string{f.certFile, f.keyFile} {
		if st, err := os.Stat(name); err == nil {
			s += fmt.Sprintf("%d@%d;", st.Size(), st.ModTime().UnixNano())
		}
	}
	return s
}

// load reads the files. Errors name the configuration keys.
func (f *ReloadingCert) load() error {
	stamp := f.fileStamp()
	cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
	if err != nil {
		return fmt.Errorf("while loading tls_cert_file %s and tls_key_file %s: %w", f.certFile, f.keyFile, err)
	}
	f.cert, f.stamp = &cert, stamp
	return nil
}

// GetCertificate is a tls.Config.GetCertificate: it returns the current
// certificate, re-reading the files first if they changed.
func (f *ReloadingCert) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
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
