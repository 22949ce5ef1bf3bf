package agentclient

import (
	"context"
	"net/http"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/agent/wire"
)

// PackageResolver returns the uploaded package of a file name.
// KindInvalid if there is none.
type PackageResolver func(ctx context.Context, fileName string) (dbplane.PackageFile, error)

// SetPackageResolver has the dialer's clients resolve the package files
// EnsurePackages is given with r. Call it before the first Agent call.
func (d *Dialer) SetPackageResolver(r PackageResolver) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.files = r
}

// resolve splits packages into OS package names and uploaded files.
func (c *Client) resolve(ctx context.Context, packages []string) ([]string, []dbplane.PackageFile, error) {
	var (
		names []string
		files []dbplane.PackageFile
	)
	for _, p := range packages {
		if _, ok := dbplane.PackageFormatOf(p); !ok {
			names = append(names, p)
			continue
		}
		if c.files == nil {
			return nil, nil, dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid,
				"package file %s cannot be installed: this control plane has no package store", p))
		}
		f, err := c.files(ctx, p)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, f)
	}
	return names, files, nil
}

// EnsurePackageFiles installs uploaded package files whose package is not
// installed at their version.
func (c *Client) EnsurePackageFiles(ctx context.Context, files []dbplane.PackageFile) error {
	return c.do(ctx, http.MethodPost, wire.PathEnsurePackages, wire.EnsurePackagesRequest{Files: files}, nil)
}

// Interface guard: the control plane installs files through the client,
// which the agent's Host serves.
var _ dbplane.PackageFileInstaller = (*Client)(nil)
