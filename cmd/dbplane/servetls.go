package main

import (
	"crypto/tls"
	"log/slog"
	"net"

	"github.com/dbplane/dbplane/pki"
	"github.com/dbplane/dbplane/pki/tlsconfig"
)

// CAFileName is the name of the file in the data directory where the
// control plane writes its CA certificate (see tlsconfig.CAFileName).
const CAFileName = tlsconfig.CAFileName

// serverTLS returns the TLS configuration of the API from the
// configuration's certificate keys (see tlsconfig.Server).
func serverTLS(cfg *Config, ca *pki.CA, addr net.Addr, log *slog.Logger) (*tls.Config, error) {
	return tlsconfig.Server(tlsconfig.ServerOptions{
		CertFile: cfg.TLSCertFile, KeyFile: cfg.TLSKeyFile, CA: ca,
		Addr: addr, AdvertiseURL: cfg.AdvertiseURL, DataDir: cfg.DataDir, Log: log,
	})
}
