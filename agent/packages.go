package agent

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
)

// packager installs OS packages with apt. dpkg takes one lock per host, so
// one operation runs at a time.
type packager struct {
	log        *slog.Logger
	lock       chan struct{}
	lastUpdate time.Time // guarded by lock
	// source fetches uploaded package files; nil when the agent does not
	// know its control plane (a Host built without one, in tests).
	source *PackageSource
}

// pkgNameRE is Debian policy's package name syntax (§5.6.1).
var pkgNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)

const (
	// aptTimeout bounds an apt run: apt is never canceled by its caller,
	// since a dpkg killed half-way leaves the host needing repair.
	aptTimeout = 30 * time.Minute
	// updateEvery keeps a burst of requests for an unknown package from
	// refreshing the package lists every time.
	updateEvery = 15 * time.Minute
	// updateTimeout bounds a refresh of the package lists: a host whose
	// mirrors are unreachable must still get its answer soon.
	updateTimeout = 3 * time.Minute
)

// EnsurePackages verifies that packages are installed and installs the
// missing ones. A name that no package source of the host knows is a
// permanent error naming it.
func (h *Host) EnsurePackages(ctx context.Context, packages []string) error {
	const op = "agent.EnsurePackages"
	for i, p := range packages {
		if !pkgNameRE.MatchString(p) {
			return dbplane.E(op, dbplane.Invalid(dbplane.FieldError{Field: fmt.Sprintf("packages[%d]", i),
				Message: fmt.Sprintf("%q is not a Debian package name", p)}))
		}
	}
	if len(packages) == 0 {
		return nil
	}
	select {
	case h.pkgs.lock <- struct{}{}:
		defer func() { <-h.pkgs.lock }()
	case <-ctx.Done():
		return dbplane.E(op, ctx.Err())
	}
	return dbplane.E(op, h.pkgs.ensure(ctx, slices.Compact(slices.Sorted(slices.Values(packages)))))
}

// ensure installs the packages that are missing; the caller holds the lock.
func (p *packager) ensure(ctx context.Context, pkgs []string) error {
	missing, err := notInstalled(ctx, pkgs)
	if err != nil || len(missing) == 0 {
		return err
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), aptTimeout)
	defer cancel()
	unknown := unavailable(actx, missing)
	if len(unknown) > 0 && p.update(actx) {
		unknown = unavailable(actx, unknown)
	}
	if len(unknown) > 0 {
		return dbplane.Errorf(dbplane.KindInvalid, "package %s is not available from the host's package sources",
			strings.Join(unknown, ", "))
	}
	p.log.Info("installing packages", "packages", missing)
	restore := holdServices(p.log)
	defer restore()
	out, err := aptInstall(actx, missing)
	if err != nil && p.repair(actx, out) {
		out, err = aptInstall(actx, missing)
	}
	if err != nil {
		return &dbplane.Error{Kind: dbplane.KindUnavailable,
			Message: fmt.Sprintf("installing %s failed: %s", strings.Join(missing, ", "), aptErrors(out)), Err: err}
	}
	still, err := notInstalled(ctx, missing)
	if err != nil {
		return err
	}
	if len(still) > 0 {
		return dbplane.Errorf(dbplane.KindUnavailable, "package %s is still not installed after apt-get install",
			strings.Join(still, ", "))
	}
	return nil
}

// policyRCD is Debian's hook that invoke-rc.d asks before it starts a
// service; exit status 101 forbids it.
var policyRCD = "/usr/sbin/policy-rc.d"

// holdServices keeps the services of packages being installed from starting:
// dbplane runs every database node itself, and a distribution's service
// (mariadb on 3306, redis on 6379) would take ports and memory its nodes
// need. A policy the host already has is left alone. The returned function
// removes the policy this call put in place.
func holdServices(log *slog.Logger) func() {
	if _, err := os.Lstat(policyRCD); err == nil {
		return func() {}
	}
	if err := os.WriteFile(policyRCD, []byte("#!/bin/sh\n# dbplane agent: installing packages\nexit 101\n"), 0o755); err != nil {
		log.Warn("cannot hold package services back; a distribution service may start", "error", err)
		return func() {}
	}
	return func() { os.Remove(policyRCD) }
}

