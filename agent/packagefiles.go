package agent

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/agent/wire"
)

// Uploaded package files: the control plane's catalog may name package
// files uploaded to it (see dbplane.SoftwarePackage) instead of packages
// of the OS's repositories, so that air-gapped hosts need no repository.
// The control plane resolves a file name to its digest (agentclient.PackageResolver);
// the agent fetches the file from the control plane over mTLS with its own
// certificate (PackageSource), verifies the digest, keeps it in its cache
// by digest, and installs it with apt under the dpkg lock.

// Interface guard: the control plane installs files through the client
// (agentclient.Client), which the agent's Host serves.
var _ dbplane.PackageFileInstaller = (*Host)(nil)

// ensurePackages serves ensure-packages: OS packages first, since uploaded
// files may depend on them, then the files.
func (s *Server) ensurePackages(ctx context.Context, req wire.EnsurePackagesRequest) error {
	if len(req.Packages) > 0 || len(req.Files) == 0 {
		if err := s.host.EnsurePackages(ctx, req.Packages); err != nil {
			return err
		}
	}
	if len(req.Files) == 0 {
		return nil
	}
	fi, ok := s.host.(dbplane.PackageFileInstaller)
	if !ok {
		return dbplane.Permanent(dbplane.Errorf(dbplane.KindUnsupported, "this agent cannot install package files"))
	}
	return fi.EnsurePackageFiles(ctx, req.Files)
}

// PackageSource fetches uploaded package files from the control plane.
type PackageSource struct {
	baseURL string
	hc      *http.Client
}

// NewPackageSource returns a source of the control plane at baseURL
// (https://…) that presents the agent's certificate and trusts roots.
func NewPackageSource(baseURL string, cert tls.Certificate, roots *x509.CertPool) *PackageSource {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &PackageSource{baseURL: strings.TrimRight(baseURL, "/"), hc: &http.Client{Transport: &http.Transport{
		DialContext:         d.DialContext,
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, RootCAs: roots},
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
		Proxy:               http.ProxyFromEnvironment,
	}}}
}

// SetPackageSource sets where the host fetches uploaded package files.
// Call it before serving.
func (h *Host) SetPackageSource(src *PackageSource) {
	h.pkgs.source = src
}

var (
	digestRE  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	versionRE = regexp.MustCompile(`^[A-Za-z0-9.+~:_-]{1,128}$`)
)

// fetchTimeout bounds one download from the control plane.
const fetchTimeout = 30 * time.Minute

// EnsurePackageFiles installs the uploaded package files whose package is
// not installed at their version: fetched from the control plane (or the
// cache of earlier fetches), checked against their SHA-256, installed with
// apt, which takes their dependencies from the host's package sources. This
// host installs with dpkg: an .rpm is a permanent error.
func (h *Host) EnsurePackageFiles(ctx context.Context, files []dbplane.PackageFile) error {
	const op = "agent.EnsurePackageFiles"
	for i, f := range files {
		field := fmt.Sprintf("files[%d]", i)
		switch {
		case !dbplane.ValidPackageFileName(f.FileName) || !digestRE.MatchString(f.SHA256) || !pkgNameRE.MatchString(f.Name) ||
			!versionRE.MatchString(f.Version) || f.Size < 0:
			return dbplane.E(op, dbplane.Permanent(dbplane.Invalid(dbplane.FieldError{Field: field,
				Message: fmt.Sprintf("%q is not a valid package file reference", f.FileName)})))
		case f.Format == dbplane.PackageRPM || strings.HasSuffix(f.FileName, ".rpm"):
			return dbplane.E(op, dbplane.Permanent(dbplane.Invalid(dbplane.FieldError{Field: field, Message: fmt.Sprintf(
				"%s is an RPM package, but this host installs packages with dpkg (Debian): upload a .deb instead", f.FileName)})))
		}
	}
	if len(files) == 0 {
		return nil
	}
	select {
	case h.pkgs.lock <- struct{}{}:
		defer func() { <-h.pkgs.lock }()
	case <-ctx.Done():
		return dbplane.E(op, ctx.Err())
	}
	cache := filepath.Join(h.cfg.StateDir, packageCacheDir)
	for _, f := range files {
		if err := h.pkgs.ensureFile(ctx, cache, f); err != nil {
			return dbplane.E(op, err)
		}
	}
	return nil
}

