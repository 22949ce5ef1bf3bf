package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/pki"
)

// The agent's identity, in its state directory: the key it made (never sent
// anywhere), the certificate the control plane's CA signed for it, the CA
// certificate, and the id of its host. hostIDFile is written last, so its
// presence marks a complete identity.
const (
	keyFile    = "key.pem"
	certFile   = "cert.pem"
	caFile     = "ca.pem"
	hostIDFile = "host_id"
)

// JoinTrust says how Join verifies the control plane before it sends the
// join token: an impostor that got the token could join in the agent's
// place, and hand the agent its own CA.
type JoinTrust struct {
	// CASHA256 pins the control plane's CA by the SHA-256 fingerprint of
	// its certificate, in hex (see pki.ParseFingerprint): the control
	// plane's TLS chain must hold that CA, and its certificate must chain
	// to it. `dbplane host join-token create` prints it.
	CASHA256 string
	// CAPEM holds the CA certificates to verify the control plane with
	// instead, for one serving a certificate of another CA.
	CAPEM []byte
	// InsecureSkipVerify accepts any server. Only for tests and labs.
	InsecureSkipVerify bool
}

// tlsConfig returns the TLS configuration that verifies the control plane
// as t says. Exactly one way must be chosen.
func (t JoinTrust) tlsConfig(host string) (*tls.Config, error) {
	n := 0
	for _, set := range []bool{t.CASHA256 != "", len(t.CAPEM) > 0, t.InsecureSkipVerify} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		return nil, dbplane.Errorf(dbplane.KindInvalid, "the control plane's CA is not pinned: "+
			"give its fingerprint with --ca-sha256 (dbplane host join-token create prints it) or a CA file with --ca-file")
	case n > 1:
		return nil, dbplane.Errorf(dbplane.KindInvalid, "give one of --ca-sha256, --ca-file and --insecure-skip-ca-pin")
	case t.CASHA256 != "":
		pin, err := pki.ParseFingerprint(t.CASHA256)
		if err != nil {
			return nil, err
		}
		return pki.PinnedTLSConfig(pin, host), nil
	case len(t.CAPEM) > 0:
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(t.CAPEM) {
			return nil, dbplane.Invalid(dbplane.FieldError{Field: "ca_file", Message: "holds no PEM certificate"})
		}
		return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}, nil
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}, nil
}

// Joiner sends an agent's join request to the control plane. The host side
// does not import the control plane's API to do so: cmd/dbplane wires the
// native API's client (httpapi.Client), so the agent depends on the root's
// types only.
type Joiner interface {
	Join(ctx context.Context, req dbplane.JoinRequest) (*dbplane.JoinResponse, error)
}

// NewJoiner returns the Joiner that reaches the control plane at
// controlPlaneURL over hc. Join builds hc itself, and only once it must
// call: the TLS configuration in hc verifies the control plane as the
// JoinTrust says, and an agent that has joined before calls nothing.
type NewJoiner func(controlPlaneURL string, hc *http.Client) Joiner

// joinTimeout bounds a join: it is a single quick call.
const joinTimeout = 30 * time.Second

// Join makes the agent a member of the control plane at controlPlaneURL
// (https://…), once: it makes a key and a certificate request, verifies the
// control plane as trust says, sends it the request with the one-time join
// token, the host's facts and the port of its API, and saves the key, the
// signed certificate, the CA certificate and its host id in stateDir. An
// agent that has joined before (after a restart) keeps its identity and
// calls nothing: it returns the saved host id, and token and trust may then
// be empty. newJoiner makes the client that sends the request.
func Join(ctx context.Context, newJoiner NewJoiner, controlPlaneURL, token string, trust JoinTrust, facts dbplane.HostFacts, agentPort int, stateDir string) (int64, error) {
	const op = "agent.Join"
	if cert, _, id, err := LoadIdentity(stateDir); err == nil {
		if err := coversAddress(cert.Leaf, facts.Address, stateDir); err != nil {
			return 0, dbplane.E(op, err)
		}
		return id, nil
	} else if dbplane.ErrorKind(err) != dbplane.KindNotFound {
		return 0, dbplane.E(op, err)
	}
	if token == "" {
		return 0, dbplane.E(op, dbplane.Errorf(dbplane.KindInvalid,
			"the agent has not joined a control plane yet: a join token is required (dbplane host join-token create)"))
	}
	u, err := url.Parse(controlPlaneURL)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		return 0, dbplane.E(op, dbplane.Invalid(dbplane.FieldError{Field: "join",
			Message: fmt.Sprintf("must be the control plane's https:// URL, so the join token does not travel in clear; got %q", controlPlaneURL)}))
	}
	tlsCfg, err := trust.tlsConfig(u.Hostname())
	if err != nil {
		return 0, dbplane.E(op, err)
	}
	ip := net.ParseIP(facts.Address)
	if ip == nil {
		return 0, dbplane.E(op, dbplane.Invalid(dbplane.FieldError{Field: "facts.address",
			Message: fmt.Sprintf("%q is not an IP address", facts.Address)}))
	}
	keyPEM, csrPEM, err := pki.NewKeyAndCSR(pki.AgentCN(facts.Hostname), []net.IP{ip})
	if err != nil {
		return 0, dbplane.E(op, err)
	}
	client := newJoiner(controlPlaneURL, &http.Client{Timeout: joinTimeout, Transport: &http.Transport{
		TLSClientConfig: tlsCfg, TLSHandshakeTimeout: 10 * time.Second, Proxy: http.ProxyFromEnvironment}})
	resp, err := client.Join(ctx, dbplane.JoinRequest{
		Token: token, CSR: string(csrPEM), Facts: facts, AgentPort: agentPort,
	})
	if err != nil {
		return 0, dbplane.E(op, err)
	}
	if err := saveIdentity(stateDir, keyPEM, resp); err != nil {
		return 0, dbplane.E(op, err)
	}
	return resp.HostID, nil
}

