package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dbplane/dbplane/pki/tlsconfig"
)

// savedCAName is the file beside the saved token where `dbplane login`
// keeps the CA it verified the server with, so that later commands verify
// it the same way without --ca-file.
const savedCAName = "ca.pem"

// dial returns a client of the configured server that sends token (none
// when empty) and verifies the server as caPEM says.
func (c *cli) dial(token string) (api, error) {
	tc, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	return c.connect(c.cfg.Server, token, tc), nil
}

// tlsConfig returns the TLS configuration that verifies the server: it
// trusts only the CA certificates of caPEM, or the system's roots (nil)
// when there are none.
func (c *cli) tlsConfig() (*tls.Config, error) {
	data, source, err := c.caPEM()
	if err != nil || data == nil {
		return nil, err
	}
	tc, ok := tlsconfig.Trusting(data)
	if !ok {
		return nil, usageErrorf("%s holds no PEM certificate", source)
	}
	return tc, nil
}

// caPEM returns the CA certificates to verify the server with, and where
// they come from: the configured ca_file, else the CA saved by `dbplane
// login`, else none (nil).
func (c *cli) caPEM() (data []byte, source string, err error) {
	if c.cfg.CAFile != "" {
		data, err := os.ReadFile(c.cfg.CAFile)
		if err != nil {
			return nil, "", usageErrorf("cannot read the CA file (ca_file, --ca-file, DBPLANE_CA_FILE): %v", err)
		}
		return data, c.cfg.CAFile, nil
	}
	p, err := c.savedCAPath()
	if err != nil {
		return nil, "", nil // no home directory: nothing can have been saved
	}
	data, err = os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	} else if err != nil {
		return nil, "", fmt.Errorf("while reading the saved CA: %w", err)
	}
	return data, p, nil
}

func (c *cli) savedCAPath() (string, error) {
	p, err := userConfigFile(c.getenv, savedCAName)
	if err != nil {
		return "", fmt.Errorf("while locating the saved CA: %w", err)
	}
	return p, nil
}

// saveCA keeps the CA certificates the login verified the server with
// beside the token, or removes a saved CA when the login used the system's
// roots: the token and the CA always belong to the same server.
func (c *cli) saveCA() (string, error) {
	data, source, err := c.caPEM()
	if err != nil {
		return "", err
	}
	p, err := c.savedCAPath()
	if err != nil {
		return "", err
	}
	switch {
	case data == nil:
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("while removing the saved CA: %w", err)
		}
		return "", nil
	case source == p:
		return p, nil // the saved CA itself
	}
	if err := writeUserFile(p, data, 0o644); err != nil {
		return "", fmt.Errorf("while saving the CA: %w", err)
	}
	return p, nil
}

// caFingerprint returns the SHA-256 fingerprint of the CA the CLI verifies
// the server with, for agents to pin: "" unless that is exactly one CA
// certificate (the system's roots, or a bundle, pin nothing).
func (c *cli) caFingerprint() string {
	data, _, err := c.caPEM()
	if err != nil {
		return ""
	}
	return tlsconfig.PinFingerprint(data)
}

// writeUserFile writes data to p (creating its directory, private to the
// user) through a temporary file renamed into place, so a concurrent
// command never reads half of it.
func writeUserFile(p string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // no-op after the rename
	// CreateTemp creates 0600 files today; say what is wanted rather than
	// rely on it.
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), p)
}
