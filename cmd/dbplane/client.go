package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/httpapi"
)

// api is what the client commands need from the control plane: the domain
// services plus the catalog. The HTTP client implements it; tests use fakes.
type api interface {
	dbplane.ClusterService
	dbplane.TaskService
	dbplane.HostService
	// IssueToken trades a user's password for a bearer token.
	IssueToken(ctx context.Context, user, password string) (*dbplane.Token, error)
	// Whoami returns the caller's user with its role bindings.
	Whoami(ctx context.Context) (*dbplane.User, error)
	// Catalog lists the engine versions and flavors that can be created.
	Catalog(ctx context.Context) (*dbplane.Catalog, error)
	// CatalogEngines lists the engine versions, of one engine unless "".
	CatalogEngines(ctx context.Context, engine string) ([]dbplane.EngineVersion, error)
	// CatalogFlavors lists the flavors with their settings per engine, for
	// one engine unless "".
	CatalogFlavors(ctx context.Context, engine string) ([]httpapi.FlavorInfo, error)
	// CatalogFlavor returns one flavor with its settings per engine.
	CatalogFlavor(ctx context.Context, code string) (*httpapi.FlavorInfo, error)
}

// connectFunc returns a client of the control plane at server that sends
// token (none when empty) and verifies the server with tlsConfig (the
// system's roots when nil).
type connectFunc func(server, token string, tlsConfig *tls.Config) api

// client returns a client authenticated as the configuration says: the
// configured token, else the token saved by `dbplane login`, else a token
// issued for the configured user and password, else no token (the server
// then answers 401 with a hint to log in).
func (c *cli) client(ctx context.Context) (api, error) {
	token := c.cfg.Token
	if token == "" {
		saved, err := c.savedToken()
		if err != nil {
			return nil, err
		}
		token = saved
	}
	if token == "" && c.cfg.Password != "" {
		anon, err := c.dial("")
		if err != nil {
			return nil, err
		}
		t, err := anon.IssueToken(ctx, c.cfg.User, c.cfg.Password)
		if err != nil {
			return nil, err
		}
		token = t.Secret
	}
	return c.dial(token)
}

// tokenPath is where `dbplane login` saves the token.
func (c *cli) tokenPath() (string, error) {
	p, err := userConfigFile(c.getenv, "token")
	if err != nil {
		return "", fmt.Errorf("while locating the token file: %w", err)
	}
	return p, nil
}

// savedToken returns the token saved by `dbplane login`, or "" if there is
// none.
func (c *cli) savedToken() (string, error) {
	p, err := c.tokenPath()
	if err != nil {
		return "", nil // no home directory: nothing can have been saved
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("while reading the saved token: %w", err)
	}
	return string(bytes.TrimSpace(data)), nil
}

// saveToken writes the token where savedToken finds it, readable by the
// user only. It writes a temporary file and renames it, so a concurrent
// command never reads half a token.
func (c *cli) saveToken(secret string) (string, error) {
	p, err := c.tokenPath()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", fmt.Errorf("while creating the token directory: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".token-*")
	if err != nil {
		return "", fmt.Errorf("while saving the token: %w", err)
	}
	defer os.Remove(f.Name()) // no-op after the rename
	// CreateTemp creates 0600 files today; the token must never be
	// readable by others, so say so rather than rely on it.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return "", fmt.Errorf("while saving the token: %w", err)
	}
	if _, err := f.WriteString(secret + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("while saving the token: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("while saving the token: %w", err)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return "", fmt.Errorf("while saving the token: %w", err)
	}
	return p, nil
}