// notInstalled returns the packages dpkg does not report as installed.
func notInstalled(ctx context.Context, pkgs []string) ([]string, error) {
	var missing []string
	for _, pkg := range pkgs {
		out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f=${Status}\n", pkg).Output()
		if err != nil {
			if _, ok := err.(*exec.ExitError); !ok {
				return nil, fmt.Errorf("while asking dpkg about %s: %w", pkg, err)
			}
		}
		if !installed(string(out)) {
			missing = append(missing, pkg)
		}
	}
	return missing, nil
}

// installed reads dpkg-query's status lines (one per architecture): the
// package is installed when one's state is "installed", whatever is wanted
// of it.
func installed(status string) bool {
	for line := range strings.Lines(status) {
		f := strings.Fields(line)
		if len(f) == 3 && f[2] == "installed" {
			return true
		}
	}
	return false
}

// unavailable returns the packages apt has no version of.
func unavailable(ctx context.Context, pkgs []string) []string {
	var unknown []string
	for _, pkg := range pkgs {
		out, err := exec.CommandContext(ctx, "apt-cache", "show", "--no-all-versions", pkg).Output()
		if err != nil || len(strings.TrimSpace(string(out))) == 0 {
			unknown = append(unknown, pkg)
		}
	}
	return unknown
}

// update refreshes the package lists unless that was done recently, and
// reports whether it ran. A failed update is logged: what matters is whether
// the packages are found afterwards.
func (p *packager) update(ctx context.Context) bool {
	if time.Since(p.lastUpdate) < updateEvery {
		return false
	}
	p.lastUpdate = time.Now()
	p.log.Info("refreshing the package lists")
	ctx, cancel := context.WithTimeout(ctx, updateTimeout)
	defer cancel()
	if out, err := aptCmd(ctx, "update").CombinedOutput(); err != nil {
		p.log.Warn("apt-get update failed", "error", err, "output", aptErrors(out))
	}
	return true
}

// repair fixes what an apt-get install's output says is wrong, if it can,
// and reports whether a retry may now succeed.
func (p *packager) repair(ctx context.Context, out []byte) bool {
	s := string(out)
	switch {
	case strings.Contains(s, "dpkg --configure -a"):
		p.log.Warn("dpkg was interrupted; configuring pending packages")
		if out, err := exec.CommandContext(ctx, "dpkg", "--configure", "-a").CombinedOutput(); err != nil {
			p.log.Warn("dpkg --configure -a failed", "error", err, "output", string(out))
		}
		return true
	case strings.Contains(s, "Unable to locate package"), strings.Contains(s, "has no installation candidate"),
		strings.Contains(s, "Failed to fetch"):
		p.lastUpdate = time.Time{} // the lists are stale whatever their age
		return p.update(ctx)
	}
	return false
}

// aptInstall installs pkgs without prompts, keeping existing configuration
// files.
func aptInstall(ctx context.Context, pkgs []string) ([]byte, error) {
	args := append([]string{"install", "-y", "--no-install-recommends",
		"-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"}, pkgs...)
	return aptCmd(ctx, args...).CombinedOutput()
}

// aptCmd is apt-get, non-interactive, waiting for the dpkg lock (held by
// unattended upgrades, say) instead of failing at once.
func aptCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "apt-get", append([]string{"-o", "DPkg::Lock::Timeout=300"}, args...)...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C.UTF-8")
	return cmd
}

// aptErrors returns apt's "E:" lines: the reason, without the progress.
func aptErrors(out []byte) string {
	var errs []string
	for line := range strings.Lines(string(out)) {
		if l, ok := strings.CutPrefix(strings.TrimSpace(line), "E: "); ok {
			errs = append(errs, l)
		}
	}
	if len(errs) == 0 {
		return "apt-get gave no reason"
	}
	return strings.Join(errs, "; ")
}
