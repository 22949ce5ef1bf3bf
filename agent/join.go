package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/httpapi"
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

// Join makes the agent a member of the control plane at controlPlaneURL,
// once: it makes a key and a certificate request, sends the request with
// the one-time join token, the host's facts and the port of its API, and
// saves the key, the signed certificate, the CA certificate and its host
// id in stateDir. An agent that has joined before (after a restart) keeps
// its identity and calls nothing: it returns the saved host id, and token
// may then be empty.
func Join(ctx context.Context, controlPlaneURL, token string, facts dbplane.HostFacts, agentPort int, stateDir string) (int64, error) {
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
	ip := net.ParseIP(facts.Address)
	if ip == nil {
		return 0, dbplane.E(op, dbplane.Invalid(dbplane.FieldError{Field: "facts.address",
			Message: fmt.Sprintf("%q is not an IP address", facts.Address)}))
	}
	keyPEM, csrPEM, err := pki.NewKeyAndCSR(pki.AgentCN(facts.Hostname), []net.IP{ip})
	if err != nil {
		return 0, dbplane.E(op, err)
	}
	resp, err := httpapi.NewClient(controlPlaneURL).Join(ctx, dbplane.JoinRequest{
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