// packageCacheDir holds fetched package files in the state directory, by
// digest: a retried or repeated install does not fetch again.
const packageCacheDir = "packages"

// ensureFile installs one file unless its package is installed at its
// version; the caller holds the lock.
func (p *packager) ensureFile(ctx context.Context, cache string, f dbplane.PackageFile) error {
	if v, err := installedVersion(ctx, f.Name); err != nil {
		return err
	} else if v == f.Version {
		return nil
	}
	path, err := p.cached(ctx, cache, f)
	if err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), aptTimeout)
	defer cancel()
	p.log.Info("installing an uploaded package", "file", f.FileName, "sha256", f.SHA256)
	restore := holdServices(p.log)
	defer restore()
	// apt-get takes a path for a local file (it must contain a slash) and
	// installs its dependencies from the package sources, which plain
	// dpkg -i would not.
	out, err := aptInstall(actx, []string{path})
	if err != nil && p.repair(actx, out) {
		out, err = aptInstall(actx, []string{path})
	}
	if err != nil {
		return &dbplane.Error{Kind: dbplane.KindUnavailable,
			Message: fmt.Sprintf("installing %s failed: %s", f.FileName, aptErrors(out)), Err: err}
	}
	if v, err := installedVersion(ctx, f.Name); err != nil {
		return err
	} else if v != f.Version {
		return dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid,
			"after installing %s, package %s is at version %q, not %q", f.FileName, f.Name, v, f.Version))
	}
	return nil
}

// installedVersion returns the version of an installed package, or "".
func installedVersion(ctx context.Context, name string) (string, error) {
	out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f=${Status}\t${Version}\n", name).Output()
	if err != nil {
		if _, ok := err.(*exec.ExitError); ok {
			return "", nil // not known to dpkg
		}
		return "", fmt.Errorf("while asking dpkg about %s: %w", name, err)
	}
	for line := range strings.Lines(string(out)) {
		status, version, _ := strings.Cut(strings.TrimRight(line, "\n"), "\t")
		if installed(status) {
			return version, nil
		}
	}
	return "", nil
}

// cached returns the path of f in the cache, fetching it first unless a
// file of its digest is there.
func (p *packager) cached(ctx context.Context, cache string, f dbplane.PackageFile) (string, error) {
	path := filepath.Join(cache, f.SHA256+"."+string(dbplane.PackageDeb))
	if sum, err := fileSHA256(path); err == nil && sum == f.SHA256 {
		return path, nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if p.source == nil {
		return "", dbplane.Permanent(dbplane.Errorf(dbplane.KindUnavailable,
			"package file %s cannot be fetched: this agent does not know the control plane's URL", f.FileName))
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", fmt.Errorf("while creating the package cache: %w", err)
	}
	p.log.Info("fetching an uploaded package from the control plane", "file", f.FileName, "sha256", f.SHA256)
	if err := p.source.fetch(ctx, f, path); err != nil {
		return "", err
	}
	return path, nil
}

// fetch downloads f to path, verifying its size and digest before it is
// put in place.
func (s *PackageSource) fetch(ctx context.Context, f dbplane.PackageFile, path string) error {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.baseURL+wire.PackagesPath+f.SHA256, nil)
	if err != nil {
		return dbplane.Permanent(fmt.Errorf("while building the request: %w", err))
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return &dbplane.Error{Kind: dbplane.KindUnavailable,
			Message: fmt.Sprintf("package file %s cannot be fetched from the control plane at %s", f.FileName, s.baseURL), Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		kind := dbplane.KindFromHTTPStatus(resp.StatusCode)
		err := dbplane.Errorf(kind, "the control plane answered %s for package file %s", resp.Status, f.FileName)
		if kind == dbplane.KindNotFound || kind == dbplane.KindForbidden {
			return dbplane.Permanent(err)
		}
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".fetch-*")
	if err != nil {
		return err
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name()) // fails harmlessly after the rename
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(resp.Body, f.Size+1))
	if err != nil {
		return &dbplane.Error{Kind: dbplane.KindUnavailable,
			Message: fmt.Sprintf("fetching package file %s was interrupted", f.FileName), Err: err}
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != f.Size || sum != f.SHA256 {
		return dbplane.Errorf(dbplane.KindUnavailable,
			"package file %s from the control plane does not match: %d bytes of sha256 %s, want %d bytes of %s",
			f.FileName, n, sum, f.Size, f.SHA256)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// fileSHA256 returns the hex SHA-256 of a file.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
