package agent

import (
	"context"
	"log/slog"

	"github.com/dbplane/dbplane"
)

// SetPolicyRCDForTest points the service hold at path and returns a
// function that restores it.
func SetPolicyRCDForTest(path string) func() {
	old := policyRCD
	policyRCD = path
	return func() { policyRCD = old }
}

// HoldServicesForTest calls holdServices with a discarding logger.
func HoldServicesForTest() func() { return holdServices(slog.New(slog.DiscardHandler)) }

// FetchForTest downloads f to path as EnsurePackageFiles does.
func (s *PackageSource) FetchForTest(ctx context.Context, f dbplane.PackageFile, path string) error {
	return s.fetch(ctx, f, path)
}