// coversAddress refuses a saved certificate that does not name the address
// the agent now serves on: the control plane would refuse its TLS
// handshakes, which is far harder to diagnose than this.
func coversAddress(cert *x509.Certificate, address, stateDir string) error {
	if address == "" || cert.VerifyHostname(address) == nil {
		return nil
	}
	var ips []string
	for _, ip := range cert.IPAddresses {
		ips = append(ips, ip.String())
	}
	return dbplane.Errorf(dbplane.KindInvalid, "the agent's certificate in %s is for %s, not %s: "+
		"to change the address, delete the host, remove %s and join again with a new token",
		stateDir, strings.Join(ips, ", "), address, stateDir)
}

// saveIdentity writes the identity files, each atomically, the host id
// last. The key is readable by the agent's user only.
func saveIdentity(stateDir string, keyPEM []byte, resp *dbplane.JoinResponse) error {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return fmt.Errorf("while creating the state directory: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{keyFile, keyPEM, 0o600},
		{certFile, []byte(resp.Certificate), 0o644},
		{caFile, []byte(resp.CA), 0o644},
		{hostIDFile, []byte(strconv.FormatInt(resp.HostID, 10) + "\n"), 0o644},
	} {
		if err := writeFileAtomic(filepath.Join(stateDir, f.name), f.data, f.mode); err != nil {
			return fmt.Errorf("while saving the agent's identity: %w", err)
		}
	}
	return nil
}

// writeFileAtomic writes data to a temporary file with mode and renames it
// over path, so a crash leaves the old file or the new one.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// LoadIdentity reads the identity Join saved in stateDir: the agent's
// certificate and key, a pool of the CA certificate, and its host id.
// KindNotFound if the agent has not joined (or its identity is
// incomplete: a join that crashed halfway must be done again).
func LoadIdentity(stateDir string) (tls.Certificate, *x509.CertPool, int64, error) {
	const op = "agent.LoadIdentity"
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(stateDir, name)) }
	idText, err := read(hostIDFile)
	if errors.Is(err, fs.ErrNotExist) {
		return tls.Certificate{}, nil, 0, dbplane.E(op, dbplane.Errorf(dbplane.KindNotFound,
			"the agent has not joined a control plane: no %s in %s", hostIDFile, stateDir))
	} else if err != nil {
		return tls.Certificate{}, nil, 0, dbplane.E(op, fmt.Errorf("while reading the host id: %w", err))
	}
	hostID, err := strconv.ParseInt(strings.TrimSpace(string(idText)), 10, 64)
	if err != nil || hostID <= 0 {
		return tls.Certificate{}, nil, 0, dbplane.E(op, fmt.Errorf("%s holds no host id: %q", hostIDFile, idText))
	}
	files := map[string][]byte{}
	for _, name := range []string{keyFile, certFile, caFile} {
		if files[name], err = read(name); errors.Is(err, fs.ErrNotExist) {
			return tls.Certificate{}, nil, 0, dbplane.E(op, dbplane.Errorf(dbplane.KindNotFound,
				"the agent's identity in %s is incomplete: %s is missing", stateDir, name))
		} else if err != nil {
			return tls.Certificate{}, nil, 0, dbplane.E(op, fmt.Errorf("while reading %s: %w", name, err))
		}
	}
	cert, err := tls.X509KeyPair(files[certFile], files[keyFile])
	if err != nil {
		return tls.Certificate{}, nil, 0, dbplane.E(op, fmt.Errorf("while loading the agent's certificate: %w", err))
	}
	if cert.Leaf == nil { // X509KeyPair sets it unless GODEBUG says otherwise
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return tls.Certificate{}, nil, 0, dbplane.E(op, fmt.Errorf("while parsing the agent's certificate: %w", err))
		}
	}
	ca, err := pki.ParseCertPEM(files[caFile])
	if err != nil {
		return tls.Certificate{}, nil, 0, dbplane.E(op, fmt.Errorf("while loading the CA certificate: %w", err))
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return cert, pool, hostID, nil
}
